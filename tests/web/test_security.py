"""CSRF on every form and on the cookie-authenticated API, security headers, the production secret."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bargaining.config import DEVELOPMENT_SECRET, Settings
from bargaining.errors import ValidationError
from bargaining.rules.periods import legal_date
from services import runtime
from services.web.app import create_app

from .harness import PASSWORD, AuditPages, WebWorld, add_audit_world, app_routes, csrf_of

ROOT = Path(__file__).resolve().parents[2]


# ---- CSRF on forms ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormPost:
    url: Callable[[WebWorld], str]
    data: Callable[[WebWorld], dict[str, Any]]
    files: Callable[[WebWorld], dict[str, Any]] | None = None  # multipart upload
    control: int = 303  # the answer with the right token
    writes: bool = True  # and whether that answer changed something
    audit: bool = False  # needs the audit pages' world (harness.add_audit_world)


def _xlsx(w: WebWorld) -> dict[str, Any]:
    from services.rate_tables import export_xlsx

    from .harness import RATE_TABLE

    data = export_xlsx({**RATE_TABLE, "name": "导入表", "currency": "CNY", "notes": None})
    return {"file": ("rates.xlsx", data, "application/octet-stream")}


def _pdf(w: WebWorld) -> dict[str, Any]:
    from .harness import sample_pdf

    return {"file": ("scan.pdf", sample_pdf(), "application/pdf")}


# One valid submission per form route, as the federation admin (who may submit every one of them).
FORM_POSTS: dict[str, FormPost] = {
    "/logout": FormPost(lambda w: "/logout", lambda w: {}),
    "/inbox/reassign": FormPost(
        lambda w: "/inbox/reassign", lambda w: {"case": str(w.case_id), "instructor": "zhang"}
    ),
    "/cases/new": FormPost(
        lambda w: "/cases/new", lambda w: {"kind": "enterprise", "enterprise": w.world.tea_codes[0]}
    ),
    "/cases/{ref}/actions/{trigger}": FormPost(
        lambda w: f"/cases/{w.case_id}/actions/record_round",
        lambda w: {"chair_side": "worker", "minutes": "第二次协商", "expected_version": str(w.version())},
    ),
    "/cases/{ref}/representatives": FormPost(
        lambda w: f"/cases/{w.case_id}/representatives",
        lambda w: {"side": "worker", "name": "赵六", "expected_version": str(w.version())},
    ),
    "/cases/{ref}/terms": FormPost(
        lambda w: f"/cases/{w.case_id}/terms",
        lambda w: {"payment_day": "20", "expected_version": str(w.version())},
    ),
    "/cases/{ref}/scans": FormPost(
        lambda w: f"/cases/{w.case_id}/scans", lambda w: {"kind": "offer_letter"}, files=_pdf
    ),
    # not awaiting signature: the right token reaches the business refusal, nothing written
    "/cases/{ref}/sign-pdf": FormPost(
        lambda w: f"/cases/{w.case_id}/sign-pdf", lambda w: {}, control=409, writes=False
    ),
    "/verify": FormPost(lambda w: "/verify", lambda w: {}, files=_pdf, control=200, writes=False),
    "/cases/{ref}/coverage": FormPost(
        lambda w: f"/cases/{w.sector_case_id}/coverage", lambda w: {"codes": w.world.tea_codes[1]}
    ),
    # the sector case is not in force: the right token reaches the business refusal, nothing written
    "/cases/{ref}/adoptions": FormPost(
        lambda w: f"/cases/{w.sector_case_id}/adoptions", lambda w: {}, control=422, writes=False
    ),
    "/cases/{ref}/rates/import": FormPost(
        lambda w: f"/cases/{w.case_id}/rates/import", lambda w: {}, files=_xlsx
    ),
    "/cases/{ref}/rates/{index}": FormPost(
        lambda w: f"/cases/{w.case_id}/rates/0",
        lambda w: {
            "name": "茶叶采摘计件单价表",
            "unit": "斤",
            "row_code__0": "BUD",
            "quota__0": "3.5",
            "period_code__0": "P01",
            "period_start__0": "2026-03-10",
            "period_end__0": "2026-03-16",
            "cell__0__0": "44",
        },
    ),
}


def _a(w: WebWorld) -> AuditPages:
    assert w.audit is not None
    return w.audit


def _new_campaign(w: WebWorld) -> dict[str, Any]:
    start = legal_date(runtime.utcnow()) + timedelta(days=30)  # the pages run on the real clock
    return {
        "title": "页面新建的专项抽查",
        "legal_basis": "《浙江省工会劳动法律监督条例》第九条",
        "org": "street",
        "kinds": "enterprise",
        "min_months": "6",
        "dimensions": "region",
        "method": "proportional",
        "sample_size": "1",
        "inspectors": ["aud", "aud2"],
        "start_on": start.isoformat(),
        "reminder_days": "3",
        "fieldwork_start": start.isoformat(),
        "fieldwork_end": (start + timedelta(days=30)).isoformat(),
        "report_due": (start + timedelta(days=45)).isoformat(),
    }


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"

# The audit pages' forms, as the city's federation admin on the street's campaign (harness.AuditPages).
FORM_POSTS.update(
    {
        "/audits/new": FormPost(lambda w: "/audits/new", _new_campaign, audit=True),
        "/audits/campaigns/{ref}/{step}": FormPost(
            lambda w: f"/audits/campaigns/{_a(w).draft_id}/freeze", lambda w: {}, audit=True
        ),
        "/audits/cases/{ref}/actions/{trigger}": FormPost(
            lambda w: f"/audits/cases/{_a(w).planned['admin']}/actions/notify",
            lambda w: {"method": "written"},
            audit=True,
        ),
        "/audits/cases/{ref}/answers": FormPost(
            lambda w: f"/audits/cases/{_a(w).planned['admin']}/answers",
            lambda w: {"answer_pay_day": "compliant"},
            audit=True,
        ),
        "/audits/cases/{ref}/findings": FormPost(
            lambda w: f"/audits/cases/{_a(w).inspected_id}/findings",
            lambda w: {
                "item_code": "no_arrears",
                "description": "又查出少发工资",
                "row1_workers": "1",
                "row1_months": "1",
                "row1_due": "5000",
                "row1_paid": "4500",
            },
            audit=True,
        ),
        "/audits/cases/{ref}/findings/{finding_id}/recovery": FormPost(
            lambda w: f"/audits/cases/{_a(w).inspected_id}/findings/{_a(w).finding_id}/recovery",
            lambda w: {"amount": "1500"},
            audit=True,
        ),
        "/audits/cases/{ref}/rectifications": FormPost(
            lambda w: f"/audits/cases/{_a(w).rectifying_id}/rectifications",
            lambda w: {
                "finding_id": str(_a(w).rectifying_finding_id),
                "action": "建立工资支付台账",
                "owner": "财务经理",
                "due": "2099-12-31",
                "required_evidence": "工资支付台账",
            },
            audit=True,
        ),
        "/audits/cases/{ref}/rectifications/{item_id}/{step}": FormPost(
            lambda w: (
                f"/audits/cases/{_a(w).rectifying_id}/rectifications/{_a(w).rectification['admin']}/submit"
            ),
            lambda w: {"note": "已按期支付"},
            audit=True,
        ),
        "/audits/cases/{ref}/evidence": FormPost(
            lambda w: f"/audits/cases/{_a(w).rectifying_id}/evidence",
            lambda w: {"note": "工资条"},
            files=lambda w: {"file": ("工资条.pdf", PDF, "application/pdf")},
            audit=True,
        ),
    }
)


def _form_routes(app: Any) -> set[str]:
    return {path for method, path in app_routes(app) if method == "POST" and not path.startswith("/api")}


def test_every_form_route_is_covered_here(sqlite_web: WebWorld) -> None:
    missing = _form_routes(sqlite_web.app) - set(FORM_POSTS) - {"/login"}
    assert not missing, f"form routes without a CSRF test: {sorted(missing)}"


@pytest.mark.parametrize("route", sorted(FORM_POSTS))
def test_form_refused_without_or_with_a_wrong_csrf_token_and_nothing_written(
    sqlite_web: WebWorld, route: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = sqlite_web
    if ("POST", route) not in app_routes(web.app):
        pytest.skip(f"{route} is not served by this version of the app")
    post = FORM_POSTS[route]
    storage = tmp_path / "storage"
    if post.audit:
        monkeypatch.setenv("BARGAINING_STORAGE_DIR", str(storage))
        add_audit_world(web)
    files_before = sorted(storage.rglob("*"))
    client, csrf = web.signed_in("admin")
    before = web.snapshot()
    for token in (None, "", "wrong-" + csrf[6:], csrf + "x"):
        data = post.data(web)
        if token is not None:
            data["csrf_token"] = token
        files = post.files(web) if post.files else None
        response = client.post(post.url(web), data=data, files=files)
        assert response.status_code == 403, (route, token, response.text[:300])
        assert "CSRF" in response.text
        assert web.snapshot() == before, (route, token)
        assert sorted(storage.rglob("*")) == files_before, (route, token)  # no file stored either
    assert client.get("/inbox").status_code == 200  # still signed in: /logout was refused too
    # the control: the same submission with the session's token goes through (and writes)
    files = post.files(web) if post.files else None
    response = client.post(post.url(web), data={**post.data(web), "csrf_token": csrf}, files=files)
    assert response.status_code == post.control, response.text[:500]
    assert (web.snapshot() != before) is post.writes


def _post_raw(
    app: Any, path: str, headers: list[tuple[bytes, bytes]], receive: Any
) -> tuple[list[int], bytes]:
    """POST straight into the ASGI app with the test's own ``receive`` (to count the body bytes the
    app asks for); the status of every response start, and the body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "state": {},
    }
    statuses: list[int] = []
    body = bytearray()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    with ThreadPoolExecutor(1) as thread:  # a loop of its own (Playwright's may run in this thread)
        thread.submit(asyncio.run, app(scope, receive, send)).result()
    return statuses, bytes(body)


@pytest.mark.parametrize("path", ["/verify", "/cases/1/scans", "/cases/1/terms", "/inbox/reassign"])
def test_an_unknown_sender_is_refused_before_the_body_is_read(sqlite_web: WebWorld, path: str) -> None:
    """A form or upload from someone not signed in (a made-up session cookie) is refused before the
    worker reads or spools a byte of its body. (Not /api/verify: FastAPI reads a declared upload
    before any dependency or handler runs.)"""
    body = b"x" * (2 * 1024 * 1024)
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        if chunks:
            chunk = chunks.pop(0)
            received += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
        return {"type": "http.disconnect"}

    headers = [
        (b"content-type", b"multipart/form-data; boundary=xyz"),
        (b"content-length", str(len(body)).encode()),
        (b"cookie", b"bargaining_session=made-up"),
    ]
    status, _ = _post_raw(sqlite_web.app, path, headers, receive)
    assert status == [303]  # to the sign-in page
    assert received == 0, f"{received:,} bytes read from an unknown sender"


def test_a_sign_in_body_over_its_limit_is_refused_as_it_streams(sqlite_web: WebWorld) -> None:
    """The sign-in form is read before anyone is known. With no Content-Length (chunked) its body is
    counted as it arrives and refused (413, in Chinese) once past 64 KiB, not read to its end."""
    limit = 64 * 1024
    chunk = b"x" * (16 * 1024)
    sent = 0
    # A file part that never ends (the form parser's own 1 MB limit is for text fields).
    head = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n'

    async def receive() -> dict[str, Any]:
        nonlocal sent
        body = head + chunk if sent == 0 else chunk
        sent += len(body)
        return {"type": "http.request", "body": body, "more_body": sent < 4 * limit}

    headers = [(b"content-type", b"multipart/form-data; boundary=xyz")]
    status, answer = _post_raw(sqlite_web.app, "/login", headers, receive)
    assert status == [413], answer[:300]
    assert "提交的内容过大" in answer.decode()
    assert sent <= limit + len(head) + len(chunk), f"{sent:,} bytes read past the {limit:,}-byte limit"


def test_login_form_refused_without_the_pre_sign_in_token(sqlite_web: WebWorld) -> None:
    web = sqlite_web
    client = web.client()
    form = client.get("/login")
    good = csrf_of(form.text)
    before = web.snapshot()
    for token in (None, "wrong", good + "x"):
        data = {"username": "zhang", "password": PASSWORD, "next": "/"}
        if token is not None:
            data["csrf_token"] = token
        response = client.post("/login", data=data)
        assert response.status_code == 403
        assert "表单已失效" in response.text
        assert "bargaining_session" not in client.cookies
        assert web.snapshot() == before  # no attempt recorded, no session opened
    # a token that matches no cookie (a forged cross-site form) is refused as well
    other = web.client()
    forged = other.post("/login", data={"username": "zhang", "password": PASSWORD, "csrf_token": good})
    assert forged.status_code == 403
    assert web.snapshot() == before
    assert (
        client.post(
            "/login", data={"username": "zhang", "password": PASSWORD, "csrf_token": good}
        ).status_code
        == 303
    )


# ---- CSRF on the API --------------------------------------------------------------------------------


API_CHANGES: dict[tuple[str, str], Callable[[WebWorld], tuple[str, dict[str, Any]]]] = {
    ("POST", "/api/cases"): lambda w: (
        "/api/cases",
        {"kind": "enterprise", "enterprise": w.world.tea_codes[2]},
    ),
    ("POST", "/api/cases/{ref}/actions/{trigger}"): lambda w: (
        f"/api/cases/{w.case_id}/actions/record_round",
        {"expected_version": w.version(), "values": {"chair_side": "worker", "minutes": "纪要"}},
    ),
    ("POST", "/api/cases/{ref}/representatives"): lambda w: (
        f"/api/cases/{w.case_id}/representatives",
        {"expected_version": w.version(), "side": "employer", "name": "钱七"},
    ),
    ("PUT", "/api/cases/{ref}/agreement"): lambda w: (
        f"/api/cases/{w.case_id}/agreement",
        {"expected_version": w.version(), "terms": {"payment_day": 10}},
    ),
}


def _unsafe_api_routes(app: Any) -> set[tuple[str, str]]:
    return {
        (method, path)
        for method, path in app_routes(app)
        if path.startswith("/api") and method not in ("GET", "HEAD", "OPTIONS", "MOUNT")
    } - READ_ONLY_UPLOADS


# POST only because they take a file; they change nothing. test_verify_upload_needs_the_csrf_header
READ_ONLY_UPLOADS = {("POST", "/api/verify")}


def test_verify_upload_needs_the_csrf_header(sqlite_web: WebWorld) -> None:
    from .harness import sample_pdf

    client, csrf = sqlite_web.signed_in("zhang")
    files = {"file": ("x.pdf", sample_pdf(), "application/pdf")}
    refused = client.post("/api/verify", files=files)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"
    ok = client.post("/api/verify", files=files, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["signatures"] == []


def test_every_unsafe_api_route_is_covered_here(sqlite_web: WebWorld) -> None:
    assert _unsafe_api_routes(sqlite_web.app) == set(API_CHANGES)


@pytest.mark.parametrize("route", sorted(API_CHANGES), ids=lambda r: f"{r[0]} {r[1]}")
def test_cookie_api_needs_the_csrf_header_token_api_does_not(
    sqlite_web: WebWorld, route: tuple[str, str]
) -> None:
    web = sqlite_web
    method = route[0]
    client, csrf = web.signed_in("zhang")
    before = web.snapshot()
    for header in (None, "", "wrong", csrf + "x"):
        url, body = API_CHANGES[route](web)
        headers = {} if header is None else {"X-CSRF-Token": header}
        response = client.request(method, url, json=body, headers=headers)
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "csrf"
        assert web.snapshot() == before
    url, body = API_CHANGES[route](web)
    ok = client.request(method, url, json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code in (200, 201), ok.text
    # a program with a token needs no CSRF header (and sends no cookie)
    url, body = API_CHANGES[route](web)
    if method == "POST" and url == "/api/cases":
        body = {"kind": "sector", "sector": "tea"}
    program = web.client().request(method, url, json=body, headers=web.bearer("zhang"))
    assert program.status_code in (200, 201), program.text
    # safe methods with the cookie need no header
    assert client.get("/api/me").status_code == 200


# ---- security headers -------------------------------------------------------------------------------


def _check_headers(response: Any, where: str) -> None:
    h = response.headers
    csp = h.get("content-security-policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", where
    assert "default-src" in directives and "'self'" in directives["default-src"], where
    assert "unsafe-inline" not in directives.get("script-src", ""), where
    assert h.get("x-content-type-options") == "nosniff", where
    assert h.get("x-frame-options") == "DENY", where
    assert h.get("referrer-policy") in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"), (
        where
    )


def test_security_headers_on_pages_api_errors_redirects_and_static(sqlite_web: WebWorld) -> None:
    w = sqlite_web
    anonymous = w.client()
    client, _ = w.signed_in("zhang")
    token = w.bearer("zhang")
    responses = {
        "login page": anonymous.get("/login"),
        "redirect to sign-in": anonymous.get("/inbox"),
        "refused login form": anonymous.post("/login", data={"username": "x"}),
        "inbox": client.get("/inbox"),
        "case page": client.get(f"/cases/{w.case_id}"),
        "page 404": client.get("/cases/999999"),
        "unknown page": client.get("/no-such-page"),
        "api": anonymous.get("/api/me", headers=token),
        "api 401": anonymous.get("/api/me"),
        "api 404": anonymous.get("/api/cases/999999", headers=token),
        "api 422": anonymous.post(f"/api/cases/{w.case_id}/representatives", json={}, headers=token),
        "api csrf 403": client.post("/api/cases", json={}),
        "openapi": anonymous.get("/openapi.json"),
        "static": anonymous.get("/static/app.css"),
        "healthz": anonymous.get("/healthz"),
    }
    for where, response in responses.items():
        assert response.status_code < 500, where
        _check_headers(response, where)
    assert responses["inbox"].headers.get("cache-control") == "no-store"
    assert responses["api"].headers.get("cache-control") == "no-store"
    for where, response in responses.items():  # set once, not beside a value of the response's own
        for name in ("content-security-policy", "x-frame-options", "x-request-id"):
            assert len(response.headers.get_list(name)) == 1, (where, name)
    echoed = anonymous.get("/api/me", headers={**token, "X-Request-Id": "trace-42"})
    assert echoed.headers["x-request-id"] == "trace-42"  # a caller's request id comes back


def test_security_headers_on_an_internal_error(sqlite_web: WebWorld) -> None:
    app = create_app(sqlite_web.settings, sqlite_web.db, scheduler=False)

    def boom() -> None:
        raise RuntimeError("kaput")

    app.add_api_route("/api/boom", boom)
    app.add_api_route("/boom", boom)
    client = sqlite_web.client(app=app)
    api = client.get("/api/boom")
    page = client.get("/boom")
    assert api.status_code == page.status_code == 500
    assert api.json()["error"]["code"] == "internal_error"
    assert "kaput" not in api.text and "kaput" not in page.text  # no internals shown
    _check_headers(api, "api 500")
    _check_headers(page, "page 500")


# ---- the production secret ---------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["production", "staging"])
@pytest.mark.parametrize("secret", [DEVELOPMENT_SECRET, "short-secret", "x" * 31])
def test_create_app_refuses_a_default_or_weak_secret_outside_development(
    sqlite_web: WebWorld, environment: str, secret: str
) -> None:
    settings = replace(sqlite_web.settings, environment=environment, secret_key=secret)
    with pytest.raises(ValidationError, match="BARGAINING_SECRET_KEY"):
        create_app(settings, sqlite_web.db, scheduler=False)


def test_create_app_starts_in_production_with_a_strong_secret(sqlite_web: WebWorld) -> None:
    settings: Settings = replace(sqlite_web.settings, environment="production", secret_key="s" * 48)
    app = create_app(settings, sqlite_web.db, scheduler=False)
    assert sqlite_web.client(app=app).get("/healthz").json() == {"status": "ok"}


def test_development_may_use_the_default_secret(sqlite_web: WebWorld) -> None:
    settings = replace(sqlite_web.settings, environment="development", secret_key=DEVELOPMENT_SECRET)
    assert create_app(settings, sqlite_web.db, scheduler=False) is not None


@pytest.mark.parametrize("secret", [None, DEVELOPMENT_SECRET, "too-short"])
def test_cli_serve_refuses_production_without_a_real_secret(tmp_path: Path, secret: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARGAINING_")}
    env.update(BARGAINING_ENV="production", BARGAINING_DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3")
    if secret is not None:
        env["BARGAINING_SECRET_KEY"] = secret
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "serve", "--port", "1", "--no-scheduler"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误：") and "BARGAINING_SECRET_KEY" in lines[0]
    assert done.stdout == ""
