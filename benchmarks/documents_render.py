"""Rendering one document: our pipeline against bare WeasyPrint on the same HTML, same run.

    python benchmarks/documents_render.py [--repeat 12]

Two documents, each rendered ``--repeat`` times (after two warm-up rounds), alternating:

- a one-page letter (the 回应书 of a case);
- an agreement text with an 11-period × 30-row piece-rate table (工资专项集体合同).

"Ours" is ``services.documents.render_document(..., refresh=True)`` end to end: read the case in
a read-only transaction, build the context (minimum-wage checks of every cell included), Jinja2,
WeasyPrint through the restricted URL fetcher with the context attached as JSON, write the file
to the document store (fsync), record it in a second transaction. "Bare" is
``weasyprint.HTML(string=the same HTML).write_pdf()`` with WeasyPrint's defaults. The goal is
that our overhead is at most 10 % of bare WeasyPrint. Both wall-clock and CPU time are reported
(CPU time is the fairer figure on a busy machine); medians.

A third contender, for reference only (not the goal's baseline): "warm" is bare WeasyPrint given
one font configuration reused across calls, as our pipeline calls it (services/documents/pdf.py).
Our figure minus warm is what our own code adds around WeasyPrint: reading the case, building the
context, the attached JSON, the restricted URL fetcher, writing and fsyncing the file, recording.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from documents_bulk import TERMS, at, environment, federation, rate_table


def case_with_table(db: Any, world: dict[str, Any], code: str, rows: int) -> str:
    """An enterprise case with a ``rows``-row piece-rate table, through its response letter."""
    from services import cases as uc

    instructor = world["instructor"]
    number = uc.create_case(db, instructor, kind="enterprise", enterprise=code, now=at(date(2025, 11, 3)))[
        "number"
    ]
    names = {"worker": ["王芳", "赵磊", "孙丽"], "employer": ["李强", "周敏", "吴军"]}
    for side, people in names.items():
        for k, name in enumerate(people):
            uc.add_representative(db, instructor, number, side=side, name=name, person_key=f"{side}{k}", chief=k == 0, front_line=side == "worker" and k > 0, now=at(date(2025, 11, 3)))  # fmt: skip
    uc.fire_action(db, instructor, number, "send_offer", values={"from_side": "worker", "subjects": "年度工资调整幅度；劳动定额与计件单价"}, now=at(date(2025, 11, 3)))  # fmt: skip
    uc.fire_action(db, instructor, number, "record_response", values={"notes": "同意协商，确定首次协商会议时间。", "place": "企业三楼会议室"}, now=at(date(2025, 11, 10)))  # fmt: skip
    uc.set_agreement_terms(
        db, instructor, number, {**TERMS, "rate_tables": [rate_table(rows)]}, now=at(date(2025, 11, 11))
    )
    return number


def measure(label: str, ours: Any, bare: Any, warm: Any, repeat: int) -> dict[str, Any]:
    contenders = (("ours", ours), ("bare", bare), ("warm", warm))
    for _ in range(2):
        for _name, fn in contenders:
            fn()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name, _fn in contenders}
    sizes: dict[str, int] = {}
    for _ in range(repeat):
        for name, fn in contenders:
            wall, cpu = time.perf_counter(), time.process_time()
            pdf = fn()
            samples[name].append((time.perf_counter() - wall, time.process_time() - cpu))
            sizes[name] = len(pdf)
    result = {"label": label, "sizes": sizes}
    for name, values in samples.items():
        result[name] = (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=12)
    parser.add_argument("--rows", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the throw-away directory")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="bench-render-"))
    url = environment(directory)

    from bargaining.db import open_database
    from services import documents as docs
    from services.documents import pdf, rendering, templating
    from services.migrate import upgrade

    upgrade(url)
    db = open_database(url)
    world = federation(db, 2)
    number = case_with_table(db, world, world["codes"][0][0], args.rows)
    actor = world["instructor"]
    now = at(date(2025, 11, 12))

    def ours(kind: str) -> Any:
        return lambda: docs.render_document(db, actor, number, kind, refresh=True, now=now).pdf

    def html_of(kind: str) -> str:
        first = docs.render_document(db, actor, number, kind, now=now)

        from bargaining.models import DocumentRendering
        from services.uow import unit_of_work

        with unit_of_work(db, write=False) as uow:
            record = uow.session.get(DocumentRendering, first.rendering_id)
            assert record is not None
            return rendering.html_for(
                rendering.RenderJob("bench", record.kind, record.template_name, record.context)
            )

    base = templating.templates_dir()

    def bare(kind: str) -> Any:
        html = html_of(kind)
        return lambda: pdf.render_bare(html, base)

    def warm(kind: str) -> Any:
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration

        html, fonts = html_of(kind), FontConfiguration()
        url = base.resolve().as_uri() + "/"
        return lambda: weasyprint.HTML(string=html, base_url=url).write_pdf(font_config=fonts)

    print(f"cpus: {os.cpu_count()}, load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results = [
        measure(
            "1-page letter (回应书)",
            ours("response_letter"),
            bare("response_letter"),
            warm("response_letter"),
            args.repeat,
        ),
        measure(
            f"agreement, 11 periods × {args.rows} rows (工资专项集体合同)",
            ours("agreement"),
            bare("agreement"),
            warm("agreement"),
            args.repeat,
        ),
    ]
    pages = {
        "response_letter": docs.render_document(db, actor, number, "response_letter", now=now).pages,
        "agreement": docs.render_document(db, actor, number, "agreement", now=now).pages,
    }
    print(f"\nPer document, median of {args.repeat} (goal: our overhead ≤ 10 % of bare WeasyPrint)")
    for r, kind in zip(results, ("response_letter", "agreement"), strict=True):
        (ow, oc), (bw, bc), (ww, wc) = r["ours"], r["bare"], r["warm"]
        print(f"  {r['label']}, {pages[kind]} page(s)")
        for name, (wall, cpu) in (("ours", r["ours"]), ("bare", r["bare"]), ("warm", r["warm"])):
            print(
                f"    {name}  {wall * 1000:7.0f} ms wall  {cpu * 1000:7.0f} ms CPU   {r['sizes'][name] / 1024:6.0f} KB"
            )

        def verdict(ours: float, bare: float) -> str:
            return "met" if ours <= 1.1 * bare else "NOT met"

        print(
            f"    overhead vs bare (the goal, ≤ 10 %): {100 * (ow / bw - 1):+.1f} % wall ({verdict(ow, bw)}),"
            f" {100 * (oc / bc - 1):+.1f} % CPU ({verdict(oc, bc)})"
        )
        print(
            f"    our own work around WeasyPrint (ours − warm): {(ow - ww) * 1000:+.0f} ms wall,"
            f" {(oc - wc) * 1000:+.0f} ms CPU = {100 * (ow - ww) / bw:+.1f} % / {100 * (oc - wc) / bc:+.1f} % of bare"
        )
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    db.dispose()
    if args.keep:
        print(f"kept: {directory}")
    else:
        import shutil

        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
