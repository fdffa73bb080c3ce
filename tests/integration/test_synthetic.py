"""The synthetic federation generator writes data the real engine, sweep and queries accept."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bargaining.agreement_text import agreement_text_hash
from bargaining.db import Database, open_database
from bargaining.models import Agreement, Case, Deadline, Enterprise, Event, OrgUnit
from bargaining.rules.uscc import validate_credit_code
from services.deadlines import sweep
from services.identity import actor_by_username
from services.queries import case_detail, list_cases
from services.synthetic import generate
from services.uow import unit_of_work

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in China
JURISDICTIONS = ("jiangsu", "shanghai", "shandong", "hangzhou", "henan")


def _admin(db: Database, username: str):  # type: ignore[no-untyped-def]
    with unit_of_work(db, write=False) as uow:
        return actor_by_username(uow.session, username)


def test_generated_federation_sweeps_exactly_the_due_deadlines(db: Database) -> None:
    result = generate(
        db,
        cases=500,
        due=20,
        now=NOW,
        seed=7,
        events_per_case=3,
        jurisdictions=JURISDICTIONS,
        cases_per_street=100,
        paperwork=True,
    )
    assert result["cases"] == 500 and result["due"] == 20
    assert set(result["due_kinds"]) >= {"review", "expiry", "renewal", "response", "filing"}

    with unit_of_work(db, write=False) as uow:
        s = uow.session
        assert s.scalar(select(func.count()).select_from(Case)) == 500
        levels = Counter(s.scalars(select(OrgUnit.level)))
        assert levels["city"] == 1 and levels["street"] == 5 and levels["village"] == 20
        assert {c for (c,) in s.execute(select(Case.jurisdiction).distinct())} == set(JURISDICTIONS)
        for code in s.scalars(select(Enterprise.credit_code)):
            assert validate_credit_code(code) == code
        # Every case has its create event first.
        first = s.execute(select(Event.case_id, func.min(Event.id)).group_by(Event.case_id)).all()
        assert len(first) == 500
        assert set(s.scalars(select(Event.trigger).where(Event.id.in_([i for _, i in first])))) == {"create"}
        open_ = select(Deadline).where(Deadline.fired_at.is_(None), Deadline.closed_at.is_(None))
        overdue = list(s.scalars(open_.where(Deadline.fire_at <= NOW)))
        assert len(overdue) == 20
        assert all(d.paused_at is None for d in overdue)
        due = {d.id: (d.case_id, d.kind, d.on_expiry) for d in overdue}
        systems = {i: v for i, v in due.items() if v[2] != "escalate"}
        assert {v[2] for v in systems.values()} == {"deem_approved", "expire", "open_renewal"}
        # Case.next_due is the earliest running (open, not paused) deadline, as the engine keeps it.
        running = dict(
            s.execute(
                select(Deadline.case_id, func.min(Deadline.due))
                .where(Deadline.closed_at.is_(None), Deadline.paused_at.is_(None))
                .group_by(Deadline.case_id)
            ).all()
        )
        next_due = dict(s.execute(select(Case.id, Case.next_due)).all())
        assert next_due == {case_id: running.get(case_id) for case_id in next_due}
        # Agreements past the congress carry the hash the engine recomputes from the stored terms.
        approved = s.scalars(select(Agreement).where(Agreement.approved_text_hash.is_not(None)).limit(50))
        for agreement in approved:
            assert agreement_text_hash(s, agreement) == agreement.approved_text_hash

    report = sweep(db, NOW)

    with unit_of_work(db, write=False) as uow:
        s = uow.session
        fired = {d.id: d for d in s.scalars(select(Deadline).where(Deadline.fired_at.is_not(None)))}
        # A deemed approval takes effect on its legal day, which may be weeks before NOW: the
        # disclosure clock it opens (where disclosure follows coming into force) may be over
        # already, and the same sweep escalates it.
        deemed = {v[0] for v in systems.values() if v[2] == "deem_approved"}
        opened = {i: d for i, d in fired.items() if i not in due}
        assert all(d.kind == "disclosure" and d.case_id in deemed for d in opened.values()), opened
        assert set(fired) == set(due) | set(opened)
        assert (report.escalated, report.fired, report.failed) == (
            len(due) - len(systems) + len(opened),
            len(systems),
            0,
        )
        assert all(d.fired_event_id is not None for d in fired.values())
        events = {
            e.id: e
            for e in s.scalars(select(Event).where(Event.id.in_([d.fired_event_id for d in fired.values()])))
        }
        for deadline_id, (case_id, _kind, on_expiry) in due.items():
            event = events[fired[deadline_id].fired_event_id]
            assert event.case_id == case_id
            assert event.trigger == ("deadline_overdue" if on_expiry == "escalate" else on_expiry)
            if on_expiry == "escalate":
                assert event.payload["deadline_id"] == deadline_id
        states = {
            c.id: c.state for c in s.scalars(select(Case).where(Case.id.in_([v[0] for v in due.values()])))
        }
        for case_id, _kind, on_expiry in systems.values():
            expected = {"deem_approved": "in_force", "expire": "expired", "open_renewal": "in_force"}[
                on_expiry
            ]
            assert states[case_id] == expected
        renewals = list(s.scalars(select(Case).where(Case.previous_case_id.is_not(None))))
        assert len(renewals) == sum(1 for v in systems.values() if v[2] == "open_renewal")
        # Deemed approval opened the in-force clocks; the term's are in the future.
        kinds = Counter(
            s.scalars(
                select(Deadline.kind).where(
                    Deadline.case_id.in_(deemed), Deadline.closed_at.is_(None), Deadline.fired_at.is_(None)
                )
            )
        )
        assert kinds["expiry"] == kinds["renewal"] == len(deemed)
        assert (
            s.scalar(
                select(func.count())
                .select_from(Deadline)
                .where(Deadline.fired_at.is_(None), Deadline.closed_at.is_(None), Deadline.fire_at <= NOW)
            )
            == 0
        )

    again = sweep(db, NOW + timedelta(minutes=5))
    assert again.total == 0

    # The read side works on generated cases.
    admin = _admin(db, result["admin_username"])
    listing = list_cases(db, admin, limit=500, now=NOW)
    assert listing["total"] == 500 + len(renewals)
    assert list_cases(db, admin, state="under_review", now=NOW)["total"] > 0
    by_state: dict[str, int] = {}
    for item in listing["items"]:
        by_state.setdefault(item["state"], item["id"])
    assert len(by_state) >= 11
    for state, case_id in by_state.items():
        detail = case_detail(db, admin, case_id, now=NOW)
        assert detail["state"] == state
        assert detail["timeline"][0]["trigger"] == "create"
        allowed = {a["trigger"] for a in detail["actions"] if a["allowed"]}
        # With paperwork the next step of the path is open (representatives, documents, rounds, hash).
        expected_next = {
            "preparation": "send_offer",
            "offer_sent": "record_response",
            "negotiating": "record_round",
            "awaiting_signature": "sign",
            "under_review": "record_review_opinion",
        }.get(state)
        if expected_next:
            assert expected_next in allowed, (state, detail["actions"])


def test_same_seed_same_federation(sqlite_template: Path, tmp_path: Path) -> None:
    dumps = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.sqlite3"
        shutil.copy(sqlite_template, path)
        database = open_database(f"sqlite:///{path}")
        generate(database, cases=300, due=10, now=NOW, seed=3, events_per_case=2)
        with unit_of_work(database, write=False) as uow:
            s = uow.session
            dumps.append(
                [
                    s.execute(
                        select(Case.number, Case.state, Case.title, Case.opened_at).order_by(Case.id)
                    ).all(),
                    s.execute(
                        select(Deadline.case_id, Deadline.kind, Deadline.fire_at).order_by(Deadline.id)
                    ).all(),
                    s.execute(select(Event.case_id, Event.trigger, Event.at).order_by(Event.id)).all(),
                ]
            )
        database.dispose()
    assert dumps[0] == dumps[1]
