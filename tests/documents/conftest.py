"""Fixtures for the documents tests.

Every test here gets its own document store, keys and cache directories (never var/). The
``library`` fixture builds, once per session on a migrated SQLite database, a federation whose
cases have reached every stage — an enterprise case in force and disclosed, a case that went
through dispute coordination, the tea sector with its 11-period rate table signed electronically,
an adoption signed electronically — and renders every document kind once; the tests read those
PDFs back with pdftotext, pdffonts and pdfsig.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest

from bargaining.db import Database, open_database
from services import cases as uc
from services import documents as docs
from services.documents import keys
from tests.support import World, at, fire

from .helpers import TERMS, Pdf, chinese_world, negotiate, rate_table, save, vote

START = date(2025, 11, 3)


@pytest.fixture(scope="session", autouse=True)
def document_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("documents")
    patch = pytest.MonkeyPatch()
    patch.setenv("BARGAINING_STORAGE_DIR", str(base / "store"))
    patch.setenv("BARGAINING_KEYS_DIR", str(base / "keys"))
    patch.setenv("BARGAINING_CACHE_DIR", str(base / "cache"))
    patch.setenv("BARGAINING_ENV", "test")
    patch.delenv("BARGAINING_KEY_PASSPHRASE", raising=False)
    patch.delenv("BARGAINING_SIGNER", raising=False)
    patch.delenv("BARGAINING_TSA_URL", raising=False)
    keys.init_keys()
    yield base
    patch.undo()


@dataclass
class Library:
    db: Database
    world: World
    enterprise: str  # case number: walked to in force and disclosed
    disputed: str  # went through apply/conclude coordination
    sector: str  # tea sector, signed electronically, in force
    adoption: str  # tea enterprise adopting the sector agreement, signed electronically
    pdfs: dict[str, Pdf] = field(default_factory=dict)
    sign_results: dict[str, dict[str, object]] = field(default_factory=dict)


def _walk_enterprise(world: World, number: str) -> None:
    day = negotiate(world, number, START, TERMS)
    day = vote(world, number, day)
    day += timedelta(days=2)
    fire(world, number, "sign", day)
    day += timedelta(days=3)
    fire(world, number, "file_for_review", day, authority="宜兴市人力资源和社会保障局", copies=3)
    day += timedelta(days=6)
    fire(
        world, number, "record_review_opinion", day, world.reviewer,
        has_objections="否", opinion="经审查，该集体合同主体合格、程序合法、内容合法，予以确认。",
        reviewer_authority="宜兴市人力资源和社会保障局",
    )  # fmt: skip
    day += timedelta(days=2)
    fire(world, number, "disclose", day, method="厂务公开栏张贴并在职工群公布", days=7)


@pytest.fixture(scope="session")
def library(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, document_dirs: Path
) -> Iterator[Library]:
    directory = tmp_path_factory.mktemp("library")
    shutil.copy(sqlite_template, directory / "db.sqlite3")
    db = open_database(f"sqlite:///{directory / 'db.sqlite3'}")
    world = chinese_world(db)
    w = world

    enterprise = uc.create_case(
        db, w.instructor, kind="enterprise", enterprise=w.enterprise_code, now=at(START)
    )["number"]
    _walk_enterprise(w, enterprise)

    disputed = uc.create_case(
        db, w.admin, kind="enterprise", enterprise=w.other_enterprise_code, now=at(START)
    )["number"]
    from .helpers import add_reps

    add_reps(w, disputed, START, actor=w.admin)
    fire(w, disputed, "send_offer", START, w.admin, from_side="worker", subjects="年度工资调整")
    fire(
        w,
        disputed,
        "apply_coordination",
        START + timedelta(days=21),
        w.admin,
        authority="宜兴市人力资源和社会保障局",
        matter="企业方未在规定期限内书面回应要约。",
    )
    fire(
        w,
        disputed,
        "conclude_coordination",
        START + timedelta(days=30),
        w.admin,
        result="经协调，企业方同意于十日内开始协商。",
    )

    sector = uc.create_case(db, w.instructor, kind="sector", sector="tea", now=at(START))["number"]
    uc.add_coverage(db, w.instructor, sector, w.tea_codes, now=at(START))
    day = negotiate(w, sector, START, {**TERMS, "rate_tables": [rate_table()]})
    day = vote(w, sector, day)
    day += timedelta(days=2)
    sector_signed = docs.sign_agreement(db, w.instructor, sector, now=at(day))
    day += timedelta(days=3)
    fire(w, sector, "file_for_review", day, authority="宜兴市人力资源和社会保障局", copies=3)
    day += timedelta(days=6)
    fire(w, sector, "record_review_opinion", day, w.reviewer, has_objections="否", opinion="合法有效。")

    adoption = uc.create_case(
        db, w.instructor, kind="adoption", enterprise=w.tea_codes[0], parent=sector, now=at(day)
    )["number"]
    from .helpers import add_reps as reps

    reps(w, adoption, day)
    uc.set_agreement_terms(db, w.instructor, adoption, TERMS, now=at(day))
    fire(w, adoption, "submit_draft", day)
    day = vote(w, adoption, day)
    adoption_signed = docs.sign_agreement(db, w.instructor, adoption, now=at(day + timedelta(days=1)))

    lib = Library(db, world, enterprise, disputed, sector, adoption)
    lib.sign_results = {"sector": sector_signed, "adoption": adoption_signed}
    out = directory / "pdfs"
    out.mkdir()
    for kind in (
        "offer_letter",
        "response_letter",
        "minutes",
        "congress_resolution",
        "signed_agreement",
        "filing_form",
        "review_opinion",
        "disclosure_notice",
    ):
        lib.pdfs[kind] = save(docs.render_document(db, w.instructor, enterprise, kind).pdf, kind, out)
    lib.pdfs["coordination_agreement"] = save(
        docs.render_document(db, w.admin, disputed, "coordination_agreement").pdf,
        "coordination_agreement",
        out,
    )
    lib.pdfs["sector_signed"] = save(
        docs.render_document(db, w.instructor, sector, "signed_agreement").pdf, "sector_signed", out
    )
    lib.pdfs["sector_filing"] = save(
        docs.render_document(db, w.instructor, sector, "filing_form").pdf, "sector_filing", out
    )
    lib.pdfs["adoption_signed"] = save(
        docs.render_document(db, w.instructor, adoption, "signed_agreement").pdf, "adoption_signed", out
    )
    lib.pdfs["adoption_resolution"] = save(
        docs.render_document(db, w.instructor, adoption, "congress_resolution").pdf,
        "adoption_resolution",
        out,
    )
    yield lib
    db.dispose()
