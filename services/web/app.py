"""The web application (local, read-only overview until sign-in arrives).

Sign-in, region-scoped pages and the write API are the web issue's work; until then the app
binds to 127.0.0.1 only (the CLI refuses other hosts) and shows the whole federation read-only.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from bargaining.actors import SYSTEM
from bargaining.errors import DomainError

from .. import runtime
from ..queries import case_detail, list_cases

app = FastAPI(title="工资集体协商流程引擎", version="0.1.0")


@app.exception_handler(DomainError)
async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": exc.code, "message": exc.message, "details": exc.details}},
        status_code=exc.http_status,
    )


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/cases")
def api_cases(
    state: str | None = None,
    kind: str | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    return list_cases(
        runtime.database(), SYSTEM, state=state, kind=kind, search=search, limit=limit, offset=max(0, offset)
    )


@app.get("/api/cases/{ref}")
def api_case(ref: str) -> dict[str, Any]:
    return case_detail(runtime.database(), SYSTEM, ref)


@app.get("/", response_class=HTMLResponse)
def index(state: str | None = None, offset: int = 0) -> str:
    data = list_cases(runtime.database(), SYSTEM, state=state, limit=50, offset=max(0, offset))
    rows = "".join(
        f"<tr><td><a href='/cases/{c['id']}'>{escape(c['number'])}</a></td><td>{escape(c['title'])}</td>"
        f"<td>{escape(c['state_label'])}</td><td>{c['next_due'] or ''}</td>"
        f"<td class='{_due_class(c['days_left'])}'>{'' if c['days_left'] is None else c['days_left']}</td></tr>"
        for c in data["items"]
    )
    nav = f"<a href='/?offset={offset + 50}'>下一页</a>" if offset + 50 < data["total"] else ""
    return _page(
        "协商一览",
        f"<p>共 {data['total']} 件</p><table><tr><th>编号</th><th>名称</th><th>阶段</th>"
        f"<th>下一期限</th><th>剩余天数</th></tr>{rows}</table>{nav}",
    )


@app.get("/cases/{ref}", response_class=HTMLResponse)
def case_page(ref: str) -> str:
    d = case_detail(runtime.database(), SYSTEM, ref)
    deadlines = "".join(
        f"<tr><td>{escape(x['label'])}</td><td>{x['due']}</td><td>{escape(x['status'])}</td>"
        f"<td>{escape(x['legal_basis'])}</td></tr>"
        for x in d["deadlines"]
    )
    events = "".join(
        f"<li>{escape(e['at'][:16])} {escape(e['actor'])}：{escape(e['label'])}"
        f"{'（' + escape(e['reason']) + '）' if e['reason'] else ''}</li>"
        for e in d["timeline"]
    )
    actions = "".join(
        f"<li>{escape(a['label'])}{'' if a['allowed'] else '：' + escape('；'.join(a['reasons']))}</li>"
        for a in d["actions"]
    )
    body = (
        f"<p>阶段：<strong>{escape(d['state_label'])}</strong>　规则：{escape(d['jurisdiction'])}</p>"
        f"<h2>期限</h2><table><tr><th>期限</th><th>到期</th><th>状态</th><th>依据</th></tr>{deadlines}</table>"
        f"<h2>下一步</h2><ul>{actions}</ul><h2>时间线</h2><ol>{events}</ol>"
        f"<h2>流程图</h2><pre>{escape(d['diagram'])}</pre>"
    )
    return _page(f"{d['number']} {d['title']}", body)


def _due_class(days: int | None) -> str:
    if days is None:
        return ""
    return "overdue" if days < 0 else "soon" if days <= 5 else ""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>body{{font-family:'Noto Sans CJK SC',sans-serif;margin:2em}}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}"
        ".overdue{background:#fecaca}.soon{background:#fde68a}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
