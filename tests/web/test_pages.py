"""What the pages link to and show, beyond access: links that lead somewhere, times in China time."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from bargaining.models import OrgUnit, User
from services.identity import add_user
from services.uow import unit_of_work
from services.web import pages

from .harness import WebWorld

HREF = re.compile(r'href="([^"]+)"')


def _links(web: WebWorld, client, pages: list[str]) -> set[str]:
    found: set[str] = set()
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        for href in HREF.findall(response.text):
            href = html.unescape(href)
            if href.startswith("/") and not href.startswith("//"):
                found.add(href)
    return found


def _pages(web: WebWorld) -> list[str]:
    return [
        "/inbox?mine=0",
        "/dashboard",
        "/review",
        "/cases/new",
        f"/cases/{web.case_id}",
        f"/cases/{web.sector_case_id}",
    ]


def test_every_link_on_the_workbench_pages_leads_somewhere(sqlite_web: WebWorld) -> None:
    web = sqlite_web
    client, _ = web.signed_in("admin")
    links = {link for link in _links(web, client, _pages(web)) if "/documents/" not in link}
    assert f"/cases/{web.case_id}" in links and "/static/app.css" in links
    broken = {link: client.get(link).status_code for link in sorted(links)}
    broken = {link: status for link, status in broken.items() if status >= 400}
    assert not broken


def test_document_links_on_the_case_page_lead_somewhere(sqlite_web: WebWorld) -> None:
    client, _ = sqlite_web.signed_in("zhang")
    links = [
        link for link in _links(sqlite_web, client, [f"/cases/{sqlite_web.case_id}"]) if "/documents/" in link
    ]
    assert links  # the walked case has an offer letter, a response letter and minutes
    assert all(client.get(link).status_code == 200 for link in links)


def test_timeline_times_are_shown_in_china_time(sqlite_web: WebWorld) -> None:
    client, _ = sqlite_web.signed_in("zhang")
    page = client.get(f"/cases/{sqlite_web.case_id}").text
    timeline = page[page.index('id="timeline"') :]
    # tests/support.walk sends the offer at 10:00 China time on 2025-11-03
    assert "2025-11-03 10:00" in timeline


def test_every_page_renders_in_english_too(sqlite_web: WebWorld) -> None:
    client, _ = sqlite_web.signed_in("admin")
    assert client.get("/lang/en?next=/inbox").headers["location"] == "/inbox"
    inbox = client.get("/inbox?mine=0")
    assert inbox.status_code == 200 and "Inbox" in inbox.text and 'lang="en"' in inbox.text
    for page in [*_pages(sqlite_web), f"/cases/{sqlite_web.case_id}/rates"]:
        response = client.get(page)
        assert response.status_code == 200, page
        assert 'lang="en"' in response.text
    client.get("/lang/zh?next=/inbox")
    assert 'lang="zh-CN"' in client.get("/inbox").text


def test_the_case_page_renders_at_every_stage_for_every_role(sqlite_web: WebWorld) -> None:
    """Walk cases along the main path and the side paths; show each stage to staff, reviewer, auditor."""
    from services import cases as uc
    from tests.support import TERMS, add_reps, at, fire, walk

    w = sqlite_web
    world = w.world
    clients = {name: w.signed_in(name)[0] for name in ("zhang", "rev", "aud")}
    seen: set[str] = set()

    def show(case_id: int) -> None:
        state = w.state(case_id)
        seen.add(state)
        for name, client in clients.items():
            response = client.get(f"/cases/{case_id}")
            assert response.status_code == 200, (state, name, response.text[:300])
            assert 'id="stage"' in response.text

    main, side = (
        uc.create_case(w.db, world.instructor, kind="enterprise", enterprise=code)["id"]
        for code in world.tea_codes[:2]
    )
    show(main)
    day = date(2025, 11, 3)
    add_reps(world, main, now=at(day))
    steps: list[tuple[str, dict[str, Any]]] = [
        ("send_offer", {"from_side": "worker", "subjects": "工资"}),
        ("record_response", {}),
        ("record_round", {"chair_side": "worker", "minutes": "纪要"}),
        ("submit_draft", {}),
        ("record_congress_vote", {"total": 60, "present": 50, "votes_for": 45, "against": 3, "abstain": 2}),
        ("sign", {}),
        ("file_for_review", {"authority": "人社局", "copies": 3}),
        ("record_review_opinion", {"has_objections": "否", "opinion": "同意"}),
    ]
    for trigger, values in steps:
        day += timedelta(days=2)
        if trigger == "submit_draft":
            uc.set_agreement_terms(w.db, world.instructor, main, TERMS, now=at(day))
        actor = world.reviewer if trigger == "record_review_opinion" else None
        fire(world, main, trigger, day, actor, **values)
        show(main)

    day = walk(world, side, "negotiating")
    fire(world, side, "suspend", day, reason="分歧较大")
    show(side)
    fire(world, side, "resume", day)
    fire(world, side, "apply_coordination", day, authority="人社局", matter="工资增幅")
    show(side)
    fire(world, side, "conclude_coordination", day, result="达成一致")
    fire(world, side, "terminate", day, reason="企业关停")
    show(side)
    assert {"in_force", "suspended", "dispute", "terminated", "under_review", "signed"} <= seen


def test_the_inbox_form_keeps_its_choices_briefly_and_reassignment_rechecks_them(
    sqlite_web: WebWorld, monkeypatch: Any
) -> None:
    """A scope's regions and instructors are kept ``CHOICES_SECONDS`` (they were a third of a city
    admin's inbox page); a new instructor shows once they expire, and an instructor the kept form
    still offers after being deactivated is refused when chosen."""
    web = sqlite_web
    client, csrf = web.signed_in("admin")
    assert "新来的指导员" not in client.get("/inbox?mine=0").text
    with unit_of_work(web.db) as uow:
        street = uow.session.scalar(select(OrgUnit).where(OrgUnit.code == "street"))
        add_user(
            uow.session, username="newbie", display_name="新来的指导员", org_unit=street, roles=["instructor"]
        )
    assert "新来的指导员" not in client.get("/inbox?mine=0").text  # the kept choices

    monkeypatch.setattr(pages, "CHOICES_SECONDS", 0.0)  # what the passing of that time does
    form = client.get("/inbox?mine=0").text
    assert "新来的指导员" in form
    monkeypatch.undo()

    with unit_of_work(web.db) as uow:
        newbie = uow.session.scalar(select(User).where(User.username == "newbie"))
        newbie.active = False
    assert "新来的指导员" in client.get("/inbox?mine=0").text  # still offered while kept …
    refused = client.post(
        "/inbox/reassign", data={"csrf_token": csrf, "case": str(web.case_id), "instructor": "newbie"}
    )
    assert refused.status_code == 422
    assert "newbie 不是在岗的工资集体协商指导员" in html.unescape(refused.text)  # … and refused
