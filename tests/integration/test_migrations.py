"""Migrations: up, all the way down, up again, on both backends; the result matches the models
(alembic's autogenerate comparison finds nothing to change)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, pool, text

from bargaining.models import Base
from services.migrate import alembic_config, downgrade, upgrade


def _tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _diff(url: str, metadata: sa.MetaData, *, server_defaults: bool) -> list[Any]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": server_defaults}
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def _append_only_enforced(url: str) -> bool:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO events (trigger, actor_name, role, at, payload) "
                    "VALUES ('probe', 'test', 'system', CURRENT_TIMESTAMP, '{}')"
                )
            )
        with engine.connect() as conn:
            try:
                conn.execute(text("DELETE FROM events WHERE trigger = 'probe'"))
            except sa.exc.DBAPIError as exc:
                assert "append-only" in str(exc)
                return True
            conn.rollback()
            return False
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config(empty_url)).get_current_head()
    model_tables = set(Base.metadata.tables)

    upgrade(empty_url)
    assert _revision(empty_url) == head
    assert _tables(empty_url) == model_tables | {"alembic_version"}
    assert _append_only_enforced(empty_url)

    downgrade(empty_url, "base")
    assert _revision(empty_url) is None
    assert _tables(empty_url) <= {"alembic_version"}
    if empty_url.startswith("postgresql"):
        engine = create_engine(empty_url, poolclass=pool.NullPool)
        with engine.connect() as conn:
            leftovers = conn.execute(
                text(
                    "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = 'public'"
                )
            ).scalar()
        engine.dispose()
        assert leftovers == 0  # the trigger function went too

    upgrade(empty_url)
    assert _revision(empty_url) == head
    assert _tables(empty_url) == model_tables | {"alembic_version"}
    assert _append_only_enforced(empty_url)
    # Tables, columns, types, nullability, indexes, foreign keys: what `alembic revision
    # --autogenerate` (compare_type on, the project's env.py) would find to change.
    assert _diff(empty_url, Base.metadata, server_defaults=False) == []


def test_migrated_server_defaults_match_the_models(empty_url: str) -> None:
    upgrade(empty_url)
    assert _diff(empty_url, Base.metadata, server_defaults=True) == []


def test_the_comparison_sees_a_difference(empty_url: str) -> None:
    """The empty diff above means something: a model the migration lacks is reported."""
    upgrade(empty_url)
    changed = sa.MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    sa.Table("stray", changed, sa.Column("id", sa.Integer, primary_key=True))
    changed.tables["cases"].append_column(sa.Column("note", sa.String(20), nullable=True))
    diff = _diff(empty_url, changed, server_defaults=False)
    kinds = {(d[0], getattr(d[-1], "name", None)) for d in diff if isinstance(d, tuple)}
    assert ("add_table", "stray") in kinds
    assert ("add_column", "note") in kinds
