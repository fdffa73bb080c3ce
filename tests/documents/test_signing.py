"""PAdES signatures: validated by pyHanko and by poppler's pdfsig; tampering is detected; a text
changed after the congress vote, or a piece rate below the floor, refuses to sign."""

from __future__ import annotations

import io
import os
import re
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bargaining.db import Database
from bargaining.errors import TransitionRefused, ValidationError
from bargaining.models import Agreement, Case, Document, Signature
from services import cases as uc
from services import documents as docs
from services.documents import keys, storage
from services.uow import unit_of_work
from tests.support import at, fire

from .conftest import START, Library
from .helpers import TERMS, chinese_world, negotiate, pdfsig, rate_table, save, vote


def _signatures_ok(report: docs.VerificationReport) -> None:
    assert [s.field for s in report.signatures] == ["sig-employer", "sig-worker"]  # the defined order
    assert [s.signer for s in report.signatures] == ["李强", "王芳"]
    for s in report.signatures:
        assert s.bottom_line and s.intact and s.valid and s.trusted, s
        assert s.timestamp_ok and s.timestamp, s
        assert s.test_certificate and "测试证书" in s.summary
        assert not s.changed_after
    # the first signature sees the second one filled into its pre-created field, nothing else
    assert report.signatures[0].modification == "FORM_FILLING"
    assert report.signatures[1].modification in ("NONE", "LTA_UPDATES")


@pytest.mark.parametrize("name", ["sector_signed", "adoption_signed"])
def test_signed_pdf_verifies(library: Library, name: str) -> None:
    report = docs.verify_pdf(library.db, library.pdfs[name].data)
    _signatures_ok(report)
    assert report.all_valid and not report.changed_after_signing
    assert report.content_hash_consistent is True
    assert report.matches_approved_text is True and report.matches_record is True
    assert report.verdict == "签名有效，文本与职代会通过的文本一致"
    assert report.to_dict()["signatures"][0]["signer"] == "李强"


@pytest.mark.parametrize("name", ["sector_signed", "adoption_signed"])
def test_pdfsig_agrees(library: Library, name: str) -> None:
    out = pdfsig(library.pdfs[name].path)
    assert out.count("Signature is Valid.") == 2, out
    assert "Signer Certificate Common Name: 李强" in out and "Signer Certificate Common Name: 王芳" in out
    assert out.count("ETSI.CAdES.detached") == 2
    assert out.index("sig-employer") < out.index("sig-worker")


def test_signing_certificate_attributes_name_the_signer_and_the_tsa(library: Library) -> None:
    """The ESS signing-certificate attributes (encoded once per certificate, see signing.py) name
    the certificate that signed: SHA-256 of the signer's in the signature, SHA-1 of the test
    TSA's in each timestamp token, with the issuer and serial number."""
    import hashlib

    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(library.pdfs["adoption_signed"].data))
    assert len(reader.embedded_signatures) == 2
    for embedded in reader.embedded_signatures:
        signer_info = embedded.signer_info
        attrs = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"]}
        (ess,) = attrs["signing_certificate_v2"]["certs"]
        cert = embedded.signer_cert
        assert ess["cert_hash"].native == hashlib.sha256(cert.dump()).digest()
        assert ess["issuer_serial"]["serial_number"].native == cert.serial_number
        assert ess["issuer_serial"]["issuer"][0].chosen == cert.issuer
        token = {a["type"].native: a["values"][0] for a in signer_info["unsigned_attrs"]}[
            "signature_time_stamp_token"
        ]
        tsa_info = token["content"]["signer_infos"][0]
        tsa_attrs = {a["type"].native: a["values"][0] for a in tsa_info["signed_attrs"]}
        (tsa_ess,) = tsa_attrs["signing_certificate"]["certs"]
        tsa_serial = tsa_info["sid"].chosen["serial_number"].native
        (tsa_cert,) = [
            c.chosen for c in token["content"]["certificates"] if c.chosen.serial_number == tsa_serial
        ]
        assert tsa_ess["cert_hash"].native == hashlib.sha1(tsa_cert.dump()).digest()
        assert tsa_ess["issuer_serial"]["serial_number"].native == tsa_serial


def test_signed_file_starts_with_the_reproducible_rendering(library: Library) -> None:
    from bargaining.models import DocumentRendering

    with unit_of_work(library.db, write=False) as uow:
        case_id = uow.session.scalar(select(Case.id).where(Case.number == library.sector))
        rendering_id = uow.session.scalar(
            select(DocumentRendering.id).where(
                DocumentRendering.case_id == case_id, DocumentRendering.kind == "signed_agreement"
            )
        )
    assert rendering_id is not None
    unsigned, same = docs.reproduce(library.db, library.world.instructor, rendering_id)
    assert same  # the approved text renders to the same bytes again…
    assert library.pdfs["sector_signed"].data.startswith(unsigned)  # …which the signatures extend


def test_signature_appearance_says_test_certificate(library: Library) -> None:
    flat = library.pdfs["sector_signed"].flat
    assert flat.count("测试证书：仅供测试，不具法律效力") == 2
    assert "电子签名企业方首席代表" in flat and "电子签名职工方首席代表" in flat
    # the visible fields sit on the HTML signature blocks: the same page as the chiefs' names
    signed_page = next(
        n
        for n in range(1, library.pdfs["sector_signed"].pages + 1)
        if "电子签名企业方首席代表" in library.pdfs["sector_signed"].page(n)
    )
    assert "首席代表（签字）：李强" in library.pdfs["sector_signed"].page(signed_page)


def test_one_flipped_byte_is_detected(library: Library, tmp_path: Path) -> None:
    data = bytearray(library.pdfs["sector_signed"].data)
    # the middle of the longest stream of the original revision (a font program): covered by both
    # signatures, and not needed to parse the file
    streams = [
        (int(m.group(1)), m.end())
        for m in re.finditer(
            rb"/Length (\d+)[^>]*>>\s*stream\r?\n",
            bytes(data[: len(library.pdfs["sector_signed"].data) // 2]),
        )
    ]
    length, start = max(streams)
    data[start + length // 2] ^= 0x01
    report = docs.verify_pdf(library.db, bytes(data))
    assert not report.all_valid and report.changed_after_signing
    assert all(not s.bottom_line and not s.intact for s in report.signatures)
    assert "签名所覆盖的内容已被改动" in report.signatures[0].summary
    assert report.verdict == "验证未通过"
    tampered = save(bytes(data), "flipped", tmp_path)
    out = pdfsig(tampered.path)
    assert "Signature is Valid." not in out
    assert out.count("Digest Mismatch") + out.count("Signature is Invalid") >= 2, out


def test_incremental_edit_after_signing_is_detected(library: Library) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(library.pdfs["sector_signed"].data))
    patch = writer.add_object(generic.StreamObject(stream_data=b"q 1 1 1 rg 90 600 300 60 re f Q"))
    writer.add_stream_to_page(0, patch)  # white out part of page 1, after both signatures
    out = io.BytesIO()
    writer.write(out)
    report = docs.verify_pdf(library.db, out.getvalue())
    assert all(s.intact and s.valid for s in report.signatures)  # the signed bytes are untouched…
    assert all(not s.bottom_line for s in report.signatures)  # …but the document is not
    assert all(s.modification == "OTHER" and s.changed_after for s in report.signatures)
    assert report.changed_after_signing and not report.all_valid
    assert "签名后文件内容被修改" in report.signatures[1].summary
    assert report.matches_record is False


def test_unsigned_document_reports_no_signature(library: Library) -> None:
    report = docs.verify_pdf(library.db, library.pdfs["offer_letter"].data)
    assert report.signatures == [] and report.verdict == "未签名"
    assert report.case_number == library.enterprise and report.kind == "offer_letter"
    assert report.matches_record is True


def test_not_a_pdf_is_refused(library: Library) -> None:
    with pytest.raises(ValidationError, match="不是PDF"):
        docs.verify_pdf(library.db, b"GIF89a...")


# --- signing on both backends ---------------------------------------------------------------------


def _awaiting_signature(db: Database, terms: dict[str, object] | None = None) -> tuple[object, str]:
    world = chinese_world(db)
    number = uc.create_case(
        db, world.instructor, kind="enterprise", enterprise=world.enterprise_code, now=at(START)
    )["number"]
    day = negotiate(world, number, START, dict(terms or TERMS))
    vote(world, number, day)
    return world, number


def _store_files() -> set[Path]:
    root = storage.root()
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_sign_records_signatures_and_verifies(db: Database) -> None:
    world, number = _awaiting_signature(db)
    result = docs.sign_agreement(db, world.instructor, number, now=at(START + timedelta(days=20)))  # type: ignore[attr-defined]
    assert result["state"] == "signed"
    assert [s["role"] for s in result["signatures"]] == ["企业方首席代表", "职工方首席代表"]
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        case = s.scalar(select(Case).where(Case.number == number))
        assert case is not None
        document = s.scalar(
            select(Document).where(Document.case_id == case.id, Document.kind == "signed_agreement")
        )
        assert document is not None and document.data["values"]["signed_on"] == "2025-11-23"
        assert document.data["values"]["employer_signatory"] == "李强"
        rows = list(
            s.scalars(
                select(Signature).where(Signature.document_id == document.id).order_by(Signature.sequence)
            )
        )
        assert [(r.side, r.signer_name) for r in rows] == [("employer", "李强"), ("worker", "王芳")]
        agreement = s.scalar(select(Agreement).where(Agreement.case_id == case.id))
        assert agreement is not None and all(r.text_hash == agreement.approved_text_hash for r in rows)
        assert rows[1].revision_sha256 == document.pdf_sha256  # the last signature's revision is the file
        pdf = storage.get(document.storage_path or "", document.pdf_sha256)
    report = docs.verify_pdf(db, pdf)
    _signatures_ok(report)
    assert report.matches_approved_text is True
    # The record changes (e.g. someone edits the approved hash in the database): the file no longer matches.
    with unit_of_work(db) as uow:
        uow.session.execute(
            update(Agreement).where(Agreement.case_id == case.id).values(approved_text_hash="0" * 64)
        )
    report = docs.verify_pdf(db, pdf)
    assert report.all_valid and report.matches_approved_text is False
    assert "不一致" in " ".join(report.messages)


def test_text_changed_behind_the_engines_back_refuses_to_sign(db: Database) -> None:
    world, number = _awaiting_signature(db)
    with unit_of_work(db) as uow:
        case_id = uow.session.scalar(select(Case.id).where(Case.number == number))
        uow.session.execute(
            update(Agreement)
            .where(Agreement.case_id == case_id)
            .values(clauses=[{"title": "工资增长", "text": "本年度职工平均工资增长5%。"}])
        )
    before = _store_files()
    with pytest.raises(
        TransitionRefused, match=r"协议文本与职代会审议通过的文本不一致.*须重新提交职代会审议"
    ):
        docs.sign_agreement(db, world.instructor, number, now=at(START + timedelta(days=20)))  # type: ignore[attr-defined]
    assert _store_files() == before  # nothing rendered, nothing stored
    draft = save(docs.render_document(db, world.instructor, number, "agreement").pdf, "changed")  # type: ignore[attr-defined]
    assert "本文本尚未经职代会审议通过，仅供审议，不得签字" in draft.flat and "增长5%" in draft.flat
    with unit_of_work(db, write=False) as uow:
        assert uow.session.scalar(select(Case.state).where(Case.number == number)) == "awaiting_signature"
        assert uow.session.scalar(select(Signature.id)) is None


def test_text_changed_through_the_use_case_goes_back_to_congress(db: Database) -> None:
    world, number = _awaiting_signature(db)
    changed = {**TERMS, "avg_wage_after": "5300"}
    result = uc.set_agreement_terms(db, world.instructor, number, changed, now=at(START + timedelta(days=19)))  # type: ignore[attr-defined]
    assert result["state"] == "awaiting_congress"
    with pytest.raises(TransitionRefused, match="当前阶段为“待职代会审议”"):
        docs.sign_agreement(db, world.instructor, number, now=at(START + timedelta(days=20)))  # type: ignore[attr-defined]
    preview = docs.render_document(db, world.instructor, number, "agreement")  # type: ignore[attr-defined]
    text = save(preview.pdf, "draft").flat
    assert "草案" in text and "人民币伍仟叁佰元整" in text and "本文本尚未经职代会审议通过" in text


def test_piece_rate_below_floor_blocks_signing(db: Database) -> None:
    low = rate_table(low_cell=("1B2L", "P11", "12"))  # 12 元 × 10 斤 = 120 元 < 2660 ÷ 21.75 = 122.30 元
    world, number = _awaiting_signature(db, {**TERMS, "rate_tables": [low]})
    with pytest.raises(TransitionRefused) as refused:
        docs.sign_agreement(db, world.instructor, number, now=at(START + timedelta(days=20)))  # type: ignore[attr-defined]
    message = refused.value.message
    assert "“茶叶采摘计件单价表”“一芽二叶”·“秋茶”" in message
    assert "日收入120.00元，低于日最低工资122.30元" in message
    assert "计件单价不得低于12.23元/斤" in message
    assert "明前" not in message  # only the offending cell
    # the same guard sits on the workflow action itself
    with pytest.raises(TransitionRefused, match="一芽二叶"):
        fire(world, number, "sign", START + timedelta(days=20))  # type: ignore[arg-type]
    preview = save(docs.render_document(db, world.instructor, number, "agreement").pdf, "low")  # type: ignore[attr-defined]
    assert "▲标记的单价按劳动定额折算低于最低工资标准" in preview.flat
    assert "12.00▲" in preview.flat


def test_rates_that_cannot_be_checked_are_said_but_missing_quotas_block(db: Database) -> None:
    from bargaining.models import OrgUnit

    world, number = _awaiting_signature(db, {**TERMS, "rate_tables": [rate_table()]})
    with unit_of_work(db) as uow:  # a federation with no province: no minimum wage to compare with
        uow.session.execute(update(OrgUnit).values(province=None))
    preview = save(docs.render_document(db, world.instructor, number, "agreement").pdf, "unchecked")  # type: ignore[attr-defined]
    assert "未能核对：测试机械有限公司所属工会组织未登记所在省份" in preview.flat
    no_quota = rate_table()
    no_quota["rows"][0] = {**no_quota["rows"][0], "quota": ""}
    changed = uc.set_agreement_terms(db, world.instructor, number, {"rate_tables": [no_quota]})  # type: ignore[attr-defined]
    assert changed["state"] == "awaiting_congress"  # the change sends it back to the congress…
    vote(world, number, START + timedelta(days=20))  # type: ignore[arg-type]
    with pytest.raises(
        TransitionRefused, match="“单芽（芽头）”未填写劳动定额"
    ):  # …and a rate needs its quota
        docs.sign_agreement(db, world.instructor, number, now=at(START + timedelta(days=26)))  # type: ignore[attr-defined]


def test_sector_approved_by_each_enterprise_checks_only_the_bound_ones(db: Database) -> None:
    """Shanghai: each enterprise accepts and votes; the agreement binds only those that did. A rate
    lawful at tier 3 but not at tier 1 may be signed once the only tier-1 enterprise declined."""
    from bargaining.models import Enterprise

    w = chinese_world(db, "shanghai")
    with unit_of_work(db) as uow:
        uow.session.execute(update(Enterprise).values(min_wage_tier=3))
        uow.session.execute(
            update(Enterprise).where(Enterprise.credit_code == w.tea_codes[1]).values(min_wage_tier=1)
        )
    low = rate_table(low_cell=("1B2L", "P11", "11"))  # 110 元/日: ≥ tier 3 (100.23), < tier 1 (122.30)
    sector = uc.create_case(db, w.instructor, kind="sector", sector="tea", now=at(START))["number"]
    uc.add_coverage(db, w.instructor, sector, w.tea_codes, now=at(START))
    day = negotiate(w, sector, START, {**TERMS, "rate_tables": [low]})
    counts = {"total": 30, "present": 30, "votes_for": 28, "against": 1, "abstain": 1}
    for code, accepted in zip(w.tea_codes, ("是", "否", "是"), strict=True):
        fire(w, sector, "record_enterprise_approval", day, enterprise=code, accepted=accepted, **counts)
    fire(w, sector, "conclude_enterprise_approvals", day + timedelta(days=1))
    result = docs.sign_agreement(db, w.instructor, sector, now=at(day + timedelta(days=2)))
    assert result["state"] == "signed"
    signed = save(docs.render_document(db, w.instructor, sector, "signed_agreement").pdf, "shanghai")
    assert "各覆盖企业职工代表大会审议并经企业认可通过" in signed.flat
    assert "测试茶业0有限公司" in signed.flat and "测试茶业2有限公司" in signed.flat
    assert "测试茶业1有限公司" not in signed.flat  # declined: not bound, not listed, not checked
    with unit_of_work(db, write=False) as uow:
        case_id = uow.session.scalar(select(Case.id).where(Case.number == sector))
        declined = uow.session.scalar(
            select(Document.id)
            .where(Document.case_id == case_id, Document.kind == "congress_resolution")
            .order_by(Document.id)
            .offset(1)
            .limit(1)
        )
    resolution = save(
        docs.render_document(db, w.instructor, sector, "congress_resolution", document_id=declined).pdf,
        "declined",
    )
    assert "测试茶业1有限公司召开职工代表大会" in resolution.flat and "企业未认可" in resolution.flat
    filing_terms = {"authority": "上海市人力资源和社会保障局", "copies": 3}
    fire(w, sector, "disclose", day + timedelta(days=3), method="公告栏")
    fire(w, sector, "file_for_review", day + timedelta(days=4), **filing_terms)
    filing = save(docs.render_document(db, w.instructor, sector, "filing_form").pdf, "filing")
    assert "各覆盖企业职工代表大会决议3份（2家通过并认可）" in filing.flat


# --- keys ---------------------------------------------------------------------------------------------


def test_private_keys_are_encrypted_and_private(library: Library) -> None:
    directory = keys.keys_dir()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    key_files = list(directory.glob("*.key.pem")) + list((directory / "people").glob("*.key.pem"))
    assert len(key_files) >= 4  # CA, TSA and the chiefs who signed
    for path in key_files:
        assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----"), path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((directory / "passphrase").stat().st_mode) == 0o600
    with pytest.raises(TypeError):  # no passphrase, no key
        from cryptography.hazmat.primitives import serialization

        serialization.load_pem_private_key(key_files[0].read_bytes(), password=None)
    database = Path(library.db.url.removeprefix("sqlite:///")).read_bytes()
    assert b"PRIVATE KEY" not in database and keys.passphrase()[0] not in database


def test_production_requires_a_passphrase_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BARGAINING_ENV", "production")
    monkeypatch.setenv("BARGAINING_KEYS_DIR", str(tmp_path / "keys"))
    with pytest.raises(ValidationError, match="BARGAINING_KEY_PASSPHRASE"):
        keys.init_keys()
    monkeypatch.setenv("BARGAINING_KEY_PASSPHRASE", "a long passphrase from the secret store")
    report = keys.init_keys()
    assert report.created and report.passphrase_source.startswith("环境变量")
    assert not (tmp_path / "keys" / "passphrase").exists()
    assert re.fullmatch(r"[0-9a-f]{64}", report.ca_fingerprint)
    assert os.environ["BARGAINING_ENV"] == "production"


def test_certificates_are_issued_once_per_person_in_a_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BARGAINING_KEYS_DIR", str(tmp_path / "keys"))
    keys.init_keys()
    first = keys.ensure_people(
        [("w1", "王芳", "茶业工会"), ("e1", "李强", "茶业公司"), ("w1", "王芳", "茶业工会")]
    )
    assert [issued for _key, issued in first] == [True, True, False]  # the same person twice: one certificate
    assert first[0][0] == first[2][0] and first[0][0].cert_path.exists() and first[1][0].key_path.exists()
    again = keys.ensure_people([("e1", "李强", "茶业公司"), ("w2", "赵磊", "茶业工会")])
    assert [issued for _key, issued in again] == [False, True] and again[0][0] == first[1][0]
    assert keys.person("w2", "赵磊") == again[1][0]  # the lookup sees the index just written
    assert keys.ensure_person("w2", "赵磊", "茶业工会") == (again[1][0], False)
    assert [p["name"] for p in keys.list_people()] == ["王芳", "李强", "赵磊"]
    assert len(set((tmp_path / "keys" / "people").glob("*.pem"))) == 6  # a certificate and a key each
