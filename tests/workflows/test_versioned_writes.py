"""An action fired on its own writes its rows without the ORM's unit of work: the event by one
INSERT … RETURNING (documents and deadlines follow it by id), the subject by one versioned UPDATE
(``workflows.versioned``). These check that what lands is what the flush would have written."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import flag_modified

from bargaining.errors import Conflict
from bargaining.models import Case, Deadline, Document, Event, User, table_of
from services import cases as uc
from services.uow import unit_of_work
from tests.support import World, at, build_world, fire, walk
from workflows.versioned import update_versioned


def test_an_action_writes_its_event_document_deadline_and_case_once_each(db):
    w = build_world(db)
    ref = _new(w)
    before = walk(w, ref, "offer_sent")
    with unit_of_work(db, write=False) as uow:
        version = uow.session.get(Case, ref).version
    result = fire(w, ref, "record_response", before, responded_on=before.isoformat())
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        case = s.get(Case, ref)
        assert (case.state, case.version) == (result["state"], version + 1)
        event = s.get(Event, result["event_id"])
        assert (event.trigger, event.from_state, event.to_state) == (
            "record_response",
            "offer_sent",
            case.state,
        )
        # Its document and the clock it closed point at it by id; the clock was opened by the offer.
        assert s.scalars(select(Document.kind).where(Document.event_id == event.id)).all() == [
            "response_letter"
        ]
        (response,) = s.scalars(select(Deadline).where(Deadline.closed_by_event_id == event.id)).all()
        assert response.kind == "response" and response.closed_at is not None
        offer = s.get(Event, response.opened_by_event_id)
        assert offer is not None and offer.to_state == "offer_sent"


def test_the_subject_update_is_versioned_and_leaves_the_row_clean(db):
    ref = _case_with_an_offer(db)[1]
    with unit_of_work(db) as uow:
        s = uow.session
        case = s.get(Case, ref)
        version = case.version
        case.updated_at = datetime(2026, 1, 2, tzinfo=UTC)
        flag_modified(case, "updated_at")
        assert update_versioned(s, case)
        assert case not in s.dirty and case.version == version + 1
        s.flush()  # nothing left for it: a second UPDATE would move the version twice
        assert s.scalar(select(Case.version).where(Case.id == ref)) == version + 1


def test_a_moved_version_is_refused_as_the_flush_would_refuse_it(db):
    ref = _case_with_an_offer(db)[1]
    with unit_of_work(db, write=False) as uow:
        case = uow.session.get(Case, ref)
        uow.session.expunge(case)
    with unit_of_work(db) as uow:  # someone else changes the case meanwhile
        uow.session.execute(update(table_of(Case)).where(Case.id == ref).values(version=Case.version + 1))
    with pytest.raises(Conflict), unit_of_work(db) as uow:  # the unit of work's 409 for StaleDataError
        stale = uow.session.merge(case, load=False)
        stale.updated_at = datetime(2026, 1, 3, tzinfo=UTC)
        update_versioned(uow.session, stale)


def test_a_relationship_change_is_left_to_the_flush(db):
    w, ref = _case_with_an_offer(db)
    with unit_of_work(db) as uow:
        s = uow.session
        case = s.get(Case, ref)
        case.instructor = s.get(User, w.other_instructor.user_id)
        assert not update_versioned(s, case)  # the ORM works out the foreign key
        assert case in s.dirty


def _new(w: World) -> int:
    made = uc.create_case(
        w.db, w.instructor, kind="enterprise", enterprise=w.enterprise_code, now=at(date(2025, 11, 1))
    )
    return int(made["id"])


def _case_with_an_offer(db) -> tuple[World, int]:
    w = build_world(db)
    ref = _new(w)
    walk(w, ref, "offer_sent")
    return w, ref
