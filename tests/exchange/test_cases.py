"""Existing agreements: export → import → export round-trips, the report reads imported stages,
and the dry run lists every rejected row."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from bargaining.models import Case, Deadline, Event
from services.exchange.exporter import export_cases, export_enterprises
from services.exchange.importer import import_cases, import_enterprises
from services.identity import actor_by_username
from services.reports.annual import annual_report
from services.uow import unit_of_work
from tests.reports.dataset import build
from tests.support import at, build_world

from .helpers import build_tree, read_rows, write_csv

NOW = at(date(2025, 12, 20))
HEADER = ["统一社会信用代码", "协议名称", "协商类别", "签字日期", "合同期限起", "合同期限止", "协商前月平均工资", "协商后月平均工资",
          "工资支付日", "要约日期", "回应日期", "职代会通过日期", "公示日期", "报送审查日期", "审查意见日期", "指导员"]  # fmt: skip


def _admin(db):
    with unit_of_work(db, write=False) as uow:
        return actor_by_username(uow.session, "admin")


def test_existing_agreements_round_trip_and_feed_the_report(db, other_db, tmp_path):
    data = build(db)
    w = data.world
    enterprises, first = tmp_path / "企业.xlsx", tmp_path / "合同.xlsx"
    export_enterprises(db, w.admin, enterprises)
    # In force or expired enterprise agreements: E1 E2 E5 E6 R5 O1 (E3 is only signed, E4 not yet).
    assert export_cases(db, w.admin, first) == 6
    build_tree(other_db)
    admin = _admin(other_db)
    assert import_enterprises(other_db, admin, enterprises).imported == 10
    dry = import_cases(other_db, admin, first, dry_run=True, now=NOW)
    assert dry.valid_rows == 6 and not dry.rejections and dry.imported == 0
    result = import_cases(other_db, admin, first, now=NOW)
    assert result.imported == 6, result.rejections
    second = tmp_path / "合同-b.xlsx"
    export_cases(other_db, admin, second)
    a, b = read_rows(first), read_rows(second)
    assert a[0][-1] == "协商编号"
    assert sorted(r[:-1] for r in b) == sorted(r[:-1] for r in a)  # the case numbers differ

    # The annual report reads the imported stages and renewals like the engine's own.
    report = annual_report(other_db, admin, "city", 2025)
    v = {f.key: f.value for f in report.figures}
    assert v["signed_enterprise"] == 4  # E1 E2 R5 O1
    assert (v["signed_new"], v["signed_renewal"]) == (3, 1)
    assert v["offer_rate"] == v["response_rate"] == v["congress_rate"] == v["filing_rate"] == Decimal("100.0")
    assert report.figure("disclosure_rate").numerator == 2  # E1 R5
    assert report.figure("review_opinion_rate").numerator == 3  # E2 was deemed approved
    assert v["avg_wage_after"] == Decimal("5762.50")  # (5450 + 5400 + 6480 + 5720) / 4
    assert (v["renewal_due"], v["renewal_opened"], v["renewal_rate"]) == (2, 1, Decimal("50.0"))  # E5 → R5
    original = {f.key: f.value for f in annual_report(db, w.admin, "city", 2025).figures}
    assert v["wage_growth"] == Decimal("8.31")  # 17330 / 16000 − 1: E3, only signed, is not exported
    for key in ("renewal_due", "renewal_opened", "renewal_rate"):
        assert v[key] == original[key], key

    with unit_of_work(other_db, write=False) as uow:
        s = uow.session
        states = dict(s.execute(select(Case.state, func.count()).group_by(Case.state)).all())
        assert states == {"in_force": 5, "expired": 1}  # E5 ended on 2025-11-30
        r5 = s.scalar(select(Case).where(Case.round == "renewal"))
        assert r5 is not None and r5.previous_case_id is not None
        # In force: the expiry and renewal clocks run, as after the engine's own entry into force.
        kinds = set(
            s.scalars(select(Deadline.kind).where(Deadline.case_id == r5.id, Deadline.closed_at.is_(None)))
        )
        assert {"expiry", "renewal"} <= kinds
        imported = s.scalars(select(Event).where(Event.case_id == r5.id).order_by(Event.id)).all()
        assert imported[0].trigger == "create" and imported[-1].trigger == "import_agreement"
        assert all(e.payload.get("imported") for e in imported[1:])

    # Importing the same file again: every row is a duplicate of what is now in the database.
    again = import_cases(other_db, admin, first, dry_run=True, now=NOW)
    assert again.rejected_rows == 6 and all("相同" in r.reason for r in again.rejections)


def test_dry_run_rejects_every_bad_agreement_row(db, tmp_path):
    w = build_world(db)
    code, other = w.enterprise_code, w.tea_codes[0]
    ok = [code, "", "新签", "2025-03-20", "2025-04-01", "2026-03-31", "5000", "5450", "15",
          "2025-03-01", "2025-03-08", "2025-03-18", "", "2025-03-25", "2025-04-02", "zhang"]  # fmt: skip
    rows = [
        HEADER,
        ok,  # 2 ok
        [*ok[:4], "2025-04-15", "2026-04-14", *ok[6:]],  # 3 overlaps row 2
        ["91320282MA0000009X", *ok[1:]],  # 4 bad credit code
        [w.other_enterprise_code, *ok[1:]],  # 5 out of the street instructor's reach
        [other, "", "续约", "2025/3/20", "2025-04-01", "2025-09-30", "-5", "abc", "40",
         "2025-03-10", "2025-03-05", "", "", "", "", "nobody"],  # 6: round, term, wages, day, order, instructor
        [other, "", "", "", "2026-04-01", "2027-03-31", "", "", "", "", "", "", "", "", "", ""],  # 7 no signing date
        [other, "", "", "2026-01-05", "2026-02-01", "2027-01-31", "", "", "", "", "", "", "", "", "", ""],  # 8 future
        [other, "", "", "2025年3月20日", "2025-04-01", "2026-03-31", "", "", "", "", "", "", "", "", "", ""],  # 9 ok
    ]  # fmt: skip
    path = write_csv(tmp_path / "合同.csv", rows, encoding="gb18030")
    result = import_cases(db, w.instructor, path, dry_run=True, now=NOW)
    got = {(r.row, r.column) for r in result.rejections}
    assert {
        (3, "合同期限起"),
        (4, "统一社会信用代码"),
        (5, "统一社会信用代码"),
        (7, "签字日期"),
        (8, "签字日期"),
    } <= got
    assert {
        (6, c)
        for c in (
            "协商类别",
            "合同期限止",
            "协商前月平均工资",
            "协商后月平均工资",
            "工资支付日",
            "回应日期",
            "指导员",
        )
    } <= got
    reasons = {r.row: r.reason for r in result.rejections}
    assert "与第2行该企业的合同期限（2025-04-01至2026-03-31）重叠" in reasons[3]
    assert "不在您的管辖范围内" in reasons[5] and "晚于今天" in reasons[8]
    assert result.valid_rows == 2 and result.imported == 0
    assert {r.row for r in result.rejections} == {3, 4, 5, 6, 7, 8}
    # Valid rows only: rows 2 and 9 become cases; row 2's agreement is in force with its stages.
    done = import_cases(db, w.instructor, path, valid_only=True, now=NOW)
    assert done.imported == 2
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        triggers = list(
            s.scalars(
                select(Event.trigger)
                .join(Case, Case.id == Event.case_id)
                .where(Case.instructor_id.is_not(None))
                .order_by(Event.id)
            )
        )
        assert triggers == ["create", "send_offer", "record_response", "record_congress_vote", "sign", "file_for_review",
                            "record_review_opinion", "import_agreement"]  # fmt: skip
