"""The pages in a real browser: sign in, walk a case from offer to in force, inbox colours, disabled
actions with their reasons, an inline validation error and a stale form."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bargaining.rules.periods import legal_date
from services import runtime

from .conftest import SCREENSHOTS, Site

RED = "rgb(254, 226, 226)"  # --red   #fee2e2
AMBER = "rgb(254, 243, 199)"  # --amber #fef3c7
PLAIN = "rgba(0, 0, 0, 0)"


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, site: Site, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", site.password)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    assert "/login" not in page.url, page.locator(".error").all_inner_texts()


def sign_out(page: Any) -> None:
    with page.expect_navigation():
        page.click("form[action='/logout'] button")
    assert page.url.endswith("/login")


def stage(page: Any) -> str:
    return page.locator("#stage").inner_text().strip()


def fill(form: Any, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = form.locator(f"[name='{name}']")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def fire(page: Any, trigger: str, values: dict[str, str] | None = None) -> None:
    """Open the action's form on the case page, fill it in and submit it; wait for the next page."""
    action = page.locator(f"#action-{trigger}")
    details = action.locator("details")
    if details.get_attribute("open") is None:
        action.locator("summary").click()
    form = action.locator("form")
    fill(form, values or {})
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def add_representative(
    page: Any, side: str, name: str, *, chief: bool = False, front_line: bool = False
) -> None:
    form = page.locator("form[action$='/representatives']")
    page.locator("summary", has_text="登记协商代表").click()
    form.locator("select[name=side]").select_option(side)
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=person_key]").fill(f"{side}-{name}")
    if chief:
        form.locator("input[name=chief]").check()
    if front_line:
        form.locator("input[name=front_line]").check()
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator("p.ok").is_visible()


def test_inbox_colours_overdue_red_soon_amber_others_plain(page: Any, site: Site) -> None:
    sign_in(page, site, "zhang")
    page.goto("/inbox?mine=1")
    shot(page, "inbox")

    def row(key: str) -> Any:
        return page.locator(f"tr[data-case='{site.cases[key]['number']}']")

    def background(key: str) -> str:
        return row(key).locator("td").first.evaluate("e => getComputedStyle(e).backgroundColor")

    assert row("overdue").get_attribute("class") == "u-overdue"
    assert background("overdue") == RED
    assert "已逾期" in row("overdue").locator("td.days").inner_text()
    days = int(row("soon").locator("td.days").inner_text().split()[0])
    assert 0 <= days <= 5
    assert row("soon").get_attribute("class") == "u-soon"
    assert background("soon") == AMBER
    assert "5日内到期" in row("soon").inner_text()
    for key in ("ok", "bare"):
        assert row(key).get_attribute("class") in ("u-ok", "u-none")
        assert background(key) == PLAIN, key
    # the overdue case comes first: the inbox is sorted by the nearest deadline
    assert page.locator("#inbox tbody tr").first.get_attribute("data-case") == site.cases["overdue"]["number"]


def test_a_disabled_action_shows_its_reasons(page: Any, site: Site) -> None:
    sign_in(page, site, "zhang")
    page.goto(f"/cases/{site.cases['bare']['id']}")
    assert stage(page) == "筹备"
    action = page.locator("#action-send_offer")
    assert action.locator("button[disabled]").is_visible()
    assert action.locator("form").count() == 0  # nothing to submit
    reasons = action.locator("ul.reasons").inner_text()
    assert "至少需要3人" in reasons and "首席代表" in reasons
    shot(page, "disabled-action")
    # the same reasons for a reviewer, who also lacks the role
    sign_out(page)
    sign_in(page, site, "rev")
    page.goto(f"/cases/{site.cases['bare']['id']}")
    assert "您的角色无权执行“发出要约”" in page.locator("#action-send_offer ul.reasons").inner_text()
    assert page.locator("form[action$='/representatives']").count() == 0  # not editable for a reviewer


def test_inline_validation_error_and_stale_form(context: Any, site: Site) -> None:
    case_id = site.cases["congress"]["id"]
    page = context.new_page()
    sign_in(page, site, "zhang")
    page.goto(f"/cases/{case_id}")
    assert stage(page) == "待职代会审议"

    # a second tab keeps the page as it was; the first changes the agreement meanwhile
    stale = context.new_page()
    stale.goto(f"/cases/{case_id}")
    page.locator("summary", has_text="编辑协议条款").click()
    page.locator("form[action$='/terms'] input[name=payment_day]").fill("20")
    with page.expect_navigation():
        page.locator("form[action$='/terms'] button[type=submit]").click()
    assert page.locator("p.ok").is_visible()
    fire(
        stale,
        "record_congress_vote",
        {"total": "60", "present": "50", "votes_for": "45", "against": "3", "abstain": "2"},
    )
    conflict = stale.locator("p.error[role=alert]")
    assert "已被他人修改" in conflict.inner_text() and "请刷新后重试" in conflict.inner_text()
    assert stage(stale) == "待职代会审议"  # nothing was recorded
    shot(stale, "stale-form-conflict")
    stale.close()

    # a number that is not an integer: the error sits next to the field, the typed value stays
    page.goto(f"/cases/{case_id}")
    typed = {"total": "60", "present": "50.5", "votes_for": "45", "against": "3", "abstain": "2"}
    fire(page, "record_congress_vote", typed)
    form = page.locator("#action-record_congress_vote form")
    field_error = form.locator("label.invalid .field-error")
    assert "实到代表人数" in field_error.inner_text() and "应为整数" in field_error.inner_text()
    assert form.locator("label.invalid input[name=present]").count() == 1
    for name, value in typed.items():
        assert form.locator(f"input[name={name}]").input_value() == value
    shot(page, "validation-error-field")

    # more present than members: a Chinese message at the top of the same form, values kept
    typed = {"total": "50", "present": "60", "votes_for": "45", "against": "3", "abstain": "2"}
    fill(form, typed)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    form = page.locator("#action-record_congress_vote form")
    assert "实到代表60人，多于应到代表50人" in form.locator("div.error[role=alert]").inner_text()
    assert page.locator("#action-record_congress_vote details").get_attribute("open") is not None
    for name, value in typed.items():
        assert form.locator(f"input[name={name}]").input_value() == value
    assert stage(page) == "待职代会审议"
    shot(page, "validation-error-form")

    # corrected, it goes through
    fill(form, {"total": "60", "present": "50"})
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert stage(page) == "待签字"


def test_walk_a_case_from_offer_to_in_force_through_the_pages(page: Any, site: Site) -> None:
    world = site.world
    sign_in(page, site, "zhang")

    page.goto("/cases/new")
    page.fill("input[name=enterprise]", world.enterprise_code)
    with page.expect_navigation():
        page.click("form[action='/cases/new'] button[type=submit]")
    assert "?done=create" in page.url
    case_url = page.url.split("?")[0]
    number = page.locator("p.meta").inner_text().split(" ")[0]
    assert number.startswith(str(legal_date(runtime.utcnow()).year))
    assert stage(page) == "筹备"
    assert "测试机械有限公司" in page.locator("h1").inner_text()
    shot(page, "walk-1-new-case")

    for side in ("worker", "employer"):
        for k in range(3):
            add_representative(
                page,
                side,
                f"{'职工' if side == 'worker' else '企业'}代表{k}",
                chief=k == 0,
                front_line=side == "worker" and k > 0,
            )
    assert page.locator("#action-send_offer form").count() == 1  # the reasons are gone: allowed now

    fire(page, "send_offer", {"from_side": "worker", "subjects": "2027年度工资调整"})
    assert stage(page) == "已发要约"
    assert page.locator("#deadlines").inner_text().count("回应") >= 1
    shot(page, "walk-2-offer-sent")

    fire(page, "record_response", {"notes": "同意协商"})
    assert stage(page) == "协商中"
    fire(page, "record_round", {"chair_side": "worker", "minutes": "双方就工资增幅达成一致"})
    assert stage(page) == "协商中"

    today = legal_date(runtime.utcnow())
    page.locator("summary", has_text="编辑协议条款").click()
    terms = page.locator("form[action$='/terms']")
    fill(
        terms,
        {
            "term_start": today.isoformat(),
            "term_end": (date(today.year + 1, today.month, today.day) - timedelta(days=1)).isoformat(),
            "avg_wage_before": "5000",
            "avg_wage_after": "5400",
            "payment_day": "15",
            "clause_title_001": "工资增长",
            "clause_text_001": "职工平均工资增长8%。",
        },
    )
    with page.expect_navigation():
        terms.locator("button[type=submit]").click()
    assert "5400" in page.locator("dl.terms").inner_text()

    fire(page, "submit_draft")
    assert stage(page) == "待职代会审议"
    fire(
        page,
        "record_congress_vote",
        {"total": "60", "present": "50", "votes_for": "45", "against": "3", "abstain": "2"},
    )
    assert stage(page) == "待签字"
    fire(page, "sign")
    assert stage(page) == "已签字"
    fire(page, "file_for_review", {"authority": "市人力资源和社会保障局", "copies": "3"})
    assert stage(page) == "审查中"
    shot(page, "walk-3-under-review")
    sign_out(page)

    # the labour administration's reviewer finds it in the review queue and gives the opinion
    sign_in(page, site, "rev")
    assert page.url.endswith("/review")
    row = page.locator("#review tr", has_text=number)
    assert row.count() == 1
    shot(page, "walk-4-review-queue")
    with page.expect_navigation():
        row.locator("a", has_text="出具审查意见").click()
    assert page.url.startswith(case_url)
    fire(page, "record_review_opinion", {"has_objections": "否", "opinion": "内容合法，无异议"})
    assert stage(page) == "生效"
    timeline = page.locator("#timeline").inner_text()
    for label in (
        "发出要约",
        "记录书面回应",
        "记录职代会表决",
        "双方首席代表签字",
        "报送审查",
        "出具审查意见书",
    ):
        assert label in timeline
    assert page.locator("#action-record_review_opinion").count() == 0
    shot(page, "walk-5-in-force")
