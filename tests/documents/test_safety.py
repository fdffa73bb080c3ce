"""Untrusted text is escaped, the URL fetcher reads only the templates, missing glyphs and a
missing hb-subset are errors, templates match their manifest, rendering holds no transaction."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bargaining.db import Database
from bargaining.errors import ValidationError
from bargaining.models import Agreement, DocumentRendering
from services import cases as uc
from services import documents as docs
from services.documents import rendering, startup, templating
from services.uow import unit_of_work
from tests.support import at, fire

from .conftest import START, Library
from .helpers import chinese_world, save

HOSTILE = (
    '<img src="file:///etc/passwd"><link rel="stylesheet" href="http://example.com/x.css">'
    "<script>alert(1)</script>{{ 7*7 }} & 100%"
)


def test_hostile_text_is_printed_not_interpreted(sqlite_db: Database) -> None:
    world = chinese_world(sqlite_db)
    number = uc.create_case(
        sqlite_db, world.instructor, kind="enterprise", enterprise=world.enterprise_code, now=at(START)
    )["number"]
    from .helpers import add_reps

    add_reps(world, number, START)
    fire(world, number, "send_offer", START, subjects=HOSTILE, from_side="worker")
    fire(world, number, "record_response", START + timedelta(days=3))
    fire(world, number, "record_round", START + timedelta(days=4), chair_side="worker", minutes=HOSTILE)
    for kind in ("offer_letter", "minutes"):
        pdf = save(docs.render_document(sqlite_db, world.instructor, number, kind).pdf, kind)
        assert '<imgsrc="file:///etc/passwd">' in pdf.flat  # shown as text…
        assert "<script>alert(1)</script>{{7*7}}&100%" in pdf.flat  # …not run, not templated
        assert "root:x:0:0" not in pdf.text  # /etc/passwd was never read


def test_fetcher_serves_only_template_files(tmp_path: Path) -> None:
    from services.documents.pdf import ForbiddenResource, ProjectFetcher

    root = templating.templates_dir()
    fetcher = ProjectFetcher(root)
    css = fetcher.fetch((root / "style.css").as_uri())
    assert css.read().startswith(b"/*") and css.content_type == "text/css"
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    for url in (
        "file:///etc/passwd",
        outside.as_uri(),
        (root / ".." / "pyproject.toml").as_uri(),
        "http://example.com/style.css",
        "https://example.com/a.png",
        "data:text/css,body{}",
        "file://otherhost/etc/passwd",
    ):
        with pytest.raises(ForbiddenResource):
            fetcher.fetch(url)


def _context(library: Library, kind: str) -> dict[str, Any]:
    with unit_of_work(library.db, write=False) as uow:
        context = uow.session.scalar(
            select(DocumentRendering.context).where(DocumentRendering.kind == kind).limit(1)
        )
    assert context is not None
    return json.loads(json.dumps(context))


def test_rendering_stops_on_a_forbidden_resource(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A template that asks for an outside file (here: injected into a copy) does not render."""
    copy = tmp_path / "templates"
    shutil.copytree(templating.templates_dir(), copy)
    base = copy / "base.html"
    base.write_text(
        base.read_text(encoding="utf-8").replace(
            "</head>", '<link rel="stylesheet" href="file:///etc/passwd"></head>'
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("BARGAINING_TEMPLATES_DIR", str(copy))
    templating.update_manifest(copy)
    from services.documents.pdf import ForbiddenResource

    context = _context(library, "review_opinion")
    with pytest.raises(ForbiddenResource):
        rendering.run(rendering.RenderJob("t", "review_opinion", "review_opinion", context))


def test_a_character_no_font_has_is_an_error_not_tofu(library: Library) -> None:
    context = _context(library, "review_opinion")
    context["values"]["opinion"] = "审查意见：\ue000"  # a private-use character: no font has it
    with pytest.raises(ValidationError, match="字体不支持的字符"):
        rendering.run(rendering.RenderJob("t", "review_opinion", "review_opinion", context))


def test_manifest_matches_templates_and_refuses_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert templating.check_manifest() == []
    infos = templating.all_templates()
    assert set(infos) == {
        "offer_letter",
        "response_letter",
        "minutes",
        "congress_resolution",
        "disclosure_notice",
        "filing_form",
        "review_opinion",
        "coordination_agreement",
        "agreement_enterprise",
        "agreement_sector",
        "agreement_adoption",
    }
    copy = tmp_path / "templates"
    shutil.copytree(templating.templates_dir(), copy)
    (copy / "style.css").write_text(
        (copy / "style.css").read_text(encoding="utf-8") + "\n/* changed */\n", encoding="utf-8"
    )
    assert set(templating.check_manifest(copy)) == set(infos)  # a shared file changes every template's hash
    monkeypatch.setenv("BARGAINING_TEMPLATES_DIR", str(copy))
    with pytest.raises(ValidationError, match="模板已修改但版本未更新"):
        templating.template("offer_letter")


def test_missing_hb_subset_is_reported_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    assert startup.harfbuzz_subset_present()  # scripts/setup.sh installs it
    assert docs.check_runtime() == []
    monkeypatch.setattr(startup, "harfbuzz_subset_present", lambda: False)
    startup.problems.cache_clear()
    try:
        with pytest.raises(
            startup.RenderingUnavailable, match="apt-get install libharfbuzz-subset0"
        ) as refused:
            startup.require_rendering()
        assert "28" in refused.value.message
    finally:
        startup.problems.cache_clear()


def test_rendering_runs_outside_any_transaction(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the PDF is laid out another writer can commit (SQLite: BEGIN IMMEDIATE would wait)."""
    world = chinese_world(sqlite_db)
    number = uc.create_case(
        sqlite_db, world.instructor, kind="enterprise", enterprise=world.enterprise_code, now=at(START)
    )["number"]
    from .helpers import add_reps

    add_reps(world, number, START)
    fire(world, number, "send_offer", START, subjects="年度工资调整", from_side="worker")
    real_run = rendering.run
    seen: list[str] = []

    def run_while_someone_writes(job: rendering.RenderJob, signer: object = None) -> rendering.RenderOutput:
        with sqlite_db.write_engine.connect() as conn:
            conn.exec_driver_sql(
                "UPDATE agreements SET title = title"
            )  # takes the write lock (BEGIN IMMEDIATE)
            conn.commit()
        seen.append(job.kind)
        return real_run(job, signer)

    monkeypatch.setattr(rendering, "run", run_while_someone_writes)
    result = docs.render_document(sqlite_db, world.instructor, number, "offer_letter")
    assert seen == ["offer_letter"] and result.document_id is not None
    with unit_of_work(sqlite_db, write=False) as uow:
        assert uow.session.scalar(select(Agreement.id)) is None  # (the UPDATE touched nothing)
