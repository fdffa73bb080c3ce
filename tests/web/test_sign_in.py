"""Sign-in, sessions, logout, disabling a user, throttling and password rehashing."""

from __future__ import annotations

import os
import subprocess
import sys
from http.cookies import SimpleCookie
from pathlib import Path

from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import func, select

from bargaining.models import ApiToken, LoginAttempt, User, WebSession
from services import runtime
from services.uow import unit_of_work
from services.web.security import PASSWORDS, revoke_user_sessions

from .harness import PASSWORD, WebWorld, csrf_of, sign_in

ROOT = Path(__file__).resolve().parents[2]
WRONG = "用户名或密码不正确。"


def _attempt(client, username: str, password: str):
    form = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text), "next": "/inbox"},
    )


def _session_cookie(response) -> SimpleCookie:
    headers = [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie"]
    session = [h for h in headers if h.startswith("bargaining_session=")]
    assert len(session) == 1, headers
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(session[0])
    return cookie


def _flags(response) -> dict[str, str]:
    raw = [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie"]
    line = next(h for h in raw if h.startswith("bargaining_session="))
    parts = [p.strip() for p in line.split(";")[1:]]
    return {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else "") for p in parts}


def test_wrong_password_and_unknown_user_get_the_same_answer(web: WebWorld) -> None:
    client = web.client()
    wrong = _attempt(client, "zhang", "not-the-password")
    unknown = _attempt(client, "nobody-here", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert WRONG in wrong.text and WRONG in unknown.text
    # the same page but for the typed username, so the answer does not tell who exists
    assert wrong.text.replace("zhang", "U") == unknown.text.replace("nobody-here", "U")
    assert "bargaining_session" not in client.cookies
    with unit_of_work(web.db, write=False) as uow:
        rows = list(uow.session.scalars(select(LoginAttempt).order_by(LoginAttempt.id)))
        assert [(r.username, r.success) for r in rows] == [("zhang", False), ("nobody-here", False)]
        assert uow.session.scalar(select(func.count()).select_from(WebSession)) == 0


def test_successful_sign_in_redirects_to_next_and_opens_a_session(web: WebWorld) -> None:
    client = web.client()
    response = _attempt(client, "zhang", PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/inbox"
    assert client.get("/inbox").status_code == 200
    with unit_of_work(web.db, write=False) as uow:
        session = uow.session.scalar(select(WebSession))
        assert session is not None and session.user_id == web.users["zhang"]
        # only a keyed hash of the cookie is stored
        assert client.cookies["bargaining_session"] not in (session.token_hash, session.csrf_token)


def test_sign_in_refuses_an_open_redirect(sqlite_web: WebWorld) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        client = sqlite_web.client()
        form = client.get("/login")
        response = client.post(
            "/login",
            data={
                "username": "zhang",
                "password": PASSWORD,
                "csrf_token": csrf_of(form.text),
                "next": target,
            },
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/"


def test_throttled_after_five_failures_even_with_the_right_password(web: WebWorld) -> None:
    client = web.client()
    for _ in range(5):
        assert _attempt(client, "zhang", "not-the-password").status_code == 401
    throttled = _attempt(client, "zhang", PASSWORD)
    assert throttled.status_code == 429
    assert "登录失败次数过多" in throttled.text
    assert "bargaining_session" not in client.cookies
    # another user from the same address is not locked out by zhang's failures
    assert _attempt(client, "li", PASSWORD).status_code == 303


def test_session_cookie_is_httponly_and_samesite_lax_not_secure_over_http(sqlite_web: WebWorld) -> None:
    response = _attempt(sqlite_web.client(), "zhang", PASSWORD)
    flags = _flags(response)
    assert "httponly" in flags
    assert flags["samesite"].lower() == "lax"
    assert flags["path"] == "/"
    assert "secure" not in flags


def test_session_cookie_is_secure_when_the_request_came_over_https(sqlite_web: WebWorld) -> None:
    client = sqlite_web.client(https=True)
    response = _attempt(client, "zhang", PASSWORD)
    flags = _flags(response)
    assert "secure" in flags and "httponly" in flags and flags["samesite"].lower() == "lax"
    assert client.get("/inbox").status_code == 200


def test_session_cookie_is_secure_when_the_setting_forces_it(sqlite_web: WebWorld) -> None:
    from dataclasses import replace

    from services.web.app import create_app

    app = create_app(replace(sqlite_web.settings, cookie_secure=True), sqlite_web.db, scheduler=False)
    client = sqlite_web.client(app=app)  # plain http to the app, as behind a TLS-terminating proxy
    form = client.get("/login")
    pre = [v for k, v in form.headers.multi_items() if k == "set-cookie" and v.startswith("bargaining_pre_")]
    assert len(pre) == 1 and "secure" in pre[0].lower()
    # the browser talks https to the proxy, so it does send the Secure pre-sign-in cookie back
    response = client.post(
        "/login",
        data={"username": "zhang", "password": PASSWORD, "csrf_token": csrf_of(form.text), "next": "/"},
        headers={"Cookie": pre[0].split(";")[0]},
    )
    assert response.status_code == 303
    flags = _flags(response)
    assert "secure" in flags and "httponly" in flags and flags["samesite"].lower() == "lax"


def test_cookie_secure_comes_from_the_environment(monkeypatch) -> None:
    from bargaining.config import load_settings

    monkeypatch.setenv("BARGAINING_COOKIE_SECURE", "1")
    assert load_settings().cookie_secure is True
    monkeypatch.setenv("BARGAINING_COOKIE_SECURE", "")
    assert load_settings().cookie_secure is False


def test_logout_ends_the_session_on_the_server(web: WebWorld) -> None:
    client, csrf = web.signed_in("zhang")
    cookie = client.cookies["bargaining_session"]
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    # the old cookie, replayed by someone who kept it, no longer works
    replay = web.client()
    replay.cookies.set("bargaining_session", cookie)
    page = replay.get("/inbox")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert replay.get("/api/me").status_code == 401
    with unit_of_work(web.db, write=False) as uow:
        row = uow.session.scalar(select(WebSession))
        assert row is not None and row.revoked_at is not None


def _disable(web: WebWorld, username: str) -> None:
    with unit_of_work(web.db) as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        assert user is not None
        user.active = False
        revoke_user_sessions(uow.session, user.id, runtime.utcnow())


def test_disabling_a_user_ends_sessions_and_api_tokens(web: WebWorld) -> None:
    client, _ = web.signed_in("zhang")
    headers = web.bearer("zhang")
    assert client.get("/inbox").status_code == 200
    assert web.client().get("/api/me", headers=headers).status_code == 200
    other, _ = web.signed_in("li")

    _disable(web, "zhang")

    assert client.get("/inbox").status_code == 303
    denied = web.client().get("/api/me", headers=headers)
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "not_signed_in"
    assert other.get("/inbox").status_code == 200  # nobody else is signed out
    # re-enabling does not bring the old session or token back
    with unit_of_work(web.db) as uow:
        user = uow.session.scalar(select(User).where(User.username == "zhang"))
        assert user is not None
        user.active = True
    assert client.get("/inbox").status_code == 303
    assert web.client().get("/api/me", headers=headers).status_code == 401
    # and a disabled user cannot sign in again
    _disable(web, "zhang")
    refused = _attempt(web.client(), "zhang", PASSWORD)
    assert refused.status_code == 401 and "已停用" in refused.text


def test_cli_user_disable_ends_sessions_and_tokens(web: WebWorld) -> None:
    client, _ = web.signed_in("zhang")
    headers = web.bearer("zhang")
    env = {**os.environ, "BARGAINING_DATABASE_URL": web.db.url, "BARGAINING_ENV": "test"}
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "user", "disable", "zhang"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "已停用 zhang" in done.stdout
    assert client.get("/inbox").status_code == 303
    assert web.client().get("/api/me", headers=headers).status_code == 401
    with unit_of_work(web.db, write=False) as uow:
        assert uow.session.scalar(select(func.count()).where(ApiToken.revoked_at.is_(None))) == 0


def test_a_weaker_hash_is_replaced_on_sign_in(web: WebWorld) -> None:
    weak = Argon2Hasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with unit_of_work(web.db) as uow:
        user = uow.session.scalar(select(User).where(User.username == "zhang"))
        assert user is not None
        user.password_hash = weak
    client = web.client()
    sign_in(client, "zhang")
    with unit_of_work(web.db, write=False) as uow:
        stored = uow.session.scalar(select(User.password_hash).where(User.username == "zhang"))
    assert stored is not None and stored != weak
    assert stored.startswith("$argon2id$") and "m=65536,t=3,p=4" in stored
    valid, updated = PASSWORDS.verify_and_update(PASSWORD, stored)
    assert valid and updated is None  # current parameters: no further rehash
    # and the rehashed password still signs in
    sign_in(web.client(), "zhang")
    with unit_of_work(web.db, write=False) as uow:
        assert uow.session.scalar(select(User.password_hash).where(User.username == "zhang")) == stored
