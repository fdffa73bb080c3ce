"""``bargaining audit …``: campaigns, sampling, replay, reports and audit cases from the command line.

Wire it in with ``register(app)`` (services/cli.py). Business errors surface as the ``错误：…``
line of ``services.cli.main``; ``--json`` gives machine-readable output; ``--as USER`` says who acts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from bargaining.actors import Actor
from bargaining.errors import ValidationError

from .. import runtime
from ..cli_support import (
    ActionData,
    ActionReason,
    AsUser,
    ExpectedVersion,
    JsonOut,
    acting_user,
    pairs,
    print_json,
)

audit_app = typer.Typer(help="专项抽查（履约检查）：抽样、复算、检查、整改、报告", no_args_is_help=True)
campaign_app = typer.Typer(
    help="专项抽查：新建、冻结抽样框、确定种子、抽样、审批、查看", no_args_is_help=True
)
case_app = typer.Typer(help="检查（每家抽中企业一件）：检查表、检查发现、整改", no_args_is_help=True)
checklist_app = typer.Typer(help="检查表模板（按版本管理）", no_args_is_help=True)
audit_app.add_typer(campaign_app, name="campaign")
audit_app.add_typer(case_app, name="case")
audit_app.add_typer(checklist_app, name="checklist")


FindingId = Annotated[int, typer.Option(help="检查发现编号")]
RectificationId = Annotated[int, typer.Option(help="整改事项编号")]


def register(app: typer.Typer) -> None:
    """Add the ``audit`` command group to the ``bargaining`` command."""
    app.add_typer(audit_app, name="audit")


def _db() -> Any:
    return runtime.database()


def _actor(username: str) -> Actor:
    return acting_user(_db(), username)  # through this module's _db, which tests point elsewhere


def _pairs(items: list[str] | None) -> dict[str, str]:
    return pairs(items, strip=True)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").replace("，", ",").split(",") if v.strip()]


# ---- campaigns ------------------------------------------------------------------------------------


@campaign_app.command("create")
def campaign_create(
    title: Annotated[str, typer.Option(help="名称")],
    legal_basis: Annotated[str, typer.Option("--legal-basis", help="法律依据")],
    start: Annotated[str, typer.Option(help="启动日期 YYYY-MM-DD（当日08:00自动启动）")],
    fieldwork_start: Annotated[str, typer.Option("--fieldwork-start", help="现场检查开始日期")],
    fieldwork_end: Annotated[str, typer.Option("--fieldwork-end", help="现场检查截止日期")],
    report_due: Annotated[str, typer.Option("--report-due", help="报告提交期限")],
    org: Annotated[
        str | None, typer.Option(help="组织单位代码（范围：其下级工会；默认本人所在工会）")
    ] = None,
    sector: Annotated[list[str] | None, typer.Option(help="行业代码，可重复（默认全部行业）")] = None,
    kind: Annotated[
        list[str] | None, typer.Option(help="协议类型 enterprise/adoption/sector，可重复")
    ] = None,
    min_months: Annotated[int, typer.Option("--min-months", help="集体合同至少已生效的月数")] = 6,
    strata: Annotated[
        str, typer.Option(help="分层维度，逗号分隔：region,sector,size（空为不分层）")
    ] = "region",
    size_bands: Annotated[
        str, typer.Option("--size-bands", help="规模分档界限（职工人数），逗号分隔")
    ] = "50,300",
    method: Annotated[str, typer.Option(help="分配方式 proportional/fixed/risk_weighted")] = "proportional",
    sample_size: Annotated[
        int, typer.Option("--sample-size", help="样本量（proportional/risk_weighted）")
    ] = 0,
    per_stratum: Annotated[int, typer.Option("--per-stratum", help="每层固定数量（fixed）")] = 0,
    min_per_stratum: Annotated[int, typer.Option("--min-per-stratum", help="每层最少样本数")] = 0,
    checklist: Annotated[str, typer.Option(help="检查表代码")] = "wage-agreement",
    checklist_version: Annotated[
        int | None, typer.Option("--checklist-version", help="检查表版本（默认最新）")
    ] = None,
    inspector: Annotated[list[str] | None, typer.Option(help="检查人员库中的督查员用户名，可重复")] = None,
    reminder_days: Annotated[int, typer.Option("--reminder-days", help="启动前几天提醒（0 不提醒）")] = 3,
    as_user: AsUser = "admin",
    as_json: JsonOut = False,
) -> None:
    """新建专项抽查：范围、分层与分配、检查表、检查人员库、日程。"""
    from .campaigns import create_campaign

    result = create_campaign(
        _db(),
        _actor(as_user),
        title=title,
        legal_basis=legal_basis,
        org=org,
        sectors=sector or [],
        kinds=kind or None,
        min_months_in_force=min_months,
        dimensions=_split(strata),
        size_bands=[int(b) for b in _split(size_bands)],
        method=method,
        sample_size=sample_size,
        per_stratum=per_stratum,
        minimum_per_stratum=min_per_stratum,
        checklist=checklist,
        checklist_version=checklist_version,
        inspectors=inspector or [],
        start_on=start,
        fieldwork_start=fieldwork_start,
        fieldwork_end=fieldwork_end,
        report_due=report_due,
        reminder_days=reminder_days,
    )
    if as_json:
        print_json(result)
        return
    typer.echo(f"已新建专项抽查 {result['number']}：{result['title']}（{result['status_label']}）")


@campaign_app.command("list")
def campaign_list(as_user: AsUser = "admin", as_json: JsonOut = False) -> None:
    """我可见的专项抽查。"""
    from .queries import list_campaigns

    items = list_campaigns(_db(), _actor(as_user))
    if as_json:
        print_json(items)
        return
    for c in items:
        typer.echo(
            f"{c['number']}  {c['status_label']}  {c['title']}  检查 {c['closed']}/{c['cases']} 已结案"
        )


@campaign_app.command("show")
def campaign_show(ref: str, as_user: AsUser = "admin", as_json: JsonOut = False) -> None:
    """日程、抽样记录、样本与进度。"""
    from .queries import campaign_detail

    d = campaign_detail(_db(), _actor(as_user), ref)
    if as_json:
        print_json(d)
        return
    typer.echo(f"{d['number']}  {d['title']}  [{d['status_label']}]")
    typer.echo(f"组织：{d['org']}；依据：{d['legal_basis']}")
    typer.echo(
        f"范围：{'、'.join(d['scope']['sectors'])}；{'、'.join(d['scope']['kinds'])}；生效满{d['scope']['min_months_in_force']}个月"
    )
    typer.echo(f"分配：{d['allocation_rule']}；检查表：{d['checklist']}")
    typer.echo("日程：")
    for e in d["schedule"]:
        done = (
            f"已执行 {e['fired_at']}：{e['outcome']}"
            if e["fired_at"]
            else ("已排定" if e["scheduled"] else "审批后排定")
        )
        typer.echo(f"  {e['label']}  {e['at']}  {done}")
    record = d["record"]
    if record:
        typer.echo(
            f"抽样框：{record['frame_rows']}家（截至{record['as_of']}），SHA-256 {record['frame_sha256']}"
        )
        if record["seed"]:
            typer.echo(f"随机种子：{record['seed']}")
            typer.echo(
                f"  来源：{record['seed_source']}；随机数：{record['seed_entropy']}；说明：{record['seed_provenance']}"
            )
        typer.echo(f"算法：{record['algorithm']}；抽样结果哈希：{record['selection_sha256'] or '—'}")
        typer.echo(
            f"审批：{record['approved_by'] or '—'} {record['approved_at'] or ''}；记录哈希：{record['record_sha256'] or '—'}"
        )
        for st in record["strata"]:
            typer.echo(
                f"  {st['label']}：{st['population']}家，抽{st['allocated'] if st['allocated'] is not None else '—'}家"
            )
        for note in record["notes"]:
            typer.echo(f"  说明：{note}")
    if d["sample"]:
        typer.echo("样本：")
        for u in d["sample"]:
            mark = "（已替换）" if u["replaced"] else ""
            case = f"{u['case_number']} {u['state_label']}" if u["case_number"] else "未启动"
            typer.echo(
                f"  {u['unit_id']}  {u['enterprise']}{mark}  {u['stratum']}  {'、'.join(u['inspectors'])}  {case}"
            )


def _campaign_step(step: str, ref: str, as_user: str, as_json: bool, **kwargs: Any) -> None:
    from . import campaigns

    result = getattr(campaigns, step)(_db(), _actor(as_user), ref, **kwargs)
    if as_json:
        print_json(result)
        return
    typer.echo(f"{result['number']}：{result['status_label']}")


@campaign_app.command("freeze")
def campaign_freeze(ref: str, as_user: AsUser = "admin", as_json: JsonOut = False) -> None:
    """冻结抽样框（审批前可重新冻结，随机种子和抽样随之作废）。"""
    _campaign_step("freeze_frame", ref, as_user, as_json)


@campaign_app.command("seed")
def campaign_seed(
    ref: str,
    source: Annotated[str, typer.Option(help="public 公开随机数 / ceremony 现场摇号 / system 系统随机数")],
    entropy: Annotated[str | None, typer.Option(help="随机数（public/ceremony）")] = None,
    provenance: Annotated[str, typer.Option(help="来源说明，如开奖期号、摇号会议记录")] = "",
    as_user: AsUser = "admin",
    as_json: JsonOut = False,
) -> None:
    """确定随机种子：SHA-256(抽样框哈希 | 随机数)，须在冻结抽样框之后。"""
    _campaign_step("fix_seed", ref, as_user, as_json, source=source, entropy=entropy, provenance=provenance)


@campaign_app.command("draw")
def campaign_draw(ref: str, as_user: AsUser = "admin", as_json: JsonOut = False) -> None:
    """抽取企业并为每家随机抽取2名检查人员（回避关联人员）。"""
    _campaign_step("draw_sample", ref, as_user, as_json)


@campaign_app.command("approve")
def campaign_approve(ref: str, as_user: AsUser = "admin", as_json: JsonOut = False) -> None:
    """审批抽样记录（须由抽样人以外的人员），并排定提醒、启动等日程。"""
    _campaign_step("approve_sampling", ref, as_user, as_json)


@campaign_app.command("inspectors")
def campaign_inspectors(ref: str, usernames: list[str], as_user: AsUser = "admin") -> None:
    """设置检查人员库（抽样前）。"""
    from .campaigns import set_inspectors

    result = set_inspectors(_db(), _actor(as_user), ref, usernames)
    typer.echo(f"{result['number']}：检查人员库已更新（{len(usernames)}人）")


@campaign_app.command("replace")
def campaign_replace(
    ref: str,
    unit: Annotated[str, typer.Option(help="被替换企业的统一社会信用代码")],
    reason: Annotated[str, typer.Option(help="原因，如企业已注销")],
    as_user: AsUser = "admin",
) -> None:
    """替换无法检查的抽中企业：同层按密钥顺序递补下一家。"""
    from .campaigns import replace_unit

    result = replace_unit(_db(), _actor(as_user), ref, unit_id=unit, reason=reason)
    typer.echo(f"{result['number']}：{unit} 已由 {result['replacement'] or '（层内已无可替换企业）'} 替换")


@audit_app.command("link")
def audit_link(
    inspector: Annotated[str, typer.Option(help="督查员用户名")],
    enterprise: Annotated[str, typer.Option(help="企业统一社会信用代码")],
    relation: Annotated[str, typer.Option(help="关联关系，如：近亲属在该企业任职")],
    as_user: AsUser = "admin",
) -> None:
    """登记回避关系：该督查员不会被抽中检查该企业。"""
    from .campaigns import declare_link

    result = declare_link(
        _db(), _actor(as_user), username=inspector, enterprise=enterprise, relation=relation
    )
    typer.echo(f"已登记回避：{result['inspector']} — {result['enterprise']}（{result['relation']}）")


@audit_app.command("replay")
def audit_replay(
    campaign: Annotated[str | None, typer.Argument(help="专项抽查编号（从数据库读取抽样记录）")] = None,
    record: Annotated[
        Path | None, typer.Option(help="抽样记录文件（audit export-record 导出），无需数据库")
    ] = None,
    as_user: AsUser = "admin",
    as_json: JsonOut = False,
) -> None:
    """按抽样记录复算抽样，报告是否一致；不一致时退出码为1。"""
    from .replay import replay_campaign, replay_document

    if (campaign is None) == (record is None):
        raise ValidationError("请指定专项抽查编号，或用 --record 指定抽样记录文件（二者选一）。")
    if record is not None:
        try:
            doc = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValidationError(f"无法读取抽样记录文件：{exc}") from None
        report = replay_document(doc)
    else:
        assert campaign is not None
        report = replay_campaign(_db(), _actor(as_user), campaign)
    if as_json:
        print_json(report.as_dict())
    else:
        typer.echo(f"{report.campaign}：{'复算一致' if report.matches else '复算不一致'}")
        for check in report.checks:
            typer.echo(f"  [{'✓' if check.ok else '✗'}] {check.label}：{check.detail}")
        current = report.current_frame
        if current is not None:
            if current["unchanged"]:
                typer.echo("  当前登记数据按同一条件生成的抽样框与冻结时相同。")
            else:
                typer.echo(
                    f"  注意：当前登记数据按同一条件生成的抽样框已变化（新增{len(current['added'])}家、"
                    f"减少{len(current['removed'])}家、层或权重变化{len(current['changed'])}家）；"
                    "抽样以冻结时的抽样框为准。"
                )
    if not report.matches:
        raise typer.Exit(1)


@audit_app.command("export-record")
def audit_export_record(
    campaign: str,
    out: Annotated[Path, typer.Option(help="输出文件（JSON）")],
    as_user: AsUser = "admin",
) -> None:
    """导出抽样记录（含全部抽样框企业及密钥），供任何人离线复算。"""
    from .replay import export_record

    doc = export_record(_db(), _actor(as_user), campaign)
    out.write_text(json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    typer.echo(f"已导出抽样记录：{out}（{doc['frame']['rows']}家企业）")


@audit_app.command("report")
def audit_report(
    campaign: str,
    format: Annotated[str, typer.Option("--format", help="pdf 或 xlsx")] = "pdf",
    out: Annotated[Path | None, typer.Option(help="输出文件")] = None,
    as_user: AsUser = "admin",
) -> None:
    """生成专项抽查报告（PDF 或 XLSX）。"""
    from .reports import render_pdf, render_xlsx, report_data

    if format not in ("pdf", "xlsx"):
        raise ValidationError("报告格式应为 pdf 或 xlsx。")
    data = report_data(_db(), _actor(as_user), campaign)
    content = render_pdf(data) if format == "pdf" else render_xlsx(data)
    target = out or Path(f"{data['campaign']['number']}-report.{format}")
    target.write_bytes(content)
    typer.echo(f"已生成报告：{target}（{len(content) // 1024} KB）")


@audit_app.command("sweep")
def audit_sweep(
    now: Annotated[str | None, typer.Option("--now", help="按此时间扫描（ISO 日期或时间，默认当前）")] = None,
    as_json: JsonOut = False,
) -> None:
    """处理到期的专项抽查日程（提醒、启动……）和整改期限（监督意见书、建议书）。"""
    from ..timeparse import parse_instant
    from .sweep import sweep_audits

    instant = parse_instant(now) if now else runtime.utcnow()
    report = sweep_audits(_db(), instant)
    if as_json:
        print_json({"now": instant.isoformat(), **report.as_dict()})
        return
    typer.echo(
        f"扫描时间 {instant.isoformat()}：提醒 {report.reminders}，启动 {report.started}，"
        f"监督意见书 {report.opinions}，监督建议书 {report.suggestions}，失败 {report.failed}"
    )
    for d in report.details:
        typer.echo("  " + "  ".join(str(v) for v in d.values()))


# ---- checklists -----------------------------------------------------------------------------------


@checklist_app.command("list")
def checklist_list(as_json: JsonOut = False) -> None:
    """检查表模板及版本。"""
    from .checklists import list_templates

    items = list_templates(_db())
    if as_json:
        print_json(items)
        return
    for t in items:
        typer.echo(f"{t['code']} 第{t['version']}版  {t['title']}  {t['items']}项  {t['sha256'][:12]}")


@checklist_app.command("add")
def checklist_add(file: Path, as_user: AsUser = "admin") -> None:
    """新增检查表版本（JSON：code、version、title、legal_basis、items[]）。已发布的版本不能修改。"""
    from .checklists import add_template

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValidationError(f"无法读取检查表文件：{exc}") from None
    result = add_template(_db(), _actor(as_user), data)
    typer.echo(f"已登记检查表 {result['code']} 第{result['version']}版（{result['items']}项）")


# ---- audit cases ----------------------------------------------------------------------------------


@case_app.command("list")
def case_list(campaign: str, as_user: AsUser = "admin", as_json: JsonOut = False) -> None:
    """专项抽查中的检查。"""
    from .queries import campaign_cases

    items = campaign_cases(_db(), _actor(as_user), campaign)
    if as_json:
        print_json(items)
        return
    for c in items:
        typer.echo(
            f"{c['number']}  {c['state_label']}  {c['enterprise']}  得分 {c['score'] or '—'}  应补发 {c['amount_owed']}元"
        )


@case_app.command("show")
def case_show(ref: str, as_user: AsUser = "admin", as_json: JsonOut = False) -> None:
    """检查表、检查发现、整改事项、时间线和可执行操作。"""
    from .queries import audit_case_detail

    d = audit_case_detail(_db(), _actor(as_user), ref)
    if as_json:
        d = {**d, "actions": [{k: v for k, v in a.items() if k != "fields"} for a in d["actions"]]}
        print_json(d)
        return
    typer.echo(
        f"{d['number']}  {d['enterprise']['name']}（{d['enterprise']['credit_code']}）  [{d['state_label']}]"
    )
    typer.echo(
        f"专项抽查 {d['campaign']['number']}；检查组：{'、'.join(d['inspectors'])}；得分 {d['score'] or '—'}"
    )
    typer.echo("检查表：")
    for item in d["checklist"]["items"]:
        answer = (
            "不适用（" + item["derived_na"] + "）"
            if item["derived_na"]
            else (item["answer_label"] or "未填写")
        )
        typer.echo(f"  {item['code']}  {item['title']}：{answer}")
    for f in d["findings"]:
        typer.echo(
            f"检查发现 #{f['id']} [{f['severity_label']}] {f['item']}：{f['description']}；应补发 {f['amount_owed']}元，已补发 {f['amount_recovered']}元"
        )
    for r in d["rectifications"]:
        typer.echo(
            f"整改 #{r['id']} {r['action']}（{r['owner']}，{r['due']}）：{r['status_label']} {r['escalation_label']}"
        )
    typer.echo("可执行操作：")
    for a in d["actions"]:
        why = "" if a["allowed"] else "：" + "；".join(a["reasons"])
        typer.echo(f"  [{'可' if a['allowed'] else '否'}] {a['trigger']}（{a['label']}）{why}")


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
    """执行检查流程操作（notify、record_inspection、close_compliant、confirm_findings …）。"""
    from .cases import fire_action

    result = fire_action(
        _db(),
        _actor(as_user),
        ref,
        trigger,
        values=_pairs(data),
        reason=reason,
        expected_version=expected_version,
    )
    if as_json:
        print_json(result)
        return
    typer.echo(f"{result['number']}：{result['state_label']}")


@case_app.command("answer")
def case_answer(
    ref: str,
    item: Annotated[list[str], typer.Option(help="检查项=结论（compliant/noncompliant/na），可重复")],
    note: Annotated[list[str] | None, typer.Option(help="检查项=说明，可重复")] = None,
    as_user: AsUser = "admin",
) -> None:
    """填写检查表。"""
    from .cases import save_answers

    notes = _pairs(note)
    answers: dict[str, tuple[str, str | None]] = {k: (v, notes.get(k)) for k, v in _pairs(item).items()}
    result = save_answers(_db(), _actor(as_user), ref, answers)
    typer.echo(f"{result['number']}：已保存 {len(result['changed'])} 项")


@case_app.command("finding")
def case_finding(
    ref: str,
    item: Annotated[str, typer.Option(help="检查项代码")],
    description: Annotated[str, typer.Option(help="具体情况")],
    severity: Annotated[str | None, typer.Option(help="low/medium/high（默认按检查项）")] = None,
    row: Annotated[list[str] | None, typer.Option(help="工资数据一行：字段=值,字段=值，可重复")] = None,
    workers: Annotated[int | None, typer.Option(help="涉及人数（默认取工资数据）")] = None,
    as_user: AsUser = "admin",
) -> None:
    """登记检查发现；应补发金额由工资数据计算。"""
    from .cases import add_finding

    rows = [_pairs([p for p in r.replace("，", ",").split(",") if p.strip()]) for r in row or []]
    result = add_finding(
        _db(),
        _actor(as_user),
        ref,
        item_code=item,
        severity=severity,
        description=description,
        rows=rows,
        affected_workers=workers,
    )
    calc = result["calculation"]
    typer.echo(f"{result['number']}：检查发现 #{result['finding_id']}，应补发 {result['finding_amount']}元")
    if calc.get("formula"):
        typer.echo(f"  计算：{calc['formula']}")
        for line in calc["lines"]:
            typer.echo(
                f"  {line['label']}：{line['workers']}人 × {line['quantity']}{line['unit']} × ({line['due_rate']} − {line['paid_rate']}) = {line['owed']}元  {line['basis']}"
            )


@case_app.command("rectify")
def case_rectify(
    ref: str,
    finding: FindingId,
    action: Annotated[str, typer.Option(help="整改要求")],
    owner: Annotated[str, typer.Option(help="责任人")],
    due: Annotated[str, typer.Option(help="整改期限 YYYY-MM-DD")],
    evidence: Annotated[str, typer.Option(help="须提交的证据")],
    as_user: AsUser = "admin",
) -> None:
    """下达整改事项。"""
    from .cases import add_rectification

    result = add_rectification(
        _db(),
        _actor(as_user),
        ref,
        finding_id=finding,
        action=action,
        owner=owner,
        due=due,
        required_evidence=evidence,
    )
    typer.echo(f"{result['number']}：整改事项 #{result['rectification_id']}")


@case_app.command("evidence")
def case_evidence(
    ref: str,
    file: Path,
    finding: Annotated[int | None, typer.Option(help="检查发现编号")] = None,
    rectification: Annotated[int | None, typer.Option(help="整改事项编号")] = None,
    note: Annotated[str | None, typer.Option(help="说明")] = None,
    as_user: AsUser = "admin",
) -> None:
    """上传证据文件（PDF、JPEG、PNG、XLSX、DOCX、CSV、TXT，不超过10MB）。"""
    from .evidence import MAX_BYTES, store_evidence

    if not file.is_file():
        raise ValidationError(f"找不到文件 {file}")
    if file.stat().st_size > MAX_BYTES:
        raise ValidationError("文件过大，每个文件不超过10MB。")
    result = store_evidence(
        _db(),
        _actor(as_user),
        ref,
        filename=file.name,
        content=file.read_bytes(),
        finding_id=finding,
        rectification_id=rectification,
        note=note,
    )
    typer.echo(f"已上传证据 #{result['id']} {result['name']}（SHA-256 {result['sha256']}）")


@case_app.command("submit")
def case_submit(
    ref: str,
    rectification: RectificationId,
    note: Annotated[str, typer.Option(help="整改情况")] = "",
    as_user: AsUser = "admin",
) -> None:
    """登记企业已完成整改（须先上传整改证据）。"""
    from .cases import submit_rectification

    result = submit_rectification(_db(), _actor(as_user), ref, rectification_id=rectification, note=note)
    typer.echo(f"{result['number']}：整改事项 #{rectification} 已提交，待复查")


@case_app.command("verify")
def case_verify(
    ref: str,
    rectification: RectificationId,
    note: Annotated[str, typer.Option(help="复查意见")],
    passed: Annotated[bool, typer.Option("--pass/--fail", help="复查是否合格")] = True,
    as_user: AsUser = "admin",
) -> None:
    """复查整改事项。"""
    from .cases import verify_rectification

    result = verify_rectification(
        _db(), _actor(as_user), ref, rectification_id=rectification, passed=passed, note=note
    )
    typer.echo(
        f"{result['number']}：整改事项 #{rectification} {'复查合格' if passed else '复查不合格，退回整改'}"
    )


@case_app.command("employer-answer")
def case_employer_answer(
    ref: str,
    rectification: RectificationId,
    on: Annotated[str, typer.Option(help="答复日期 YYYY-MM-DD")],
    summary: Annotated[str, typer.Option(help="答复要点")],
    as_user: AsUser = "admin",
) -> None:
    """登记用人单位对劳动法律监督意见书的书面答复。"""
    from .cases import record_employer_answer

    result = record_employer_answer(
        _db(), _actor(as_user), ref, rectification_id=rectification, answered_on=on, summary=summary
    )
    typer.echo(f"{result['number']}：已登记书面答复")


@case_app.command("recover")
def case_recover(
    ref: str,
    finding: FindingId,
    amount: Annotated[str, typer.Option(help="累计已补发金额（元）")],
    as_user: AsUser = "admin",
) -> None:
    """登记已补发金额。"""
    from .cases import record_recovery

    result = record_recovery(_db(), _actor(as_user), ref, finding_id=finding, amount=amount)
    typer.echo(f"{result['number']}：应补发 {result['amount_owed']}元，已补发 {result['amount_recovered']}元")
