"""Bulk rendering and signing on a process pool, scanned copies, and the command line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bargaining.db import Database
from bargaining.errors import NotFound, ValidationError
from bargaining.models import Event, ScannedCopy, Signature
from services import cases as uc
from services import documents as docs
from services.documents import storage
from services.uow import unit_of_work
from tests.support import at, fire

from .conftest import START, Library
from .helpers import TERMS, add_reps, chinese_world, negotiate, rate_table, save, vote


def test_render_all_signs_every_adoption_on_a_pool(sqlite_db: Database) -> None:
    w = chinese_world(sqlite_db)
    sector = uc.create_case(sqlite_db, w.instructor, kind="sector", sector="tea", now=at(START))["number"]
    uc.add_coverage(sqlite_db, w.instructor, sector, w.tea_codes, now=at(START))
    day = negotiate(w, sector, START, {**TERMS, "rate_tables": [rate_table()]})
    day = vote(w, sector, day)
    fire(w, sector, "sign", day + timedelta(days=1))
    fire(w, sector, "file_for_review", day + timedelta(days=2), authority="人社局", copies=3)
    fire(
        w,
        sector,
        "record_review_opinion",
        day + timedelta(days=3),
        w.reviewer,
        has_objections="否",
        opinion="合法有效。",
    )
    day += timedelta(days=4)
    adoptions = []
    for code in w.tea_codes:
        number = uc.create_case(
            sqlite_db, w.instructor, kind="adoption", enterprise=code, parent=sector, now=at(day)
        )["number"]
        add_reps(w, number, day)
        uc.set_agreement_terms(sqlite_db, w.instructor, number, TERMS, now=at(day))
        fire(w, number, "submit_draft", day)
        adoptions.append(number)
    for number in adoptions[:2]:
        vote(w, number, day)  # the third stays before its congress: rendered as a draft, not signed
    calls: list[tuple[int, int]] = []
    report = docs.render_all(
        sqlite_db, w.instructor, sector, sign=True, workers=2, now=at(day + timedelta(days=6)),
        progress=lambda done, total, number, error: calls.append((done, total)),
    )  # fmt: skip
    # in case order, whichever worker finished first
    assert report.signed == adoptions[:2] and report.rendered == [adoptions[2]]
    assert report.failed == [] and report.workers == 2 and report.total == 3
    assert calls[-1] == (3, 3)
    for number in adoptions[:2]:
        signed = docs.render_document(sqlite_db, w.instructor, number, "signed_agreement")
        assert signed.signed and signed.reused
        verdict = docs.verify_pdf(sqlite_db, signed.pdf)
        assert verdict.all_valid and verdict.matches_approved_text, verdict.messages
    with unit_of_work(sqlite_db, write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Signature)) == 4
    again = docs.render_all(sqlite_db, w.instructor, sector, workers=2, now=at(day + timedelta(days=7)))
    assert len(again.skipped) == 3 and not again.rendered  # nothing new to render
    # the draft's text changes: rendered again, in this process (one worker)
    uc.set_agreement_terms(
        sqlite_db,
        w.instructor,
        adoptions[2],
        {**TERMS, "avg_wage_after": "5700"},
        now=at(day + timedelta(days=8)),
    )
    serial = docs.render_all(sqlite_db, w.instructor, sector, workers=1, now=at(day + timedelta(days=8)))
    assert serial.rendered == [adoptions[2]] and len(serial.skipped) == 2 and serial.workers == 1
    draft = docs.render_document(sqlite_db, w.instructor, adoptions[2], "agreement")
    assert draft.reused and "5,700.00元" in save(draft.pdf, "draft").flat  # the file it rendered
    with pytest.raises(ValidationError, match="不是行业协商"):
        docs.render_all(sqlite_db, w.instructor, adoptions[0])


def test_scanned_copy_is_stored_with_its_hash(db: Database) -> None:
    w = chinese_world(db)
    number = uc.create_case(db, w.instructor, kind="enterprise", enterprise=w.enterprise_code, now=at(START))[
        "number"
    ]
    day = vote(w, number, negotiate(w, number, START, TERMS))
    with pytest.raises(NotFound, match="尚无“集体合同文本（签字）”"):
        docs.store_scan(db, w.instructor, number, "signed_agreement", "scan.pdf", b"%PDF-1.7 ...")
    fire(w, number, "sign", day + timedelta(days=1))  # signed on paper at a ceremony
    scan = b"%PDF-1.4\n% a scanned page\n" + bytes(range(256)) * 10
    result = docs.store_scan(
        db, w.instructor, number, "agreement", "C:\\scans\\合同签字页.pdf", scan, note="双方首席代表手写签字",
        now=at(day + timedelta(days=2)),
    )  # fmt: skip
    assert result["kind"] == "signed_agreement" and result["filename"] == "合同签字页.pdf"
    assert result["sha256"] == storage.sha256(scan) and result["text_hash"]
    stored, meta = docs.get_scan(db, w.instructor, result["id"])
    assert stored == scan and meta["content_type"] == "application/pdf"
    with unit_of_work(db, write=False) as uow:
        row = uow.session.get(ScannedCopy, result["id"])
        assert row is not None and row.storage_path.endswith(".pdf") and "合同" not in row.storage_path
        assert (
            uow.session.scalar(select(Event.payload).where(Event.trigger == "upload_scan"))["sha256"]
            == result["sha256"]
        )
    png = docs.store_scan(
        db, w.instructor, number, "signed_agreement", "p.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64
    )
    assert png["content_type"] == "image/png"
    with pytest.raises(ValidationError, match="PDF、PNG、JPEG或TIFF"):
        docs.store_scan(db, w.instructor, number, "signed_agreement", "evil.pdf", b"MZ\x90\x00 not a scan")
    with pytest.raises(ValidationError, match="空的"):
        docs.store_scan(db, w.instructor, number, "signed_agreement", "empty.pdf", b"")
    from bargaining.errors import Forbidden

    with pytest.raises(Forbidden):
        docs.store_scan(db, w.auditor, number, "signed_agreement", "a.pdf", scan)
    listing = docs.list_documents(db, w.instructor, number)
    signed = next(d for d in listing["documents"] if d["kind"] == "signed_agreement")
    assert [s["sha256"] for s in signed["scans"]] == [result["sha256"], png["sha256"]]


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from services import cli

    if not any(group.name == "document" for group in cli.app.registered_groups):
        docs.register(cli.app)
    try:
        cli.main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_command_line(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from services import runtime

    monkeypatch.setenv("BARGAINING_DATABASE_URL", library.db.url)
    runtime.database.cache_clear()
    try:
        code, out, _ = _cli(["keys", "init"], capsys)
        assert code == 0 and "测试CA已存在" in out and "0600" in out and "仅限开发和演示" in out
        offer = tmp_path / "offer.pdf"
        code, out, _ = _cli(
            ["document", "render", library.enterprise, "要约书", "--out", str(offer), "--as", "zhang"], capsys
        )
        assert code == 0 and "已输出《要约书》" in out and offer.read_bytes().startswith(b"%PDF-")
        signed = tmp_path / "signed.pdf"
        code, out, _ = _cli(
            ["document", "render", library.sector, "signed_agreement", "-o", str(signed), "--as", "zhang"],
            capsys,
        )
        assert code == 0 and "已签署文件" in out
        code, out, _ = _cli(["verify", str(signed)], capsys)
        assert code == 0 and "签名有效，文本与职代会通过的文本一致" in out and "李强" in out
        code, out, _ = _cli(["verify", str(offer)], capsys)
        assert code == 1 and "未签名" in out
        code, out, err = _cli(
            ["document", "render", library.enterprise, "offer_letter", "-o", str(offer), "--as", "li"], capsys
        )
        assert code == 1 and err.startswith("错误：找不到协商")  # another street's instructor
        code, out, err = _cli(["document", "sign", library.enterprise, "--as", "zhang"], capsys)
        assert code == 1 and "错误：当前阶段为“生效”" in err
        code, out, _ = _cli(["document", "list", library.enterprise, "--as", "zhang"], capsys)
        assert code == 0 and "offer_letter" in out and "已经职代会通过" in out
        code, out, _ = _cli(["document", "templates"], capsys)
        assert code == 0 and "agreement_adoption  1.0.0" in out
    finally:
        runtime.database.cache_clear()
