"""Expected business errors.

Every error a union official can cause is one of these. ``message`` is Simplified Chinese and is
shown as is (CLI line, HTTP error body, inline form error); ``code`` is a stable English key for
programs. Anything else that escapes is a bug.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"
    http_status = 422

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = details or {}


class ValidationError(DomainError):
    """Input that breaks a rule of law or of the data model."""

    code = "invalid"
    http_status = 422


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Forbidden(DomainError):
    code = "forbidden"
    http_status = 403


class Conflict(DomainError):
    """Someone else changed the record first (stale version) or the state no longer allows it."""

    code = "conflict"
    http_status = 409


class TransitionRefused(DomainError):
    """A workflow action that is not allowed now; ``details['reasons']`` lists why."""

    code = "transition_refused"
    http_status = 409
