"""The access matrix: every route × role × inside/outside the case's region.

Inside users belong to the street federation of the cases (or the city above it); outside users to the
neighbouring street. For each route the expected status per role and side is written down here; the
test walks ``app`` routes, so a route added without a row here fails. On top of the status:

- no response to an outside user contains the street's case numbers, enterprise or federation names
  (and no response to a street user contains the neighbouring street's);
- inside users do see the case where a list or page should show it (so the leak check is not vacuous);
- every refusal (403/404) of a signed-in user writes one ``access_denied`` event (case_id NULL) naming
  the user, method and path; a request that is not refused writes none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from .harness import RATE_TABLE, ROLE_USERS, WebWorld, app_routes, csrf_of

STAFF = ("instructor", "federation_admin")
ROLES = ("instructor", "federation_admin", "reviewer", "auditor")
SIGN_IN = "SIGN_IN"  # anonymous page request: 303 to /login?next=…
UNAUTHORIZED = 401  # anonymous API request


@dataclass
class Who:
    username: str | None  # None: anonymous
    role: str | None
    inside: bool
    csrf: str = ""
    bearer: dict[str, str] | None = None
    client: Any = None


Request = tuple[str, str, dict[str, Any]]  # method, url, httpx keyword arguments
Expect = Callable[[str, bool], int]


@dataclass(frozen=True)
class Row:
    kind: str  # "public" | "page" | "api"
    request: Callable[[WebWorld, Who], Request]
    expect: Expect  # (role, inside) -> status for signed-in users
    shows_case: bool = False  # an inside user with 200 sees the street's enterprise case in the body
    last: bool = False  # run after every other row (logout)


def everyone(status: int) -> Expect:
    return lambda role, inside: status


def inside(status: int) -> Expect:
    """Any role inside the region; outside the case does not exist (404)."""
    return lambda role, inside_: status if inside_ else 404


def staff_change(ok: int) -> Expect:
    """A change only staff may make: others are refused by role whatever the region (403), staff
    outside the region do not find the case (404)."""
    return lambda role, inside_: (ok if inside_ else 404) if role in STAFF else 403


def inside_change(ok: int) -> Expect:
    """A change only staff may make, on a page that shows the case again with the refusal: outside
    the case does not exist for anyone (404), inside others are refused by role (403)."""
    return lambda role, inside_: (ok if role in STAFF else 403) if inside_ else 404


def roles(allowed: tuple[str, ...], ok: int) -> Expect:
    return lambda role, inside_: ok if role in allowed else 403


def _case_page_post(
    path: str, data: Callable[[WebWorld], dict[str, str]]
) -> Callable[[WebWorld, Who], Request]:
    return lambda w, who: ("POST", path.format(w=w), {"data": {**data(w), "csrf_token": who.csrf}})


def _api(method: str, path: str, body: Callable[[WebWorld], dict[str, Any]] | None = None):
    def build(w: WebWorld, who: Who) -> Request:
        kwargs: dict[str, Any] = {"headers": who.bearer or {}}
        if body is not None:
            kwargs["json"] = body(w)
        return (method, path.format(w=w), kwargs)

    return build


def _get(path: str) -> Callable[[WebWorld, Who], Request]:
    return lambda w, who: ("GET", path.format(w=w), {})


def _login_attempt(w: WebWorld, who: Who) -> Request:
    # a wrong password for a user of its own, so the matrix never trips the throttle
    token = csrf_of(who.client.get("/login").text)
    data = {"username": f"nobody-{who.username}", "password": "wrong-password", "csrf_token": token}
    return ("POST", "/login", {"data": data})


def _rates_upload(w: WebWorld, who: Who) -> Request:
    from services.rate_tables import export_xlsx

    table = {**RATE_TABLE, "name": "导入的单价表", "currency": "CNY", "notes": None}
    xlsx = export_xlsx(table)
    return (
        "POST",
        f"/cases/{w.case_id}/rates/import",
        {
            "data": {"csrf_token": who.csrf},
            "files": {"file": ("rates.xlsx", xlsx, "application/octet-stream")},
        },
    )


RATE_GRID = {
    "name": "茶叶采摘计件单价表",
    "unit": "斤",
    "row_code__0": "BUD",
    "row_name__0": "单芽",
    "quota__0": "3.5",
    "period_code__0": "P01",
    "period_name__0": "明前一期",
    "period_start__0": "2026-03-10",
    "period_end__0": "2026-03-16",
    "cell__0__0": "43",
}

E = "{w.case_id}"
MATRIX: dict[tuple[str, str], Row] = {
    # ---- public ----
    ("GET", "/healthz"): Row("public", _get("/healthz"), everyone(200)),
    ("GET", "/openapi.json"): Row("public", _get("/openapi.json"), everyone(200)),
    ("MOUNT", "/static"): Row("public", _get("/static/app.css"), everyone(200)),
    ("GET", "/login"): Row("public", _get("/login"), everyone(200)),
    ("POST", "/login"): Row("public", _login_attempt, everyone(401)),
    ("GET", "/lang/{code}"): Row("public", _get("/lang/zh?next=/dashboard"), everyone(303)),
    # ---- pages ----
    ("GET", "/"): Row("page", _get("/"), everyone(303)),
    ("GET", "/inbox"): Row("page", _get("/inbox?mine=0"), everyone(200), shows_case=True),
    ("GET", "/dashboard"): Row("page", _get("/dashboard"), everyone(200)),
    ("GET", "/review"): Row("page", _get("/review"), roles(("reviewer", "federation_admin"), 200)),
    ("GET", "/cases/new"): Row("page", _get("/cases/new"), roles(STAFF, 200)),
    ("POST", "/cases/new"): Row(
        "page",
        # the street's enterprise: inside it already has an open case (422), outside it is not found (404)
        _case_page_post(
            "/cases/new", lambda w: {"kind": "enterprise", "enterprise": w.world.enterprise_code}
        ),
        lambda role, inside_: (422 if inside_ else 404) if role in STAFF else 403,
    ),
    ("GET", "/cases/{ref}"): Row("page", _get(f"/cases/{E}"), inside(200), shows_case=True),
    ("POST", "/cases/{ref}/actions/{trigger}"): Row(
        "page",
        _case_page_post(
            f"/cases/{E}/actions/record_round", lambda w: {"chair_side": "worker", "minutes": "纪要"}
        ),
        # reviewers and auditors inside see the case, but their role may not take the action (403)
        lambda role, inside_: (303 if role in STAFF else 403) if inside_ else 404,
    ),
    ("POST", "/cases/{ref}/representatives"): Row(
        "page",
        _case_page_post(f"/cases/{E}/representatives", lambda w: {"side": "worker", "name": "孙八"}),
        inside_change(303),
    ),
    ("POST", "/cases/{ref}/terms"): Row(
        "page", _case_page_post(f"/cases/{E}/terms", lambda w: {"payment_day": "25"}), inside_change(303)
    ),
    ("POST", "/cases/{ref}/coverage"): Row(
        "page",
        _case_page_post("/cases/{w.sector_case_id}/coverage", lambda w: {"codes": w.world.tea_codes[0]}),
        inside_change(303),
    ),
    ("POST", "/cases/{ref}/adoptions"): Row(
        "page",
        # the sector case is not in force yet: staff inside get the business refusal (422)
        _case_page_post("/cases/{w.sector_case_id}/adoptions", lambda w: {}),
        inside_change(422),
    ),
    ("POST", "/inbox/reassign"): Row(
        "page",
        _case_page_post("/inbox/reassign", lambda w: {"case": str(w.case_id), "instructor": "zhang"}),
        lambda role, inside_: (303 if inside_ else 404) if role == "federation_admin" else 403,
    ),
    ("GET", "/cases/{ref}/rates"): Row("page", _get(f"/cases/{E}/rates"), inside(200), shows_case=True),
    ("GET", "/cases/{ref}/rates/{index}.xlsx"): Row("page", _get(f"/cases/{E}/rates/0.xlsx"), inside(200)),
    ("POST", "/cases/{ref}/rates/import"): Row("page", _rates_upload, inside_change(303)),
    ("POST", "/cases/{ref}/rates/{index}"): Row(
        "page", _case_page_post(f"/cases/{E}/rates/0", lambda w: RATE_GRID), inside_change(303)
    ),
    ("POST", "/logout"): Row("page", _case_page_post("/logout", lambda w: {}), everyone(303), last=True),
    # ---- API (token) ----
    ("GET", "/api/me"): Row("api", _api("GET", "/api/me"), everyone(200)),
    ("GET", "/api/cases"): Row("api", _api("GET", "/api/cases"), everyone(200), shows_case=True),
    ("POST", "/api/cases"): Row(
        "api",
        _api("POST", "/api/cases", lambda w: {"kind": "enterprise", "enterprise": w.world.enterprise_code}),
        lambda role, inside_: (422 if inside_ else 404) if role in STAFF else 403,
    ),
    ("GET", "/api/cases/{ref}"): Row("api", _api("GET", f"/api/cases/{E}"), inside(200), shows_case=True),
    ("POST", "/api/cases/{ref}/actions/{trigger}"): Row(
        "api",
        _api(
            "POST",
            f"/api/cases/{E}/actions/record_round",
            lambda w: {
                "expected_version": w.version(),
                "values": {"chair_side": "worker", "minutes": "纪要"},
            },
        ),
        lambda role, inside_: (200 if role in STAFF else 403) if inside_ else 404,
    ),
    ("POST", "/api/cases/{ref}/representatives"): Row(
        "api",
        _api(
            "POST",
            f"/api/cases/{E}/representatives",
            lambda w: {"expected_version": w.version(), "side": "employer", "name": "周九"},
        ),
        staff_change(200),
    ),
    ("PUT", "/api/cases/{ref}/agreement"): Row(
        "api",
        _api(
            "PUT",
            f"/api/cases/{E}/agreement",
            lambda w: {"expected_version": w.version(), "terms": {"payment_day": 12}},
        ),
        staff_change(200),
    ),
    ("GET", "/api/cases/{ref}/deadlines"): Row("api", _api("GET", f"/api/cases/{E}/deadlines"), inside(200)),
    ("GET", "/api/cases/{ref}/timeline"): Row("api", _api("GET", f"/api/cases/{E}/timeline"), inside(200)),
    ("GET", "/api/cases/{ref}/diagram"): Row("api", _api("GET", f"/api/cases/{E}/diagram"), inside(200)),
    ("GET", "/api/deadlines"): Row("api", _api("GET", "/api/deadlines"), everyone(200)),
}


def test_every_route_has_a_row_in_the_matrix(sqlite_web: WebWorld) -> None:
    missing = app_routes(sqlite_web.app) - set(MATRIX)
    assert not missing, f"routes without an access-matrix row: {sorted(missing)}"


def _forbidden_markers(w: WebWorld, who: Who) -> list[str]:
    street = [w.case_number, w.sector_case_number, "测试机械有限公司", "测试茶业", "测试街道总工会"]
    neighbour = [w.other_case_number, "邻街电子有限公司", "邻近街道总工会"]
    home = {"zhang": "street", "aud": "street", "li": "other"}.get(who.username or "")
    if who.username and who.username.startswith("other_"):
        home = "other"
    return street if home == "other" else neighbour if home == "street" else []


def _run(w: WebWorld, client: Any, row: Row, who: Who) -> list[str]:
    """One cell of the matrix; returns what is wrong with it (empty when it is right)."""
    method, url, kwargs = row.request(w, who)
    denied_before = len(w.events("access_denied"))
    response = client.request(method, url, **kwargs)
    side = "inside" if who.inside else "outside"
    where = f"{method} {url} as {who.username or 'anonymous'} ({who.role}, {side})"
    problems = []

    if who.username is None and row.kind == "page":
        if response.status_code != 303 or not response.headers["location"].startswith("/login?next="):
            problems.append(f"{where}: {response.status_code}, expected 303 to /login")
    elif who.username is None and row.kind == "api":
        if response.status_code != UNAUTHORIZED or response.json()["error"]["code"] != "not_signed_in":
            problems.append(f"{where}: {response.status_code}, expected 401 not_signed_in")
    else:
        expected = row.expect(who.role or "", who.inside)
        if response.status_code != expected:
            problems.append(f"{where}: {response.status_code}, expected {expected}: {response.text[:200]!r}")

    body = response.text + response.headers.get("location", "")
    problems += [f"{where} leaks {m!r}" for m in _forbidden_markers(w, who) if m in body]
    shown = row.shows_case and who.inside and who.username and response.status_code == 200
    if shown and w.case_number not in body:
        problems.append(f"{where} should show the case")

    denied = w.events("access_denied")[denied_before:]
    if who.username is not None and row.kind != "public" and response.status_code in (403, 404):
        if len(denied) != 1:
            problems.append(
                f"{where}: refused ({response.status_code}) but {len(denied)} access_denied events"
            )
        else:
            event = denied[0]
            if event.case_id is not None or event.actor_id != w.users[who.username] or not event.reason:
                problems.append(f"{where}: access_denied event incomplete")
            if event.payload != {"method": method, "path": url.split("?")[0]}:
                problems.append(f"{where}: access_denied payload {event.payload}")
    elif response.status_code < 400 and denied:
        problems.append(f"{where}: logged as refused but was not")
    return problems


def _users(w: WebWorld) -> list[Who]:
    return [Who(None, None, True)] + [
        Who(username, role, inside_) for (role, inside_), username in sorted(ROLE_USERS.items())
    ]


def test_access_matrix(web: WebWorld) -> None:
    present = app_routes(web.app)
    rows = sorted(
        ((k, r) for k, r in MATRIX.items() if k in present), key=lambda kr: (kr[1].last, kr[0][1], kr[0][0])
    )
    assert len(rows) >= 30
    problems: list[str] = []
    for who in _users(web):
        client = who.client = web.client()
        if who.username is not None:
            client, who.csrf = web.signed_in(who.username)
            who.client = client
            who.bearer = web.bearer(who.username)
            assert who.role in ROLES
        for _key, row in rows:
            problems += _run(web, client, row, who)
    assert not problems, f"{len(problems)} cells wrong:\n" + "\n".join(problems)


def _without(text: str, path: str, ref: Any) -> str:
    return text.replace(path.format(ref), "P").replace(f"找不到协商 {ref}", "#")


def test_outside_a_case_is_indistinguishable_from_no_case(web: WebWorld) -> None:
    """An outside user gets the same answer for an existing case as for a number that does not exist."""
    client, _ = web.signed_in("li")
    token = web.bearer("li")
    missing_id = 999_999
    paths = ["/cases/{}", "/api/cases/{}", "/api/cases/{}/timeline"]
    if ("GET", "/cases/{ref}/rates") in app_routes(web.app):
        paths.append("/cases/{}/rates")
    for path in paths:
        real = client.get(path.format(web.case_id), headers=token if path.startswith("/api") else {})
        fake = client.get(path.format(missing_id), headers=token if path.startswith("/api") else {})
        assert real.status_code == fake.status_code == 404
        assert f"找不到协商 {web.case_id}" in real.text
        assert _without(real.text, path, web.case_id) == _without(fake.text, path, missing_id)
        # by number, too
        by_number = client.get(path.format(web.case_number), headers=token if path.startswith("/api") else {})
        assert by_number.status_code == 404


def test_outside_lists_and_filters_show_nothing_of_the_street(web: WebWorld) -> None:
    for username in ("li", "other_admin"):
        _outside_lists(web, username)


def _outside_lists(web: WebWorld, username: str) -> None:
    client, _ = web.signed_in(username)
    token = web.bearer(username)
    street = [web.case_number, web.sector_case_number, "测试机械有限公司"]
    responses = [
        client.get("/inbox", params={"mine": "0", "q": "测试机械"}),
        client.get("/inbox", params={"mine": "0", "q": web.world.enterprise_code}),
        client.get("/inbox", params={"mine": "0", "region": "street"}),
        client.get("/api/cases", params={"q": web.case_number}, headers=token),
        client.get("/api/cases", params={"region": "street"}, headers=token),
        client.get("/api/cases", params={"limit": 200}, headers=token),
        client.get("/api/deadlines", params={"limit": 200}, headers=token),
        client.get("/dashboard"),
    ]
    for response in responses:
        assert response.status_code in (200, 422), response.request.url
        for marker in street:
            assert marker not in response.text, (response.request.url, marker)
    listed = client.get("/api/cases", params={"limit": 200}, headers=token).json()
    assert web.other_case_number in {c["number"] for c in listed["items"]}
    assert all(c["number"] != web.case_number for c in listed["items"])


def test_a_refusal_is_logged_for_a_user_with_many_roles(web: WebWorld) -> None:
    """events.role is VARCHAR(32): the roles of a user with three of them must not make the log fail."""
    from sqlalchemy import select

    from bargaining.models import OrgUnit
    from services.identity import add_user
    from services.uow import unit_of_work

    from .harness import password_hash

    with unit_of_work(web.db) as uow:
        other = uow.session.scalar(select(OrgUnit).where(OrgUnit.code == "other"))
        user = add_user(
            uow.session,
            username="many",
            display_name="多角色",
            org_unit=other,
            roles=["instructor", "federation_admin", "auditor", "reviewer"],
        )
        user.password_hash = password_hash()
        user_id = user.id
    client, _ = web.signed_in("many")
    assert client.get(f"/cases/{web.case_id}").status_code == 404
    denied = web.events("access_denied")
    assert len(denied) == 1 and denied[0].actor_id == user_id
    assert denied[0].payload == {"method": "GET", "path": f"/cases/{web.case_id}"}


def test_csrf_and_sign_in_refusals_are_not_access_denied_events(sqlite_web: WebWorld) -> None:
    client, _ = sqlite_web.signed_in("zhang")
    assert client.post(f"/cases/{sqlite_web.case_id}/terms", data={"payment_day": "3"}).status_code == 403
    assert client.post("/api/cases", json={}).status_code == 403
    assert sqlite_web.events("access_denied") == []


@pytest.mark.parametrize("via", ["page", "api"])
def test_a_workflow_action_refused_for_the_role_is_logged(sqlite_web: WebWorld, via: str) -> None:
    w = sqlite_web
    if via == "page":
        client, csrf = w.signed_in("aud")
        response = client.post(
            f"/cases/{w.case_id}/actions/record_round",
            data={"chair_side": "worker", "minutes": "x", "csrf_token": csrf},
        )
    else:
        response = w.client().post(
            f"/api/cases/{w.case_id}/actions/record_round",
            json={"expected_version": w.version(), "values": {"chair_side": "worker", "minutes": "x"}},
            headers=w.bearer("aud"),
        )
    assert response.status_code in (403, 409)
    assert "您的角色无权" in response.text
    assert len(w.events("access_denied")) == 1
