"""The auditor pages through HTTP (on SQLite: nothing here depends on the backend): a campaign from the form to its report, the checklist form,
findings, evidence upload limits and bad files, downloads only as attachments, CSRF, scoping,
and no inline styles or scripts (the CSP forbids them)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bargaining.db import Database
from bargaining.models.audit import AuditCase, Campaign, Evidence
from bargaining.rules.periods import legal_date
from services import runtime
from services.audits.evidence import MAX_BYTES
from services.audits.sweep import sweep_audits
from services.uow import unit_of_work
from tests.audits.support import (
    TODAY,
    all_compliant_answers,
    build_audit_world,
    case_with_inspectors,
    started_campaign,
)
from tests.audits.web_support import signed_in
from tests.support import at

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"


@pytest.fixture(autouse=True)
def storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BARGAINING_STORAGE_DIR", str(tmp_path / "storage"))
    return tmp_path / "storage"


def _clean(html: str) -> None:
    assert " style=" not in html and "<script" not in html


def _post(client: TestClient, url: str, csrf: str, **data: str) -> object:
    return client.post(url, data={"csrf_token": csrf, **data}, follow_redirects=False)


def test_campaign_from_form_to_reports(sqlite_db: Database) -> None:
    db = sqlite_db
    build_audit_world(db)
    lead, csrf = signed_in(db, "lead")
    page = lead.get("/audits/new")
    assert page.status_code == 200 and "新建专项抽查" in page.text
    _clean(page.text)
    start = TODAY + timedelta(days=400)  # the pages run on today's clock; keep the dates ahead of it
    form = {
        "csrf_token": csrf,
        "title": "页面新建的专项抽查",
        "legal_basis": "《浙江省工会劳动法律监督条例》第九条",
        "org": "wx",
        "kinds": ["enterprise", "adoption"],
        "min_months": "6",
        "dimensions": ["region", "size"],
        "size_bands": "50,300",
        "method": "proportional",
        "sample_size": "4",
        "minimum_per_stratum": "0",
        "inspectors": ["aud0", "aud1", "aud2", "aud3"],
        "start_on": start.isoformat(),
        "reminder_days": "3",
        "fieldwork_start": start.isoformat(),
        "fieldwork_end": (start + timedelta(days=30)).isoformat(),
        "report_due": (start + timedelta(days=45)).isoformat(),
    }
    bad = lead.post(
        "/audits/new",
        data={
            **form,
            "fieldwork_end": start.isoformat(),
            "report_due": (start - timedelta(days=1)).isoformat(),
        },
    )
    assert (
        bad.status_code == 422 and "日期顺序" in bad.text and "页面新建的专项抽查" in bad.text
    )  # kept what was typed
    created = lead.post("/audits/new", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    url = created.headers["location"].split("?")[0]
    page = lead.get(url)
    assert "冻结抽样框" in page.text
    _clean(page.text)
    assert _post(lead, url + "/freeze", csrf).status_code == 303  # type: ignore[attr-defined]
    wrong = lead.post(
        url + "/seed", data={"csrf_token": csrf, "source": "public", "entropy": "", "provenance": ""}
    )
    assert wrong.status_code == 422 and "请填写随机数" in wrong.text
    assert _post(lead, url + "/seed", csrf, source="system").status_code == 303  # type: ignore[attr-defined]
    assert _post(lead, url + "/draw", csrf).status_code == 303  # type: ignore[attr-defined]
    refused = lead.post(url + "/approve", data={"csrf_token": csrf})
    assert refused.status_code == 403 and "双人复核" in refused.text
    admin, admin_csrf = signed_in(db, "admin")
    assert _post(admin, url + "/approve", admin_csrf).status_code == 303  # type: ignore[attr-defined]
    page = admin.get(url)
    assert "抽样记录已审批" in page.text and "sha256-bottom-k 第1版" in page.text
    record = admin.get(url + "/record.json")
    assert record.status_code == 200 and record.headers["content-disposition"].startswith("attachment")
    assert record.json()["approval"]["record_sha256"]

    with unit_of_work(db, write=False) as uow:
        campaign = uow.session.scalar(select(Campaign))
        assert campaign is not None
    sweep_audits(db, at(start, 9))
    page = admin.get(url)
    assert "已结案 0/4" in page.text
    pdf = admin.get(url + "/report.pdf")
    assert (
        pdf.status_code == 200
        and pdf.content.startswith(b"%PDF")
        and pdf.headers["content-type"] == "application/pdf"
    )
    assert "attachment" in pdf.headers["content-disposition"]
    xlsx = admin.get(url + "/report.xlsx")
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")


def test_checklist_finding_and_evidence_forms(sqlite_db: Database, storage: Path) -> None:
    db = sqlite_db
    w = build_audit_world(db)
    started_campaign(w)
    number, inspectors, _ = case_with_inspectors(w)
    with unit_of_work(db, write=False) as uow:
        case = uow.session.scalar(select(AuditCase).where(AuditCase.number == number))
        assert case is not None
        case_id = case.id
    names = {"督查员0": "aud0", "督查员1": "aud1", "督查员2": "aud2", "督查员3": "aud3"}
    client, csrf = signed_in(db, names[inspectors[0].name])
    url = f"/audits/cases/{case_id}"
    page = client.get(url)
    assert page.status_code == 200 and "检查表" in page.text and "《最低工资规定》第十二条" in page.text
    _clean(page.text)
    version = re.search(r'name="expected_version" value="(\d+)"', page.text)
    assert version
    assert _post(client, f"{url}/actions/notify", csrf, method="written").status_code == 303  # type: ignore[attr-defined]

    today = legal_date(runtime.utcnow())  # the pages run on the real clock
    answers = {f"answer_{code}": a for code, (a, _) in all_compliant_answers(w, number, today).items()}
    answers["answer_minimum_wage"] = "noncompliant"
    missing_note = client.post(f"{url}/answers", data={"csrf_token": csrf, **answers})
    assert missing_note.status_code == 422 and "请填写检查发现" in missing_note.text
    answers["note_minimum_wage"] = "2名职工工资2300元"
    assert (
        client.post(
            f"{url}/answers", data={"csrf_token": csrf, **answers}, follow_redirects=False
        ).status_code
        == 303
    )
    assert _post(client, f"{url}/actions/record_inspection", csrf).status_code == 303  # type: ignore[attr-defined]

    page = client.get(url)
    assert "登记检查发现：支付的工资不低于" in page.text
    finding = client.post(
        f"{url}/findings",
        data={
            "csrf_token": csrf,
            "item_code": "minimum_wage",
            "severity": "high",
            "description": "2名职工2026年2月工资2300元",
            "row1_on": "2026-02-28",
            "row1_workers": "2",
            "row1_basis": "monthly",
            "row1_quantity": "1",
            "row1_paid": "2300",
        },
        follow_redirects=False,
    )
    assert finding.status_code == 303, finding.text
    page = client.get(url)
    assert "720.00" in page.text  # (2660 − 2300) × 2

    upload = client.post(
        f"{url}/evidence",
        data={"csrf_token": csrf, "note": "工资台账"},
        files={"file": ("../../工资台账.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert upload.status_code == 303, upload.text
    with unit_of_work(db, write=False) as uow:
        evidence = uow.session.scalar(select(Evidence))
        assert evidence is not None
    assert evidence.original_name == "工资台账.pdf" and re.fullmatch(r"[0-9a-f]{32}", evidence.stored_name)
    stored = storage / "evidence" / evidence.stored_name
    assert stored.read_bytes() == PDF
    download = client.get(f"/audits/evidence/{evidence.id}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["x-content-type-options"] == "nosniff"

    for name, content, message in (
        ("scan.exe", b"MZ\x90\x00", "不支持的文件类型"),
        ("台账.pdf", b"<html><script>alert(1)</script></html>", "文件内容与扩展名不符"),
        ("照片.png", b"\xff\xd8\xff\xe0 jpeg really", "文件内容与扩展名不符"),
        ("表.xlsx", b"PK\x03\x04 not a zip", "文件内容与扩展名不符"),
        ("说明.txt", b"\x00\x01binary", "文件内容与扩展名不符"),
        ("空.pdf", b"", "文件是空的"),
    ):
        refused = client.post(
            f"{url}/evidence", data={"csrf_token": csrf}, files={"file": (name, content, "application/pdf")}
        )
        assert refused.status_code == 422 and message in refused.text, (name, refused.status_code)
    too_big = client.post(
        f"{url}/evidence",
        data={"csrf_token": csrf},
        files={"file": ("大.pdf", b"%PDF-" + b"0" * MAX_BYTES, "application/pdf")},
    )
    assert too_big.status_code == 413 and "文件过大" in too_big.text
    with unit_of_work(db, write=False) as uow:
        assert len(list(uow.session.scalars(select(Evidence)))) == 1
    assert sorted(p.name for p in (storage / "evidence").iterdir()) == [
        evidence.stored_name
    ]  # nothing left behind


def test_forms_need_csrf_and_pages_are_scoped(sqlite_db: Database) -> None:
    db = sqlite_db
    w = build_audit_world(db)
    number = started_campaign(w)
    lead, _csrf = signed_in(db, "lead")
    with unit_of_work(db, write=False) as uow:
        campaign = uow.session.scalar(select(Campaign).where(Campaign.number == number))
        case = uow.session.scalar(select(AuditCase))
        assert campaign is not None and case is not None
    no_token = lead.post(
        f"/audits/campaigns/{campaign.id}/replace", data={"unit_id": case.unit_id, "reason": "注销"}
    )
    assert no_token.status_code == 403 and "CSRF" in no_token.text
    wrong = lead.post(
        f"/audits/cases/{case.id}/actions/notify", data={"csrf_token": "forged", "method": "written"}
    )
    assert wrong.status_code == 403
    assert lead.get("/audits").status_code == 200

    outsider, _ = signed_in(db, "sz_aud")
    assert outsider.get(f"/audits/campaigns/{campaign.id}").status_code == 404
    assert outsider.get(f"/audits/cases/{case.id}").status_code == 404
    assert outsider.get(f"/audits/campaigns/{campaign.id}/report.pdf").status_code == 404
    assert number not in outsider.get("/audits").text


def test_inspector_sees_the_task_list_and_uploads_go_through_the_scope(sqlite_db: Database) -> None:
    db = sqlite_db
    w = build_audit_world(db)
    started_campaign(w)
    number, inspectors, _ = case_with_inspectors(w)
    names = {"督查员0": "aud0", "督查员1": "aud1", "督查员2": "aud2", "督查员3": "aud3"}
    client, _csrf = signed_in(db, names[inspectors[1].name])
    page = client.get("/audits")
    assert "我的检查任务" in page.text and number in page.text
    _clean(page.text)
    outsider, outsider_csrf = signed_in(db, "sz_aud")
    with unit_of_work(db, write=False) as uow:
        case = uow.session.scalar(select(AuditCase).where(AuditCase.number == number))
        assert case is not None
    refused = outsider.post(
        f"/audits/cases/{case.id}/evidence",
        data={"csrf_token": outsider_csrf},
        files={"file": ("a.pdf", PDF, "application/pdf")},
    )
    assert refused.status_code == 404
