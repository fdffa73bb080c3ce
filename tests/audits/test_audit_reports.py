"""The campaign report: figures checked by hand against a campaign in known states, then the PDF's
text and the workbook's cells and charts."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bargaining.db import Database
from services.audits import cases as ac
from services.audits.reports import render_pdf, render_xlsx, report_data
from services.audits.sweep import sweep_audits
from tests.audits.support import (
    TODAY,
    AuditWorld,
    all_compliant_answers,
    build_audit_world,
    case_with_inspectors,
    started_campaign,
)
from tests.support import at

DAY = TODAY + timedelta(days=8)


@pytest.fixture(autouse=True)
def storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BARGAINING_STORAGE_DIR", str(tmp_path / "storage"))


def _campaign_in_known_states(w: AuditWorld) -> str:
    """Six cases: two compliant and closed, one with an overdue rectification escalated to an
    opinion, one with a minimum-wage finding partly recovered, two not yet inspected."""
    number = started_campaign(w, sample_size=6)
    for index in (0, 1):
        case, (first, _), _ = case_with_inspectors(w, index)
        ac.fire_action(w.db, first, case, "notify", values={"method": "written"}, now=at(DAY))
        ac.save_answers(w.db, first, case, all_compliant_answers(w, case), now=at(DAY))
        ac.fire_action(w.db, first, case, "record_inspection", now=at(DAY))
        ac.fire_action(w.db, first, case, "close_compliant", now=at(DAY))
    for index, item, rows in (
        (2, "pay_day", []),
        (
            3,
            "minimum_wage",
            [{"on": "2026-02-28", "workers": 4, "basis": "monthly", "quantity": "2", "paid": "2500"}],
        ),
    ):
        case, (first, _), _ = case_with_inspectors(w, index)
        answers = all_compliant_answers(w, case)
        answers[item] = ("noncompliant", "问题")
        ac.fire_action(w.db, first, case, "notify", values={"method": "written"}, now=at(DAY))
        ac.save_answers(w.db, first, case, answers, now=at(DAY))
        ac.fire_action(w.db, first, case, "record_inspection", now=at(DAY))
        finding = ac.add_finding(
            w.db, first, case, item_code=item, severity=None, description="发现问题", rows=rows, now=at(DAY)
        )
        ac.fire_action(w.db, first, case, "confirm_findings", now=at(DAY))
        ac.add_rectification(
            w.db,
            first,
            case,
            finding_id=finding["finding_id"],
            action=f"整改{item}",
            owner="厂长",
            due=DAY + timedelta(days=10 if index == 2 else 60),
            required_evidence="记录",
            now=at(DAY),
        )
        ac.fire_action(w.db, first, case, "order_rectification", now=at(DAY))
        if index == 3:
            ac.record_recovery(w.db, first, case, finding_id=finding["finding_id"], amount="640", now=at(DAY))
    sweep_audits(w.db, at(DAY + timedelta(days=12)))  # index 2 is overdue: a 监督意见书
    return number


def test_report_figures_pdf_and_xlsx(db: Database) -> None:
    w = build_audit_world(db)
    number = _campaign_in_known_states(w)
    data = report_data(db, w.lead, number, now=at(DAY + timedelta(days=12)))
    t = data["totals"]
    assert (t["cases"], t["inspected"], t["compliant"], t["noncompliant"]) == (6, 4, 2, 2)
    assert t["rate"] == Decimal("50.0")
    assert t["owed"] == Decimal("1280.00")  # (2660 − 2500) × 4 workers × 2 months
    assert t["recovered"] == Decimal("640.00") and t["recovery_rate"] == "50.0%"
    assert (t["open_rectifications"], t["overdue_rectifications"]) == (2, 1)
    assert sum(r["cases"] for r in data["strata"]) == 6
    assert sum(r["compliant"] for r in data["strata"]) == 2
    items = {i["code"]: i for i in data["item_results"]}
    assert (items["minimum_wage"]["checked"], items["minimum_wage"]["noncompliant"]) == (4, 1)
    assert items["minimum_wage"]["noncompliance_rate"] == Decimal("25.0")
    assert items["minimum_wage"]["owed"] == Decimal("1280.00") and items["minimum_wage"]["workers"] == 4
    assert items["pay_day"]["noncompliant"] == 1
    overdue = [r for r in data["open_rectifications"] if r["overdue_days"]]
    assert len(overdue) == 1 and overdue[0]["escalation"] == "已发监督意见书，待书面答复"
    record = data["record"]
    assert record and record["approved_by"] == "市总管理员" and len(record["record_sha256"]) == 64

    pdf = render_pdf(data)
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
        flat = "".join(text.split())
        for expected in (
            number,
            "履约率",
            "50.0%",
            "1280.00元",
            "640.00元",
            record["frame_sha256"],
            record["seed"],
            "各层履约率",
            "各检查项不符合率",
            "地区：新街街道总工会",
            "未结整改事项（2项）",
            "已发监督意见书",
            "《最低工资规定》第十二条",
        ):
            assert expected in flat, expected
        assert "第1页共" in flat

    book = load_workbook(BytesIO(render_xlsx(data)))
    assert book.sheetnames == ["概况", "抽样记录", "分层结果", "检查项结果", "未结整改", "检查明细"]
    summary = {row[0].value: row[1].value for row in book["概况"].iter_rows()}
    assert summary["履约率"] == "50.0%" and summary["应补发金额（元）"] == Decimal("1280.00")
    record_sheet = {row[0].value: row[1].value for row in book["抽样记录"].iter_rows()}
    assert record_sheet["抽样框哈希（SHA-256）"] == record["frame_sha256"]
    assert book["检查明细"].max_row == 7  # header + six cases
    assert book["未结整改"].max_row == 3
    assert len(book["分层结果"]._charts) == 1 and len(book["检查项结果"]._charts) == 1
    strata_rows = list(book["分层结果"].iter_rows(min_row=2, values_only=True))
    assert sum(r[2] for r in strata_rows) == 6


def test_report_of_a_campaign_not_yet_drawn(db: Database) -> None:
    from tests.audits.support import create

    w = build_audit_world(db, per_street=2)
    number = create(w, sample_size=2)["number"]
    data = report_data(db, w.lead, number)
    assert data["record"] is None and data["totals"]["cases"] == 0 and data["totals"]["rate_text"] == "—"
    assert render_xlsx(data).startswith(b"PK")
