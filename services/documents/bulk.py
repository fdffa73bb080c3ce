"""Bulk rendering: every adoption agreement (履约集体协议) of a sector case, on a process pool.

Contexts are built in one read transaction, the PDFs are rendered (and, with ``sign=True``,
signed by both chiefs) in worker processes, and each case's result is recorded in its own short
transaction, so one refusal does not hold back the others. It is a pipeline: a case goes to the
pool as soon as it is planned, and its result is recorded as soon as it comes back, while the
workers render the others. Workers are forked after WeasyPrint, pyHanko and the stamp font have
been loaded, so they start warm.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.errors import DomainError, ValidationError
from bargaining.models import Case, Document
from bargaining.rules.periods import legal_date

from .. import runtime
from ..cases import STAFF, require_role
from ..repository import get_case, visible_cases
from ..uow import unit_of_work
from . import rendering, storage
from .context import AGREEMENT
from .rendering import RenderJob, RenderOutput

Progress = Callable[[int, int, str, str | None], None]  # done, total, case number, error or None


@dataclass
class BulkReport:
    parent: str
    total: int = 0
    rendered: list[str] = field(default_factory=list)
    signed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1
    bytes_written: int = 0
    notes: list[str] = field(default_factory=list)
    seconds_jobs: float = 0.0  # wall time spent rendering and signing, summed over the jobs

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Item:
    case_id: int
    number: str
    version: int
    kind: str
    document_id: int | None
    job: RenderJob
    sign: bool


def _warm_up() -> None:
    """Import the heavy modules and build caches before forking, so workers start warm."""
    from . import pdf, signing, startup, templating  # noqa: F401

    startup.require_rendering()
    templating.all_templates()
    signing.stamp_font()
    import pyhanko.sign.signers
    import pyhanko.sign.validation  # noqa: F401


def _pool(workers: int) -> ProcessPoolExecutor:
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))


def render_all(
    db: Database,
    actor: Actor,
    parent_ref: str | int,
    *,
    sign: bool = False,
    signed_on: date | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> BulkReport:
    """Render every adoption agreement of the sector case ``parent_ref`` (sign those awaiting
    signature when ``sign``), ``workers`` processes at a time (default: one per CPU).

    A pipeline, so that every core stays busy: each case goes to the pool as soon as it is
    planned (the workers render while the others are still being read), and each result is
    recorded as soon as it comes back, in this process, while the workers render the rest.
    """
    from .signing import load_signer

    started = time.perf_counter()
    now = now or runtime.utcnow()
    workers = max(1, workers or os.cpu_count() or 1)
    if sign:
        require_role(actor, STAFF, "签署集体合同")
    signer = load_signer() if sign else None
    items: list[_Item] = []
    runner = _Runner(workers, signer)
    try:
        with unit_of_work(db, write=False) as uow:
            s = uow.session
            parent = get_case(s, actor, parent_ref)
            if parent.kind != "sector":
                raise ValidationError(f"{parent.number} 不是行业协商，没有履约协议可批量生成。")
            report = BulkReport(parent=parent.number, workers=workers)
            children = list(
                s.scalars(
                    visible_cases(actor)
                    .where(Case.parent_id == parent.id, Case.kind == "adoption")
                    .order_by(Case.id)
                )
            )
            report.total = len(children)
            runner.expect(len(children))
            for case in children:
                try:
                    item = _plan(s, actor, case, sign=sign, signed_on=signed_on, now=now)
                except DomainError as exc:
                    report.failed.append(f"{case.number}：{exc.message}")
                    continue
                if item is None:
                    report.skipped.append(f"{case.number}：已生成")
                    continue
                if item.sign:
                    assert signer is not None
                    # Issue missing test certificates before the worker needs them.
                    report.notes += signer.prepare(item.job.parties)
                items.append(item)
                runner.submit(item)
        done = len(report.failed) + len(report.skipped)
        if progress is not None:
            progress(done, report.total, "", None)
        outcomes: dict[str, str | None] = {}  # case number → None (recorded) or the error
        for item, result in runner.results():
            done += 1
            error: str | None
            if isinstance(result, BaseException):
                error = (
                    result.message
                    if isinstance(result, DomainError)
                    else f"{type(result).__name__}: {result}"
                )
            else:
                report.seconds_jobs += result.seconds_render + result.seconds_sign
                try:
                    report.bytes_written += _record(db, actor, item, result, signer, now)
                    error = None
                except DomainError as exc:
                    error = exc.message
            outcomes[item.number] = error
            if progress is not None:
                progress(done, report.total, item.number, error)
    finally:
        runner.close()
    for item in items:  # the report lists cases in case order, whatever order they finished in
        error = outcomes[item.number]
        if error is not None:
            report.failed.append(f"{item.number}：{error}")
        elif item.sign:
            report.signed.append(item.number)
        else:
            report.rendered.append(item.number)
    report.seconds = time.perf_counter() - started
    return report


def _plan(
    s: Any, actor: Actor, case: Case, *, sign: bool, signed_on: date | None, now: datetime
) -> _Item | None:
    """The job for one adoption case (None: its PDF is already there)."""
    from . import api

    if sign and case.state == "awaiting_signature":
        job = api.plan_signing(
            s, actor, case, signed_on=signed_on or legal_date(now), now=now, signer_spec=None
        )
        return _Item(case.id, case.number, case.version, "signed_agreement", None, job, True)
    signed_doc = s.scalar(
        select(Document.id)
        .where(Document.case_id == case.id, Document.kind == "signed_agreement")
        .order_by(Document.id.desc())
        .limit(1)
    )
    kind = "signed_agreement" if signed_doc is not None else AGREEMENT
    plan = api._plan_render(s, actor, case, kind, signed_doc, refresh=False, now=now)
    if plan.job is None:
        return None
    return _Item(case.id, case.number, case.version, kind, plan.document_id, plan.job, False)


class _Runner:
    """Runs jobs in this process (one worker) or on a process pool started at the first job.

    Workers are forked after ``_warm_up``, so they start with WeasyPrint, pyHanko, the templates
    and the stamp font loaded; each then builds its own font configuration and signer once and
    keeps them for every job it runs. Jobs go one at a time (no chunks): each is a few hundred
    milliseconds, so handing them out one by one keeps both workers busy until the last.
    """

    def __init__(self, workers: int, signer: Any):
        self.workers = workers
        self.signer = signer
        self.expected = 0
        self.pool: ProcessPoolExecutor | None = None
        self.pending: list[_Item] = []  # in-process: run when results are asked for
        self.futures: dict[Future[RenderOutput], _Item] = {}

    def expect(self, count: int) -> None:
        self.expected = count

    def submit(self, item: _Item) -> None:
        if self.workers == 1 or self.expected <= 1:
            self.pending.append(item)
            return
        if self.pool is None:
            _warm_up()
            self.pool = _pool(min(self.workers, self.expected))
        self.futures[self.pool.submit(rendering.run, item.job)] = item

    def results(self) -> Iterator[tuple[_Item, RenderOutput | BaseException]]:
        for item in self.pending:
            try:
                output: RenderOutput | BaseException = rendering.run(item.job, signer=self.signer)
            except Exception as exc:  # reported per case
                output = exc
            yield item, output
        for future in as_completed(self.futures):
            try:
                output = future.result()
            except Exception as exc:
                output = exc
            yield self.futures[future], output

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def _record(db: Database, actor: Actor, item: _Item, output: RenderOutput, signer: Any, now: datetime) -> int:
    """Store and record one result in its own transaction; returns the bytes stored."""
    from . import api

    if item.sign:
        api.commit_signed(
            db, actor, case_id=item.case_id, expected_version=item.version, job=item.job, output=output,
            backend=signer.backend, now=now,
        )  # fmt: skip
        return len(output.signed_pdf or b"")
    path = storage.put(output.pdf, ".pdf", now=now)
    try:
        with unit_of_work(db) as uow:
            s = uow.session
            api._record_rendering(
                s, case_id=item.case_id, document_id=item.document_id, kind=item.kind, job=item.job,
                output=output, path=path, actor=actor, now=now,
            )  # fmt: skip
            if item.document_id is not None:
                document = s.get(Document, item.document_id)
                assert document is not None
                document.template_name = output.template
                document.template_version = output.template_version
                document.template_hash = output.template_hash
                document.pdf_sha256 = output.pdf_sha256
                document.storage_path = path
    except BaseException:
        storage.remove(path)
        raise
    return len(output.pdf)
