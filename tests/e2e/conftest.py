"""Browser tests: the real app under uvicorn on a free localhost port, Debian's Chromium headless.

One server and one small world for the whole e2e run (SQLite, migrated), set up through the
services: cases whose inbox rows must be red (overdue), amber (due within 5 days) and plain, a
case without representatives (disabled action with reasons) and one awaiting the worker congress
(inline validation error, stale form). Screenshots go to tests/e2e/screenshots/ (git-ignored,
kept by CI as artifacts).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from bargaining.db import Database, open_database
from bargaining.models import User
from bargaining.rules.jurisdictions import get_rule_set, timed_rule
from bargaining.rules.periods import due_date, legal_date
from bargaining.rules.uscc import complete_credit_code
from services import cases as uc
from services import runtime
from services.orgs import add_enterprise
from services.repository import get_org_unit
from services.uow import unit_of_work
from services.web.app import create_app
from tests.support import World, add_reps, at, build_world, walk
from tests.web.harness import PASSWORD, make_settings, password_hash

SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Site:
    url: str
    db: Database
    world: World
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)  # role in the tests -> summary
    password: str = PASSWORD


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _enterprise(db: Database, code17: str, name: str) -> str:
    code = complete_credit_code(code17)
    with unit_of_work(db) as uow:
        street = get_org_unit(uow.session, "street")
        add_enterprise(uow.session, credit_code=code, name=name, org_unit=street, headcount=80)
    return code


def _offer_due_soon(world: World, case_id: int) -> None:
    """Send the offer on the day that makes the 20-day response deadline fall 3 days from today."""
    today = legal_date(runtime.utcnow())
    period = timed_rule(get_rule_set("national"), "response").period
    start = today
    while (due_date(start, period).due - today).days > 3:
        start -= timedelta(days=1)
    assert 0 <= (due_date(start, period).due - today).days <= 3, (
        "no offer date gives a deadline 0–3 days away"
    )
    add_reps(world, case_id, now=at(start))
    uc.fire_action(
        world.db,
        world.instructor,
        case_id,
        "send_offer",
        values={"from_side": "worker", "subjects": "年度工资调整", "sent_on": start.isoformat()},
    )


def _world(db: Database) -> Site:
    world = build_world(db)
    with unit_of_work(db) as uow:
        for user in uow.session.scalars(select(User)):
            user.password_hash = password_hash()
    site = Site(url="", db=db, world=world)

    def create(key: str, code: str) -> int:
        site.cases[key] = uc.create_case(db, world.instructor, kind="enterprise", enterprise=code)
        return int(site.cases[key]["id"])

    walk(world, create("overdue", world.tea_codes[0]), "offer_sent")  # the 2025 offer went unanswered
    _offer_due_soon(world, create("soon", world.tea_codes[1]))
    case_id = create("ok", world.tea_codes[2])
    add_reps(world, case_id)
    uc.fire_action(
        db, world.instructor, case_id, "send_offer", values={"from_side": "worker", "subjects": "工资"}
    )
    create("bare", _enterprise(db, "91320282MA0000E10", "无代表塑料有限公司"))
    walk(
        world,
        create("congress", _enterprise(db, "91320282MA0000E20", "职代会纺织有限公司")),
        "awaiting_congress",
    )
    return site


@pytest.fixture(scope="session")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    path = tmp_path_factory.mktemp("e2e") / "bargaining.sqlite3"
    shutil.copy(sqlite_template, path)
    db = open_database(f"sqlite:///{path}")
    site = _world(db)
    app = create_app(make_settings(db), db, scheduler=False)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="e2e-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start within 15 s"
        time.sleep(0.05)
    site.url = f"http://127.0.0.1:{port}"
    yield site
    server.should_exit = True
    thread.join(timeout=10)
    db.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Any, site: Site) -> Iterator[Any]:
    SCREENSHOTS.mkdir(exist_ok=True)
    ctx = browser.new_context(base_url=site.url, locale="zh-CN", viewport={"width": 1366, "height": 900})
    ctx.set_default_timeout(10_000)
    problems: list[str] = []
    # anything the pages get wrong themselves: a script error, something our own CSP blocks, a
    # stylesheet or image that does not load (error pages with 4xx are expected; /favicon.ico there is none)
    ctx.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    ctx.on("weberror", lambda e: problems.append(str(e.error)))

    def asset(response: Any) -> None:
        kind = response.request.resource_type
        wanted = kind in ("stylesheet", "script", "image", "font") and not response.url.endswith(
            "/favicon.ico"
        )
        if wanted and response.status >= 400:
            problems.append(f"{response.status} {response.url}")

    ctx.on("response", asset)
    yield ctx
    ctx.close()
    assert not problems, problems


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()
