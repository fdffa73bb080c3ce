"""A versioned row's pending column changes written as one prebuilt UPDATE, as the ORM's flush would.

An action changes its subject (state, ``updated_at``, sometimes ``next_due`` …) and nothing else
the ORM would have to order; flushing that one row through the unit of work cost more than the
statement itself (measured: ~0.5 ms of CPU per action against ~0.15 ms). ``update_versioned``
writes the changed columns and the next version in one ``UPDATE … WHERE id AND version``, raises
``StaleDataError`` as the flush would when the version moved, and leaves the row clean in the
session. Anything it does not handle (a relationship change, a row without a version column) is
left to the ORM: it returns False and writes nothing.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, inspect, update
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError


def update_versioned(session: Session, row: Any) -> bool:
    """Write ``row``'s changed columns with its next version now (True), or leave it to the flush (False)."""
    state = inspect(row)
    mapper = state.mapper
    version_column = mapper.version_id_col
    if version_column is None or state.key is None or not callable(mapper.version_id_generator):
        return False
    unmodified = state.unmodified
    changed = tuple(key for key in mapper.attrs.keys() if key not in unmodified)  # noqa: SIM118 (attrs is no dict)
    if not changed:
        return False
    columns = mapper.column_attrs
    if any(key not in columns or len(columns[key].columns) != 1 for key in changed):
        return False  # e.g. a relationship set: the ORM works out the foreign key
    version_key = mapper.get_property_by_column(version_column).key
    if version_key in changed:
        return False  # someone set the version by hand
    version = getattr(row, version_key)
    new_version = mapper.version_id_generator(version)
    params = {f"new_{key}": getattr(row, key) for key in changed}
    params.update(old_pk=state.identity[0], old_version=version, new_version=new_version)
    result = session.connection().execute(_statement(mapper, changed), params)
    if result.rowcount != 1:
        raise StaleDataError(f"{mapper.class_.__name__} {state.identity[0]} was changed by someone else")
    set_committed_value(row, version_key, new_version)
    # What the flush does to a row it wrote: every value as it stands now committed, no pending
    # changes, and out of the session's dirty set.
    state._commit_all(state.dict, session.identity_map)
    return True


@lru_cache(maxsize=64)
def _statement(mapper: Mapper[Any], changed: tuple[str, ...]) -> Update:
    """The UPDATE for one set of changed attributes, built once with every value bound."""
    table = cast(Table, mapper.local_table)
    (pk_column,) = mapper.primary_key
    version_column = mapper.version_id_col
    assert version_column is not None
    values: dict[Any, Any] = {
        mapper.column_attrs[key].columns[0].key: bindparam(f"new_{key}") for key in changed
    }
    values[version_column.key] = bindparam("new_version")
    return (
        update(table)
        .where(pk_column == bindparam("old_pk"), version_column == bindparam("old_version"))
        .values(values)
    )
