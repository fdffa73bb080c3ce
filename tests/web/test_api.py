"""The JSON API: tokens, error bodies, expected_version on every change, pagination, a whole case."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from bargaining.rules.periods import legal_date
from services import runtime

from .harness import WebWorld, app_routes

LISTS = {  # every API list, with its route
    "/api/cases": "/api/cases",
    "/api/deadlines": "/api/deadlines",
    "/api/cases/{ref}/deadlines": "/api/cases/{case}/deadlines",
    "/api/cases/{ref}/timeline": "/api/cases/{case}/timeline",
}
SINGLE = {"/api/me", "/api/cases/{ref}", "/api/cases/{ref}/diagram"}  # GETs that return one object


def _error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    if code is not None:
        assert error["code"] == code, error
    return error


# ---- tokens -----------------------------------------------------------------------------------------


def test_token_authenticates_a_program(sqlite_web: WebWorld) -> None:
    client = sqlite_web.client()
    me = client.get("/api/me", headers=sqlite_web.bearer("zhang"))
    assert me.status_code == 200
    assert me.json() == {
        "username": "zhang",
        "name": "张指导员",
        "roles": ["instructor"],
        "org": "测试街道总工会",
    }
    assert "set-cookie" not in me.headers  # a program gets no session


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer ", "Bearer bgt_not-a-token", "Basic emhhbmc6cGFzc3dvcmQ=", "bgt_xyz"],
)
def test_missing_or_bad_token_is_401_with_the_error_body(sqlite_web: WebWorld, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    error = _error(sqlite_web.client().get("/api/cases", headers=headers), 401, "not_signed_in")
    assert "令牌" in error["message"] or "登录" in error["message"]


def test_a_token_of_another_secret_does_not_work(sqlite_web: WebWorld) -> None:
    """Tokens are stored as an HMAC under the server's secret: a new secret voids them all."""
    from dataclasses import replace

    from services.web.app import create_app

    headers = sqlite_web.bearer("zhang")
    app = create_app(
        replace(sqlite_web.settings, secret_key="another-" + "y" * 40), sqlite_web.db, scheduler=False
    )
    assert sqlite_web.client(app=app).get("/api/me", headers=headers).status_code == 401
    assert sqlite_web.client().get("/api/me", headers=headers).status_code == 200


# ---- error bodies -----------------------------------------------------------------------------------


def test_error_bodies_for_404_409_422_and_unknown_routes(web: WebWorld) -> None:
    client = web.client()
    token = web.bearer("zhang")
    _error(client.get("/api/cases/999999", headers=token), 404, "not_found")
    _error(client.get("/api/no-such-thing", headers=token), 404)
    not_allowed = client.delete(f"/api/cases/{web.case_id}", headers=token)
    _error(not_allowed, 405)
    assert not_allowed.headers["allow"] == "GET"  # RFC 9110: a 405 says what is allowed
    stale = _error(
        client.post(
            f"/api/cases/{web.case_id}/actions/record_round",
            json={"expected_version": web.version() - 1, "values": {"chair_side": "worker", "minutes": "x"}},
            headers=token,
        ),
        409,
        "conflict",
    )
    assert stale["details"] == {"current_version": web.version()}
    refused = _error(
        client.post(
            f"/api/cases/{web.case_id}/actions/send_offer",
            json={"expected_version": web.version(), "values": {}},
            headers=token,
        ),
        409,
        "transition_refused",
    )
    assert refused["details"]["reasons"] and "当前阶段" in refused["details"]["reasons"][0]
    invalid = _error(
        client.post(f"/api/cases/{web.case_id}/representatives", json={"side": "worker"}, headers=token),
        422,
        "invalid_request",
    )
    where = {p["where"] for p in invalid["details"]["problems"]}
    assert {"body.expected_version", "body.name"} <= where
    business = _error(
        client.post(
            f"/api/cases/{web.case_id}/actions/record_round",
            json={"expected_version": web.version(), "values": {"chair_side": "nobody", "minutes": "x"}},
            headers=token,
        ),
        422,
        "invalid",
    )
    assert business["details"] == {"field": "chair_side"} and "主持方" in business["message"]
    _error(client.get("/api/cases", params={"limit": 0}, headers=token), 422, "invalid_request")
    _error(
        client.post(
            "/api/cases", content=b"{not json", headers={**token, "content-type": "application/json"}
        ),
        422,
    )


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/api/cases/a%00b", {}),
        ("GET", "/api/cases/99999999999999999999999", {}),
        ("GET", "/api/cases", {"params": {"q": "a\x00b"}}),
        ("GET", "/api/cases", {"params": {"stage": "a\x00b"}}),
        ("POST", "/api/cases", {"json": {"kind": "enterprise", "enterprise": "9\x00"}}),
        (
            "POST",
            "/api/cases/{case}/representatives",
            {"json": {"expected_version": 1, "side": "worker", "name": "\x00"}},
        ),
    ],
)
def test_unusable_input_is_a_client_error_not_a_500(
    web: WebWorld, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    """NUL bytes (PostgreSQL cannot store them) and ids beyond the integer range are the client's error."""
    response = web.client().request(
        method, path.format(case=web.case_id), headers=web.bearer("zhang"), **kwargs
    )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        _error(response, response.status_code)


def test_unusable_input_on_pages_and_sign_in_is_a_client_error(web: WebWorld) -> None:
    client, _ = web.signed_in("zhang")
    for path in ("/cases/99999999999999999999999", "/inbox?q=a%00b", "/cases/a%00b"):
        assert client.get(path).status_code < 500, path
    anonymous = web.client()
    from .harness import csrf_of

    token = csrf_of(anonymous.get("/login").text)
    response = anonymous.post("/login", data={"username": "zh\x00ang", "password": "x", "csrf_token": token})
    assert 400 <= response.status_code < 500 and "服务器内部错误" not in response.text


@pytest.mark.parametrize("tables", ["abc", [{"name": "x", "unit": "y", "rows": [1], "periods": [1]}]])
def test_malformed_rate_tables_are_refused_as_422(sqlite_web: WebWorld, tables: Any) -> None:
    response = sqlite_web.client().put(
        f"/api/cases/{sqlite_web.case_id}/agreement",
        json={"expected_version": sqlite_web.version(), "terms": {"rate_tables": tables}},
        headers=sqlite_web.bearer("zhang"),
    )
    _error(response, 422)


# ---- expected_version -------------------------------------------------------------------------------


CHANGES = {
    ("POST", "/api/cases/{ref}/actions/{trigger}"): (
        "/api/cases/{case}/actions/record_round",
        {"values": {"chair_side": "worker", "minutes": "纪要"}},
    ),
    ("POST", "/api/cases/{ref}/representatives"): (
        "/api/cases/{case}/representatives",
        {"side": "worker", "name": "吴十"},
    ),
    ("PUT", "/api/cases/{ref}/agreement"): ("/api/cases/{case}/agreement", {"terms": {"payment_day": 8}}),
}


def test_every_change_to_a_case_is_covered_here(sqlite_web: WebWorld) -> None:
    changes = {
        (m, p) for m, p in app_routes(sqlite_web.app) if p.startswith("/api/cases/{ref}") and m != "GET"
    }
    assert changes == set(CHANGES)


def test_changes_require_expected_version_and_a_stale_one_is_409(web: WebWorld) -> None:
    client = web.client()
    token = web.bearer("zhang")
    for (method, _route), (path, body) in sorted(CHANGES.items()):
        url = path.format(case=web.case_id)
        before = web.snapshot()
        missing = _error(client.request(method, url, json=body, headers=token), 422, "invalid_request")
        assert "body.expected_version" in {p["where"] for p in missing["details"]["problems"]}
        for wrong in (0, "abc", None):
            _error(client.request(method, url, json={**body, "expected_version": wrong}, headers=token), 422)
        current = web.version()
        for seen in (current - 1, current + 1):
            stale = _error(
                client.request(method, url, json={**body, "expected_version": seen}, headers=token),
                409,
                "conflict",
            )
            assert f"当前版本 {current}" in stale["message"] and "已被他人修改" in stale["message"]
        assert web.snapshot() == before, url
        ok = client.request(method, url, json={**body, "expected_version": current}, headers=token)
        assert ok.status_code == 200, ok.text
        assert ok.json()["version"] == web.version() > current
        # the same request again is now stale: the second of two concurrent editors gets a 409
        again = client.request(method, url, json={**body, "expected_version": current}, headers=token)
        _error(again, 409, "conflict")


def test_the_schema_requires_expected_version_on_every_change(sqlite_web: WebWorld) -> None:
    schema = sqlite_web.client().get("/openapi.json").json()
    components = schema["components"]["schemas"]
    checked = 0
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/cases/{ref}"):
            continue
        for method, operation in operations.items():
            if method == "get":
                continue
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            model = components[ref.rsplit("/", 1)[1]]
            assert "expected_version" in model["required"], (method, path)
            checked += 1
    assert checked == len(CHANGES)


# ---- pagination -------------------------------------------------------------------------------------


def test_every_api_list_is_covered_here(sqlite_web: WebWorld) -> None:
    gets = {p for m, p in app_routes(sqlite_web.app) if m == "GET" and p.startswith("/api")}
    assert gets == set(LISTS) | SINGLE


@pytest.fixture
def paged(web: WebWorld) -> tuple[WebWorld, int]:
    """More rows: a case filed for review (three deadlines) and two with an offer out (open deadlines)."""
    from services import cases as uc
    from tests.support import walk

    ids = [
        uc.create_case(web.db, web.world.instructor, kind="enterprise", enterprise=code)["id"]
        for code in web.world.tea_codes
    ]
    walk(web.world, ids[0], "under_review")
    for case_id in ids[1:]:
        walk(web.world, case_id, "offer_sent")
    return web, ids[0]


def test_every_list_is_paged(paged: tuple[WebWorld, int]) -> None:
    web, filed = paged
    for route in sorted(LISTS):
        _check_paging(web, LISTS[route].format(case=filed))


def _check_paging(web: WebWorld, url: str) -> None:
    client = web.client()
    token = web.bearer("admin")
    full = client.get(url, params={"limit": 200}, headers=token)
    assert full.status_code == 200
    body = full.json()
    assert set(body) - {"total_capped"} == {"total", "limit", "offset", "items"}
    assert not body.get("total_capped")  # a few rows: the total is exact
    assert (body["limit"], body["offset"]) == (200, 0)
    total = body["total"]
    assert total == len(body["items"]) >= 3, (url, body)  # enough rows for paging to mean something
    default = client.get(url, headers=token).json()
    assert default["limit"] == 50 and default["offset"] == 0
    one_by_one = []
    for offset in range(total):
        page = client.get(url, params={"limit": 1, "offset": offset}, headers=token).json()
        assert (page["total"], page["limit"], page["offset"]) == (total, 1, offset)
        assert len(page["items"]) == 1
        one_by_one += page["items"]
    assert one_by_one == body["items"]  # a stable order: the pages add up to the whole list
    two = client.get(url, params={"limit": 2, "offset": 1}, headers=token).json()
    assert two["items"] == body["items"][1:3]
    past = client.get(url, params={"limit": 5, "offset": total}, headers=token).json()
    assert past["items"] == [] and past["total"] == total
    for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"limit": "x"}):
        _error(client.get(url, params=bad, headers=token), 422, "invalid_request")


# ---- a whole case through the API -------------------------------------------------------------------


def test_create_a_case_and_fire_it_through_to_in_force(web: WebWorld) -> None:
    client = web.client()
    staff = web.bearer("zhang")
    reviewer = web.bearer("rev")
    code = web.world.tea_codes[1]
    created = client.post("/api/cases", json={"kind": "enterprise", "enterprise": code}, headers=staff)
    assert created.status_code == 201, created.text
    case = created.json()
    assert case["state"] == "preparation" and case["version"] == 1
    ref = case["number"]  # by number this time
    version = case["version"]

    def call(method: str, path: str, body: dict[str, Any], headers: dict[str, str] = staff) -> dict[str, Any]:
        nonlocal version
        response = client.request(
            method, f"/api/cases/{ref}{path}", json={**body, "expected_version": version}, headers=headers
        )
        assert response.status_code == 200, (path, response.text)
        data = response.json()
        assert data["version"] > version
        version = data["version"]
        return data

    def fire(trigger: str, headers: dict[str, str] = staff, **values: Any) -> dict[str, Any]:
        return call("POST", f"/actions/{trigger}", {"values": values}, headers)

    for side in ("worker", "employer"):
        for k in range(3):
            call(
                "POST",
                "/representatives",
                {
                    "side": side,
                    "name": f"{side}{k}",
                    "person_key": f"{side}-{k}",
                    "chief": k == 0,
                    "front_line": side == "worker" and k > 0,
                },
            )
    assert fire("send_offer", from_side="worker", subjects="年度工资调整")["state"] == "offer_sent"
    assert fire("record_response")["state"] == "negotiating"
    fire("record_round", chair_side="worker", minutes="第一次协商")
    today = legal_date(runtime.utcnow())
    terms = {
        "term_start": today.isoformat(),
        "term_end": (date(today.year + 1, today.month, today.day) - timedelta(days=1)).isoformat(),
        "avg_wage_before": "5000",
        "avg_wage_after": "5400",
        "payment_day": 15,
        "clauses": [{"title": "工资增长", "text": "职工平均工资增长8%。"}],
    }
    assert call("PUT", "/agreement", {"terms": terms})["text_hash"]
    assert fire("submit_draft")["state"] == "awaiting_congress"
    voted = fire("record_congress_vote", total=60, present=50, votes_for=45, against=3, abstain=2)
    assert voted["state"] == "awaiting_signature" and voted["from_state"] == "awaiting_congress"
    assert fire("sign")["state"] == "signed"
    assert fire("file_for_review", authority="人社局", copies=3)["state"] == "under_review"
    # the instructor could record the opinion too; here the labour administration's reviewer does
    done = fire("record_review_opinion", reviewer, has_objections=False, opinion="合法有效")
    assert done["state"] == "in_force" and done["state_label"] == "生效"

    detail = client.get(f"/api/cases/{ref}", headers=staff).json()
    assert detail["state"] == "in_force" and detail["version"] == version
    triggers = [e["trigger"] for e in detail["timeline"]]
    assert triggers[0] == "create" and triggers[-1] == "record_review_opinion"
    for t in (
        "send_offer",
        "record_response",
        "record_round",
        "submit_draft",
        "record_congress_vote",
        "sign",
        "file_for_review",
    ):
        assert t in triggers
    assert detail["agreement"]["in_force_on"] == today.isoformat()
    listed = client.get("/api/cases", params={"stage": "in_force", "q": ref}, headers=staff).json()
    assert [c["number"] for c in listed["items"]] == [ref]
    diagram = client.get(f"/api/cases/{ref}/diagram", headers=staff).json()
    assert (
        diagram["state"] == "in_force" and diagram["format"] == "mermaid" and "in_force" in diagram["diagram"]
    )


def test_a_case_cannot_be_given_an_instructor_from_outside_its_region(sqlite_web: WebWorld) -> None:
    response = sqlite_web.client().post(
        "/api/cases",
        json={"kind": "enterprise", "enterprise": sqlite_web.world.tea_codes[0], "instructor": "li"},
        headers=sqlite_web.bearer("zhang"),
    )
    _error(response, 422)


def test_digits_that_are_not_ascii_are_a_client_error_on_forms(sqlite_web: WebWorld) -> None:
    """'¹'.isdigit() is True but int('¹') fails: forms must not turn it into a 500."""
    w = sqlite_web
    client, csrf = w.signed_in("zhang")
    terms = client.post(
        f"/cases/{w.case_id}/terms", data={"payment_day": "9", "expected_version": "¹", "csrf_token": csrf}
    )
    assert terms.status_code < 500
    rates = client.post(f"/cases/{w.case_id}/rates/¹", data={"name": "x", "csrf_token": csrf})
    assert rates.status_code < 500


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/cases/%C2%B9", None),
        ("POST", "/api/cases", {"kind": "enterprise", "enterprise": "¹"}),
    ],
)
def test_digits_that_are_not_ascii_are_a_client_error_in_refs(
    sqlite_web: WebWorld, method: str, path: str, body: Any
) -> None:
    response = sqlite_web.client().request(method, path, json=body, headers=sqlite_web.bearer("zhang"))
    _error(response, 404)
