"""The `bargaining` command.

Every command prints one clear line in Chinese on a business error and exits non-zero;
``--json`` gives machine-readable output.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from bargaining.actors import Actor
from bargaining.errors import DomainError, ValidationError

from . import runtime
from .cli_support import (
    ActionData,
    ActionReason,
    AsUser,
    ExpectedVersion,
    JsonOut,
    acting_user,
    pairs,
    print_json,
)
from .timeparse import parse_date, parse_instant

app = typer.Typer(
    help="工资集体协商流程引擎 (collective wage bargaining workflow engine)",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
case_app = typer.Typer(help="协商案件：列表、查看、操作", no_args_is_help=True)
calendar_app = typer.Typer(help="节假日安排（国务院办公厅通知）", no_args_is_help=True)
admin_app = typer.Typer(help="组织、企业登记", no_args_is_help=True)
user_app = typer.Typer(help="用户：新增、停用、设置密码", no_args_is_help=True)
token_app = typer.Typer(help="API 令牌（供程序调用 /api）", no_args_is_help=True)
app.add_typer(case_app, name="case")
app.add_typer(calendar_app, name="calendar")
app.add_typer(admin_app, name="admin")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


def _register_capabilities() -> None:
    """Command groups that live with their capability (each imports its heavy libraries lazily)."""
    from .audits.cli import register as register_audit
    from .documents import register as register_documents
    from .exchange.cli import register as register_exchange
    from .reports.cli import register as register_reports

    register_audit(app)
    register_documents(app)
    register_reports(app)
    register_exchange(app)


_register_capabilities()


def _db() -> Any:
    return runtime.database()


def _actor(username: str) -> Actor:
    return acting_user(_db(), username)


@app.command()
def init() -> None:
    """创建或升级数据库（Alembic 迁移到最新）。"""
    from .migrate import upgrade

    url = _db().url
    upgrade(url)
    typer.echo(f"数据库已就绪：{url}")


@app.command()
def demo(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="数据库已有数据时跳过")] = False,
) -> None:
    """载入演示数据：一个街道总工会、225家企业、茶叶和塑化两个行业。"""
    from .demo import load_demo

    result = load_demo(_db(), if_empty=if_empty)
    typer.echo(result)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8000,
    workers: Annotated[int, typer.Option(help="Web 进程数（无状态，可多个）")] = 1,
    scheduler: Annotated[
        bool, typer.Option(help="在本服务内运行期限扫描（多进程时只有一个进程生效）")
    ] = True,
    proxy_headers: Annotated[
        bool, typer.Option(help="信任反向代理的 X-Forwarded-* 头（TLS 终止在代理时）")
    ] = False,
) -> None:
    """启动 Web 服务（页面与 /api，OpenAPI 在 /openapi.json）。"""
    import uvicorn

    from bargaining.config import check_production_ready, load_settings

    from .web import server as server_protocol

    check_production_ready(load_settings())
    from .documents import check_runtime

    for problem in check_runtime():  # e.g. libharfbuzz-subset missing: CJK subsetting ~28x slower
        typer.echo(f"警告：{problem}", err=True)
    os.environ["BARGAINING_SCHEDULER"] = "1" if scheduler else "0"
    uvicorn.run(
        "services.web.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=proxy_headers,
        forwarded_allow_ips="*" if proxy_headers else None,
        log_level="info",
        http=server_protocol.PROTOCOL,  # TCP_NODELAY on every connection, whatever the worker count
        loop=server_protocol.LOOP,
    )


@app.command()
def scheduler(
    interval: Annotated[int, typer.Option(help="扫描间隔（秒）")] = 60,
) -> None:
    """运行期限扫描调度进程（APScheduler，仅一个进程生效）。"""
    from .scheduler import run_scheduler

    run_scheduler(_db(), interval_s=interval)


@app.command()
def sweep(
    now: Annotated[str | None, typer.Option("--now", help="按此时间扫描（ISO 日期或时间，默认当前）")] = None,
    as_json: JsonOut = False,
) -> None:
    """处理到期的期限：逾期提醒、审查期满视为生效、合同期满、续签窗口开启。"""
    from .deadlines import sweep as run_sweep

    instant = parse_instant(now) if now else runtime.utcnow()
    report = run_sweep(_db(), instant)
    if as_json:
        print_json(
            {
                "now": instant.isoformat(),
                "escalated": report.escalated,
                "fired": report.fired,
                "failed": report.failed,
                "details": report.details,
            }
        )
        return
    typer.echo(
        f"扫描时间 {instant.isoformat()}：逾期提醒 {report.escalated} 件，自动处理 {report.fired} 件，"
        f"处理失败 {report.failed} 件"
    )
    for d in report.details:
        typer.echo(f"  {d['case']}  {d['kind']}  {d['action']}  {d.get('reason', '')}".rstrip())


@app.command()
def deadline(
    jurisdiction: Annotated[
        str, typer.Option(help="national/shandong/zhejiang/hangzhou/henan/shanghai/chongqing/jiangsu")
    ],
    kind: Annotated[
        str,
        typer.Option(
            help="response/filing/review/disclosure/renewal/negotiation_cap/dispute/rep_vacancy/expiry"
        ),
    ],
    from_: Annotated[str, typer.Option("--from", help="起算日期 YYYY-MM-DD（renewal/expiry 为合同期满日）")],
    as_json: JsonOut = False,
) -> None:
    """计算期限：打印到期日（ISO）及法律依据。"""
    from .deadlines import preview_deadline

    result = preview_deadline(_db(), jurisdiction=jurisdiction, kind=kind, start=parse_date(from_))
    if as_json:
        print_json(result)
        return
    typer.echo(result["due"])
    typer.echo(
        f"{result['period']}；{result['legal_basis']}"
        + ("（暂定：该年度节假日安排尚未公布）" if result["provisional"] else "")
    )


# ---- cases ---------------------------------------------------------------------------------------


@case_app.command("list")
def case_list(
    state: Annotated[str | None, typer.Option(help="阶段")] = None,
    kind: Annotated[str | None, typer.Option(help="类型 enterprise/sector/adoption")] = None,
    search: Annotated[str | None, typer.Option(help="企业名称、信用代码或编号")] = None,
    mine: Annotated[bool, typer.Option(help="只看我负责的")] = False,
    overdue: Annotated[bool, typer.Option(help="只看已逾期的")] = False,
    limit: int = 50,
    offset: int = 0,
    as_user: AsUser = "admin",
    as_json: JsonOut = False,
) -> None:
    """列出协商（限于本人所在工会及下级）。"""
    from .queries import list_cases

    result = list_cases(
        _db(),
        _actor(as_user),
        state=state,
        kind=kind,
        search=search,
        mine=mine,
        overdue=overdue,
        limit=limit,
        offset=offset,
    )
    if as_json:
        print_json(result)
        return
    typer.echo(
        f"共 {result['total']} 件（显示 {result['offset'] + 1}–{result['offset'] + len(result['items'])}）"
    )
    for c in result["items"]:
        due = f"  下一期限 {c['next_due']}（剩{c['days_left']}天）" if c["next_due"] else ""
        typer.echo(f"{c['number']}  {c['state_label']}  {c['title']}{due}")


@case_app.command("show")
def case_show(ref: str, as_user: AsUser = "admin", as_json: JsonOut = False) -> None:
    """查看协商详情：阶段、期限、时间线、可执行操作。"""
    from .queries import case_detail

    d = case_detail(_db(), _actor(as_user), ref)
    if as_json:
        print_json(d)
        return
    typer.echo(f"{d['number']}  {d['title']}")
    typer.echo(
        f"阶段：{d['state_label']}（{d['state']}）  版本：{d['version']}  规则：{d['jurisdiction']}  流程：{d['definition']}"
    )
    if d["deadlines"]:
        typer.echo("期限：")
        for dl in d["deadlines"]:
            typer.echo(f"  {dl['label']}  到期 {dl['due']}  [{dl['status']}]  {dl['legal_basis']}")
    typer.echo("时间线：")
    for e in d["timeline"]:
        typer.echo(
            f"  {e['at'][:19]}  {e['actor']}  {e['label']}  {e['from'] or ''}→{e['to'] or ''}  {e['reason'] or ''}"
        )
    typer.echo("可执行操作：")
    for a in d["actions"]:
        mark = "可" if a["allowed"] else "不可"
        why = "" if a["allowed"] else "：" + "；".join(a["reasons"])
        typer.echo(f"  [{mark}] {a['trigger']}（{a['label']}）{why}")


@case_app.command("fire")
def case_fire(
    ref: str,
    trigger: str,
    data: ActionData = None,
    reason: ActionReason = None,
    expected_version: ExpectedVersion = None,
    as_user: AsUser = "admin",
    as_json: JsonOut = False,
) -> None:
    """执行流程操作，例如 send_offer、record_response、record_congress_vote、sign。"""
    from .cases import fire_action

    result = fire_action(
        _db(),
        _actor(as_user),
        ref,
        trigger,
        values=pairs(data, option="--data"),
        reason=reason,
        expected_version=expected_version,
    )
    if as_json:
        print_json(result)
        return
    typer.echo(
        f"{result['number']}：{result['from_state']} → {result['state']}（{result['state_label']}），版本 {result['version']}"
    )


@case_app.command("create")
def case_create(
    kind: Annotated[str, typer.Option(help="enterprise/sector/adoption")] = "enterprise",
    enterprise: Annotated[str | None, typer.Option(help="企业统一社会信用代码")] = None,
    sector: Annotated[str | None, typer.Option(help="行业代码（行业协商）")] = None,
    parent: Annotated[str | None, typer.Option(help="行业协商编号（履约协议；或行业协商的专项协议）")] = None,
    title: Annotated[str | None, typer.Option(help="名称")] = None,
    instructor: Annotated[str | None, typer.Option(help="指导员用户名")] = None,
    jurisdiction: Annotated[str | None, typer.Option(help="适用规则（默认取所属工会）")] = None,
    as_user: AsUser = "admin",
    as_json: JsonOut = False,
) -> None:
    """新建协商。"""
    from .cases import create_case

    result = create_case(
        _db(),
        _actor(as_user),
        kind=kind,
        enterprise=enterprise,
        sector=sector,
        parent=parent,
        title=title,
        instructor=instructor,
        jurisdiction=jurisdiction,
    )
    if as_json:
        print_json(result)
        return
    typer.echo(f"已新建 {result['number']}：{result['title']}（{result['state_label']}）")


@case_app.command("rep-add")
def case_rep_add(
    ref: str,
    side: Annotated[str, typer.Option(help="worker 职工方 / employer 企业方")],
    name: Annotated[str, typer.Option(help="姓名")],
    key: Annotated[str | None, typer.Option(help="身份标识（默认为姓名）")] = None,
    position: Annotated[str | None, typer.Option(help="职务")] = None,
    chief: Annotated[bool, typer.Option(help="首席代表")] = False,
    outsider: Annotated[bool, typer.Option(help="外聘专业人员")] = False,
    front_line: Annotated[bool, typer.Option(help="一线职工")] = False,
    as_user: AsUser = "admin",
    as_json: JsonOut = False,
) -> None:
    """登记协商代表。"""
    from .cases import add_representative

    result = add_representative(
        _db(),
        _actor(as_user),
        ref,
        side=side,
        name=name,
        person_key=key,
        position=position,
        chief=chief,
        outsider=outsider,
        front_line=front_line,
    )
    if as_json:
        print_json(result)
        return
    typer.echo(f"{result['number']}：已登记代表 {name}")


@case_app.command("terms")
def case_terms(
    ref: str,
    file: Annotated[Path | None, typer.Option(help="JSON 文件：协议条款")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="字段=值，可重复")] = None,
    as_user: AsUser = "admin",
    as_json: JsonOut = False,
) -> None:
    """填写或修改协议条款（合同期限、工资、条款、计件单价表）。"""
    from .cases import set_agreement_terms

    terms: dict[str, Any] = {}
    if file is not None:
        try:
            terms.update(json.loads(file.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValidationError(f"无法读取条款文件 {file}：{exc}") from None
    terms.update(pairs(set_, option="--set"))
    result = set_agreement_terms(_db(), _actor(as_user), ref, terms)
    if as_json:
        print_json(result)
        return
    typer.echo(
        f"{result['number']}：协议条款已保存（文本哈希 {result['text_hash'][:12]}…），阶段 {result['state_label']}"
    )


@case_app.command("coverage")
def case_coverage(ref: str, enterprises: list[str], as_user: AsUser = "admin") -> None:
    """登记行业协商覆盖的企业（统一社会信用代码）。"""
    from .cases import add_coverage

    result = add_coverage(_db(), _actor(as_user), ref, enterprises)
    typer.echo(f"{result['number']}：覆盖企业已登记")


@case_app.command("adoptions")
def case_adoptions(ref: str, as_user: AsUser = "admin", as_json: JsonOut = False) -> None:
    """行业协议生效后，为尚未开启的覆盖企业开启履约协议。"""
    from .cases import open_adoptions

    result = open_adoptions(_db(), _actor(as_user), ref)
    if as_json:
        print_json(result)
        return
    typer.echo(f"{result['number']}：已开启履约协议 {len(result['opened'])} 件")


@case_app.command("diagram")
def case_diagram(ref: str, as_user: AsUser = "admin") -> None:
    """输出协商流程图（mermaid），当前阶段高亮。"""
    from .queries import case_detail

    typer.echo(case_detail(_db(), _actor(as_user), ref)["diagram"], nl=False)


# ---- calendar ------------------------------------------------------------------------------------


@calendar_app.command("load")
def calendar_load(
    file: Annotated[
        Path, typer.Argument(help='JSON：{"year":2027,"days_off":[…],"makeup_workdays":[…],"source":"…"}')
    ],
) -> None:
    """载入新年度节假日安排，并重新计算暂定期限。"""
    from .calendar_admin import load_year

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValidationError(f"无法读取 {file}：{exc}") from None
    result = load_year(_db(), data)
    typer.echo(f"{result['year']}年节假日安排已载入；重新计算期限 {result['recomputed']} 件")


@calendar_app.command("status")
def calendar_status() -> None:
    """已掌握节假日安排的年度。"""
    from .uow import unit_of_work

    with unit_of_work(_db(), write=False) as uow:
        years = sorted(runtime.calendar(uow.session).published_years())
    typer.echo(f"已公布年度：{years[0]}–{years[-1]}（共{len(years)}年）" if years else "无")


# ---- administration ------------------------------------------------------------------------------


@admin_app.command("org")
def admin_org(
    code: str,
    name: str,
    level: Annotated[str, typer.Option(help="city/district/street/village/sector")],
    parent: Annotated[str | None, typer.Option(help="上级组织代码")] = None,
    jurisdiction: Annotated[str | None, typer.Option(help="适用规则")] = None,
    province: Annotated[str | None, typer.Option(help="省份（最低工资）")] = None,
) -> None:
    """登记工会组织。"""
    from .orgs import add_org_unit
    from .repository import get_org_unit
    from .uow import unit_of_work

    with unit_of_work(_db()) as uow:
        parent_unit = get_org_unit(uow.session, parent) if parent else None
        unit = add_org_unit(
            uow.session,
            code=code,
            name=name,
            level=level,
            parent=parent_unit,
            jurisdiction=jurisdiction,
            province=province,
        )
        typer.echo(f"已登记 {unit.name}（{unit.code}）")


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("密码", hide_input=True, confirmation_prompt=True))


@user_app.command("add")
def user_add(
    username: str,
    name: Annotated[str, typer.Option(help="姓名")],
    org: Annotated[str, typer.Option(help="所属工会组织代码")],
    role: Annotated[list[str], typer.Option(help="instructor/auditor/federation_admin/reviewer，可重复")],
    org_name: Annotated[str | None, typer.Option(help="组织不存在时，以此名称新建为顶级（市级）工会")] = None,
    jurisdiction: Annotated[str, typer.Option(help="新建顶级工会时适用的规则")] = "national",
    password_stdin: Annotated[bool, typer.Option(help="从标准输入读取密码（不提示）")] = False,
    no_password: Annotated[bool, typer.Option(help="不设密码（只能用 API 令牌）")] = False,
) -> None:
    """新增用户（首次安装时用它创建第一个管理员）。"""
    from sqlalchemy import select

    from bargaining.models import OrgUnit

    from .identity import add_user
    from .orgs import add_org_unit
    from .repository import get_org_unit
    from .uow import unit_of_work
    from .web.security import hash_password

    password_hash = None if no_password else hash_password(_read_password(password_stdin))
    with unit_of_work(_db()) as uow:
        s = uow.session
        if s.scalar(select(OrgUnit.id).where(OrgUnit.code == org)) is None and org_name:
            unit = add_org_unit(s, code=org, name=org_name, level="city", jurisdiction=jurisdiction)
        else:
            unit = get_org_unit(s, org)
        user = add_user(s, username=username, display_name=name, org_unit=unit, roles=role)
        user.password_hash = password_hash
        typer.echo(f"已新增用户 {user.username}（{unit.name}）")


@user_app.command("passwd")
def user_passwd(
    username: str,
    password_stdin: Annotated[bool, typer.Option(help="从标准输入读取密码")] = False,
) -> None:
    """设置用户密码（原有会话全部失效）。"""
    from sqlalchemy import select

    from bargaining.errors import NotFound
    from bargaining.models import User

    from .uow import unit_of_work
    from .web.security import hash_password, revoke_user_sessions

    password_hash = hash_password(_read_password(password_stdin))
    with unit_of_work(_db()) as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"找不到用户 {username}。")
        user.password_hash = password_hash
        revoke_user_sessions(uow.session, user.id, runtime.utcnow())
    typer.echo(f"已设置 {username} 的密码")


@user_app.command("disable")
def user_disable(username: str) -> None:
    """停用用户：立即结束其所有会话和 API 令牌。"""
    from sqlalchemy import select

    from bargaining.errors import NotFound
    from bargaining.models import User

    from .uow import unit_of_work
    from .web.security import revoke_user_sessions

    with unit_of_work(_db()) as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"找不到用户 {username}。")
        user.active = False
        revoke_user_sessions(uow.session, user.id, runtime.utcnow())
    typer.echo(f"已停用 {username}，其会话和令牌已失效")


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="令牌用途")] = "api",
) -> None:
    """为用户创建 API 令牌（只显示一次）。"""
    from sqlalchemy import select

    from bargaining.config import load_settings
    from bargaining.errors import NotFound
    from bargaining.models import User

    from .uow import unit_of_work
    from .web.security import create_api_token

    with unit_of_work(_db()) as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            raise NotFound(f"找不到在用的用户 {username}。")
        token = create_api_token(uow.session, load_settings(), user, name, runtime.utcnow())
    typer.echo(token)


@admin_app.command("enterprise")
def admin_enterprise(
    credit_code: str,
    name: str,
    org: Annotated[str, typer.Option(help="所属工会组织代码")],
    sector: Annotated[str | None, typer.Option(help="行业代码")] = None,
    headcount: int = 0,
    tier: Annotated[int, typer.Option(help="最低工资档次")] = 1,
) -> None:
    """登记企业（校验统一社会信用代码）。"""
    from .orgs import add_enterprise, get_sector
    from .repository import get_org_unit
    from .uow import unit_of_work

    with unit_of_work(_db()) as uow:
        s = uow.session
        enterprise = add_enterprise(
            s,
            credit_code=credit_code,
            name=name,
            org_unit=get_org_unit(s, org),
            sector=get_sector(s, sector) if sector else None,
            headcount=headcount,
            min_wage_tier=tier,
        )
        typer.echo(f"已登记企业 {enterprise.name}（{enterprise.credit_code}）")


def main(argv: list[str] | None = None) -> None:
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=argv, prog_name="bargaining", standalone_mode=False)
        if isinstance(rv, int) and rv != 0:  # typer.Exit(n) is returned, not raised, without standalone mode
            sys.exit(rv)
    except DomainError as exc:
        typer.echo(f"错误：{exc.message}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        typer.echo("已取消", err=True)
        sys.exit(1)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: say so on one line, keep the trace for developers
        if os.environ.get("BARGAINING_DEBUG"):
            raise
        typer.echo(f"内部错误（请联系管理员）：{type(exc).__name__}: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
