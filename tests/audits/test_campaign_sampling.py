"""Campaigns on a migrated database: the order freeze → seed → draw → approve, the immutable record,
replay (also when the frame changed), replacements, recusal, region scoping."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from bargaining.db import Database
from bargaining.errors import Forbidden, NotFound, ValidationError
from bargaining.models import Enterprise, Sector, User
from bargaining.models.audit import (
    AuditCase,
    AuditEvent,
    SamplingInspector,
    SamplingRecord,
    SamplingReplacement,
    SamplingUnit,
    ScheduleEntry,
)
from services.audits import campaigns as camp
from services.audits.replay import export_record, replay_campaign, replay_document
from services.uow import unit_of_work
from tests.audits.support import TODAY, build_audit_world, create, enterprise_id, prepare, start
from tests.support import at


def _selected(db: Database, number: str) -> list[str]:
    with unit_of_work(db, write=False) as uow:
        return list(
            uow.session.scalars(
                select(SamplingUnit.unit_id)
                .join(SamplingRecord, SamplingRecord.id == SamplingUnit.record_id)
                .join(camp.Campaign, camp.Campaign.id == SamplingRecord.campaign_id)
                .where(camp.Campaign.number == number, SamplingUnit.selected.is_(True))
                .order_by(SamplingUnit.unit_id)
            )
        )


def test_campaign_lifecycle_record_and_replay(db: Database) -> None:
    w = build_audit_world(db)
    c = create(w, dimensions=["region", "sector"], sample_size=6, minimum_per_stratum=1)
    number = c["number"]
    with pytest.raises(ValidationError, match="须先冻结抽样框"):
        camp.fix_seed(
            w.db, w.lead, number, source="public", entropy="1 2 3", provenance="开奖", now=at(TODAY)
        )
    with pytest.raises(ValidationError, match="不能抽样"):
        camp.draw_sample(w.db, w.lead, number, now=at(TODAY))

    camp.freeze_frame(w.db, w.lead, number, now=at(TODAY, 9))
    with pytest.raises(ValidationError, match="之后确定"):  # the seed may not predate (or equal) the freeze
        camp.fix_seed(
            w.db, w.lead, number, source="public", entropy="1 2 3", provenance="开奖", now=at(TODAY, 8)
        )
    with pytest.raises(ValidationError, match="来源"):
        camp.fix_seed(
            w.db, w.lead, number, source="public", entropy="1 2 3", provenance="", now=at(TODAY, 10)
        )
    camp.fix_seed(w.db, w.lead, number, source="system", now=at(TODAY, 10))
    camp.draw_sample(w.db, w.lead, number, now=at(TODAY, 11))
    with pytest.raises(Forbidden, match="双人复核"):
        camp.approve_sampling(w.db, w.lead, number, now=at(TODAY, 12))
    camp.approve_sampling(w.db, w.admin, number, now=at(TODAY, 12))

    with unit_of_work(db, write=False) as uow:
        s = uow.session
        record = s.scalar(select(SamplingRecord))
        assert record is not None
        assert record.frame_rows == len(w.codes) == 12  # the enterprises without an agreement are out
        assert record.seed_source == "system" and len(record.seed_entropy or "") == 64
        assert record.seed_fixed_at and record.frozen_at < record.seed_fixed_at
        assert record.record_sha256 and record.selection_sha256
        units = list(s.scalars(select(SamplingUnit)))
        assert all(u.key and len(u.key) == 64 for u in units)  # every unit's key is recorded
        assert sum(u.selected for u in units) == 6
        assert {st["stratum"] for st in record.strata} == {u.stratum for u in units}
        kinds = set(s.scalars(select(ScheduleEntry.kind)))
        assert kinds == {"reminder", "start", "fieldwork_end", "report_due"}
        triggers = list(s.scalars(select(AuditEvent.trigger).order_by(AuditEvent.id)))
        assert triggers == [
            "campaign_created",
            "frame_frozen",
            "seed_fixed",
            "sample_drawn",
            "sampling_approved",
        ]
        pairs = list(s.scalars(select(SamplingInspector)))
        assert len(pairs) == 12  # two inspectors for each of the six

    report = replay_campaign(db, w.lead, number)
    assert report.matches, [c for c in report.checks if not c.ok]
    assert report.current_frame and report.current_frame["unchanged"]

    # The exported record replays with no database at all; a tampered frame does not.
    doc = export_record(db, w.lead, number)
    assert replay_document(copy.deepcopy(doc)).matches
    tampered = copy.deepcopy(doc)
    tampered["frame"]["units"][0][1] = "region=dp|sector=tea"  # one enterprise moved to another stratum
    bad = replay_document(tampered)
    assert not bad.matches
    assert not next(c for c in bad.checks if c.label == "抽样框哈希").ok


def test_replay_detects_a_changed_registry(db: Database) -> None:
    w = build_audit_world(db)
    number = create(w, dimensions=["sector"], sample_size=4)["number"]
    prepare(w, number)
    selected = _selected(db, number)
    with unit_of_work(db) as uow:  # after the freeze, an enterprise changed sector
        s = uow.session
        tea = s.scalar(select(Sector.id).where(Sector.code == "tea"))
        plastics = s.scalar(select(Sector.id).where(Sector.code == "plastics"))
        enterprise = s.scalar(select(Enterprise).where(Enterprise.credit_code == selected[0]))
        assert enterprise is not None
        enterprise.sector_id = plastics if enterprise.sector_id == tea else tea
    report = replay_campaign(db, w.lead, number)
    assert report.matches  # the record still replays: the draw was made on the frozen snapshot
    assert report.current_frame is not None
    assert not report.current_frame["unchanged"]
    assert report.current_frame["changed"] == [selected[0]]


def test_approved_record_is_immutable_in_the_database(db: Database) -> None:
    w = build_audit_world(db)
    number = create(w)["number"]
    prepare(w, number)
    for statement in (
        "UPDATE audit_sampling_units SET selected = NOT selected",
        "UPDATE audit_sampling_records SET seed = 'forged'",
        "DELETE FROM audit_sampling_inspectors",
        "DELETE FROM audit_sampling_units",
        "UPDATE audit_events SET reason = 'forged'",
        "DELETE FROM audit_events",
    ):
        with db.write_engine.connect() as conn:
            with pytest.raises(DBAPIError, match=r"immutable|append-only"):
                conn.execute(text(statement))
            conn.rollback()
    # Freezing again after approval is refused by the use case before the database must say no.
    with pytest.raises(ValidationError, match="已审批"):
        camp.freeze_frame(w.db, w.lead, number, now=at(TODAY + timedelta(days=3)))


def test_refreeze_before_approval_clears_seed_and_draw(db: Database) -> None:
    w = build_audit_world(db)
    number = create(w)["number"]
    prepare(w, number, approve=False)
    camp.freeze_frame(w.db, w.lead, number, now=at(TODAY + timedelta(days=3)))
    with unit_of_work(db, write=False) as uow:
        record = uow.session.scalar(select(SamplingRecord))
        assert record is not None and record.seed is None and record.drawn_at is None
        assert not uow.session.scalar(select(func.count()).select_from(SamplingInspector))
    with pytest.raises(ValidationError, match="不能审批"):
        camp.approve_sampling(w.db, w.admin, number, now=at(TODAY + timedelta(days=3), 12))


def test_recusal_declared_and_derived(db: Database) -> None:
    w = build_audit_world(db, auditors=3)
    # aud0 declares a tie to every enterprise of street dp; aud1 instructs bargaining at one of xj.
    for code in w.codes:
        if w.names[code].startswith("丁蜀"):
            camp.declare_link(w.db, w.lead, username="aud0", enterprise=code, relation="近亲属在该企业任职")
    xj_code = next(c for c in w.codes if w.names[c].startswith("新街"))
    with unit_of_work(db) as uow:
        aud1 = uow.session.scalar(select(User.id).where(User.username == "aud1"))
        uow.session.execute(
            update(camp.Case)
            .where(camp.Case.enterprise_id == enterprise_id(w, xj_code))
            .values(instructor_id=aud1)
        )
    number = create(w, sample_size=12, dimensions=[])["number"]  # everyone is drawn
    prepare(w, number)
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        rows = s.execute(
            select(SamplingInspector.unit_id, User.username).join(User, User.id == SamplingInspector.user_id)
        ).all()
        record = s.scalar(select(SamplingRecord))
        assert record is not None
    for unit_id, username in rows:
        if w.names[unit_id].startswith("丁蜀"):
            assert username != "aud0"
        if unit_id == xj_code:
            assert username != "aud1"
    recusals = {(r["unit_id"], r["inspector"]) for r in record.inspector_recusals}
    assert (xj_code, "aud1") in recusals
    assert sum(1 for _, i in recusals if i == "aud0") == 6
    assert any(r["relation"] == "担任该企业工资集体协商指导员" for r in record.inspector_recusals)


def test_not_enough_inspectors_after_recusal(db: Database) -> None:
    w = build_audit_world(db, auditors=2)
    camp.declare_link(w.db, w.lead, username="aud0", enterprise=w.codes[0], relation="曾在该企业任职")
    number = create(w, sample_size=12, dimensions=[])["number"]
    with pytest.raises(ValidationError, match="回避后只有1名检查人员可选"):
        prepare(w, number)


def test_replacement_takes_the_next_key_of_the_stratum(db: Database) -> None:
    w = build_audit_world(db)
    number = create(w, sample_size=4)["number"]
    prepare(w, number)
    before = _selected(db, number)
    start(w, number)
    out = camp.replace_unit(
        w.db, w.lead, number, unit_id=before[0], reason="企业已注销", now=at(TODAY + timedelta(days=8))
    )
    replacement = out["replacement"]
    assert replacement and replacement not in before
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        states = dict(s.execute(select(AuditCase.unit_id, AuditCase.state)).all())
        assert states[before[0]] == "withdrawn"
        assert states[replacement] == "planned"
        row = s.scalar(select(SamplingReplacement))
        assert row is not None and row.reason == "企业已注销"
        units = {u.unit_id: u for u in s.scalars(select(SamplingUnit))}
        same = sorted(
            (u.key, u.unit_id)
            for u in units.values()
            if u.stratum == units[before[0]].stratum and u.key is not None
        )
        used = {u for u in before}
        assert next(uid for _, uid in same if uid not in used) == replacement
        assert (
            len(list(s.scalars(select(SamplingInspector).where(SamplingInspector.unit_id == replacement))))
            == 2
        )
    # The record still replays after a replacement (appended, not changed).
    assert replay_campaign(db, w.lead, number).matches
    with pytest.raises(ValidationError, match="不在当前样本中"):
        camp.replace_unit(
            w.db, w.lead, number, unit_id=before[0], reason="重复", now=at(TODAY + timedelta(days=8))
        )


def test_campaign_validation_and_region_scope(db: Database) -> None:
    w = build_audit_world(db)
    with pytest.raises(ValidationError, match="日期顺序"):
        create(w, fieldwork_end=TODAY)
    with pytest.raises(ValidationError, match="不是督查员"):
        create(w, inspectors=["admin"])
    with pytest.raises(ValidationError, match="分层维度"):
        create(w, dimensions=["district"])
    with pytest.raises(Forbidden):
        camp.create_campaign(
            w.db,
            w.outsider,
            title="越权",
            legal_basis="无",
            org="wx",
            start_on=TODAY,
            fieldwork_start=TODAY,
            fieldwork_end=TODAY,
            report_due=TODAY,
            sample_size=1,
            now=at(TODAY),
        )
    number = create(w)["number"]
    with pytest.raises(NotFound):
        camp.freeze_frame(w.db, w.outsider, number, now=at(TODAY))
    # A street auditor in the pool sees the city's campaign.
    camp.freeze_frame(w.db, w.auditors[0], number, now=at(TODAY, 9))


def test_empty_frame_is_refused(db: Database) -> None:
    w = build_audit_world(db)
    number = create(w, min_months_in_force=24)["number"]  # agreements are only 9 months old
    with pytest.raises(ValidationError, match="没有符合条件的企业"):
        camp.freeze_frame(w.db, w.lead, number, now=at(TODAY))
