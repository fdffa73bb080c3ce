"""SQLAlchemy 2 models of the domain. Import models from here."""

from . import audit  # noqa: F401  (audit tables: import models from bargaining.models.audit)
from .access import ApiToken, LoginAttempt, WebSession
from .agreement import Agreement, RateTable
from .base import Base, table_of, utcnow
from .case import (
    CASE_KINDS,
    SIDES,
    Case,
    CaseCoverage,
    CongressVote,
    Document,
    NegotiationRound,
    Representative,
)
from .enterprise import Enterprise
from .org import ORG_LEVELS, ROLES, OrgUnit, Sector, User, UserRole
from .signature import DocumentRendering, ScannedCopy, Signature
from .timeline import CalendarYear, Deadline, DeadlineSuspension, Event

__all__ = [
    "CASE_KINDS",
    "ORG_LEVELS",
    "ROLES",
    "SIDES",
    "Agreement",
    "ApiToken",
    "Base",
    "CalendarYear",
    "Case",
    "CaseCoverage",
    "CongressVote",
    "Deadline",
    "DeadlineSuspension",
    "Document",
    "DocumentRendering",
    "Enterprise",
    "Event",
    "LoginAttempt",
    "NegotiationRound",
    "OrgUnit",
    "RateTable",
    "Representative",
    "ScannedCopy",
    "Sector",
    "Signature",
    "User",
    "UserRole",
    "WebSession",
    "table_of",
    "utcnow",
]
