"""Fixtures for the web tests: the app on a small world, on both backends or on SQLite alone."""

from __future__ import annotations

import pytest

from bargaining.db import Database

from .harness import WebWorld, build_web_world


@pytest.fixture
def web(db: Database) -> WebWorld:
    """The app on a fresh migrated database, once on SQLite and once on PostgreSQL."""
    return build_web_world(db)


@pytest.fixture
def sqlite_web(sqlite_db: Database) -> WebWorld:
    """The same, on SQLite only (for what does not depend on the backend)."""
    return build_web_world(sqlite_db)
