"""Campaign use cases (专项抽查): define, freeze the frame, fix the seed, draw, approve, replace.

The order is enforced by ``Campaign.status`` and by the sampling record itself: the seed can be
fixed only after the frame is frozen (and strictly later in time), the draw needs the seed, and
approval needs a second person. From approval on the record is immutable (database triggers);
replacements are appended with their reasons. Every step writes an ``audit_events`` row.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.errors import Conflict, Forbidden, NotFound, ValidationError
from bargaining.models import Case, Enterprise, OrgUnit, User
from bargaining.models.audit import (
    AuditCase,
    Campaign,
    CampaignInspector,
    InspectorLink,
    SamplingInspector,
    SamplingRecord,
    SamplingReplacement,
    SamplingUnit,
    ScheduleEntry,
)
from bargaining.rules.periods import LEGAL_TZ, end_of_day_utc, legal_date
from bargaining.rules.sampling import (
    ALGORITHM,
    ALGORITHM_VERSION,
    STRATUM_DIMENSIONS,
    AllocationRule,
    FrameUnit,
    derive_seed,
    draw,
    draw_inspectors,
    frame_sha256,
    next_replacement,
    unit_key,
)
from workflows.audit_engine import current_definition, write_audit_event
from workflows.audit_engine import fire as fire_audit

from .. import runtime
from ..repository import get_org_unit, visible_enterprises
from ..uow import unit_of_work
from .checklists import find_template
from .frame import build_frame, frame_definition
from .record import record_document, record_sha256
from .repository import changing_campaign, require_auditor

SEED_SOURCES = {
    "public": "公开随机数（如开奖号码），抽样框冻结后产生",
    "ceremony": "多方现场摇号（掷骰/抽签），有会议记录",
    "system": "系统密码学随机数（secrets），抽样框冻结后生成",
}
STATUS_LABELS = {
    "draft": "草拟",
    "frozen": "抽样框已冻结",
    "seeded": "随机种子已确定",
    "drawn": "已抽样，待审批",
    "approved": "抽样记录已审批，待启动",
    "started": "检查进行中",
    "closed": "已结束",
}
SCHEDULE_LABELS = {
    "reminder": "启动提醒",
    "start": "启动检查",
    "fieldwork_end": "现场检查截止",
    "report_due": "报告提交期限",
}
KIND_CHOICES = ("enterprise", "adoption", "sector")


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LEGAL_TZ).astimezone(UTC)


def schedule_times(campaign: Campaign) -> dict[str, datetime]:
    """When each schedule entry fires (UTC): reminder 09:00 and start 08:00 China time, the end of
    field work at 24:00 of its last day, the report reminder 09:00 on the due day."""
    return {
        "reminder": _at(campaign.start_on - timedelta(days=campaign.reminder_days), 9),
        "start": _at(campaign.start_on, 8),
        "fieldwork_end": end_of_day_utc(campaign.fieldwork_end),
        "report_due": _at(campaign.report_due, 9),
    }


def _event(
    s: Session,
    campaign: Campaign,
    trigger: str,
    actor: Actor,
    now: datetime,
    *,
    payload: dict[str, Any] | None = None,
    reason: str | None = None,
    request_id: str | None = None,
) -> None:
    write_audit_event(
        s,
        trigger,
        campaign_id=campaign.id,
        actor=actor,
        role=actor.primary_role(frozenset({"auditor", "federation_admin", "system"})),
        now=now,
        from_state=campaign.status,
        to_state=campaign.status,
        reason=reason,
        payload=payload,
        request_id=request_id,
    )


def _set_status(campaign: Campaign, status: str, now: datetime) -> None:
    campaign.status = status
    campaign.updated_at = now


def _parse_date(raw: Any, label: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ValidationError(f"“{label}”的日期格式应为 YYYY-MM-DD：{raw}") from None


def _pool(s: Session, campaign: Campaign) -> list[User]:
    return list(
        s.scalars(
            select(User)
            .join(CampaignInspector, CampaignInspector.user_id == User.id)
            .where(CampaignInspector.campaign_id == campaign.id)
            .order_by(User.username)
        )
    )


def _set_pool(s: Session, campaign: Campaign, org: OrgUnit, usernames: list[str]) -> list[str]:
    names = sorted({u.strip() for u in usernames if u.strip()})
    users = []
    for name in names:
        user = s.scalar(select(User).where(User.username == name))
        if user is None or not user.active:
            raise ValidationError(f"找不到在用的用户 {name}。")
        if "auditor" not in user.roles:
            raise ValidationError(f"{user.display_name}（{name}）不是督查员，不能列入检查人员库。")
        unit = s.get(OrgUnit, user.org_unit_id)
        if unit is None or not unit.path.startswith(org.path):
            raise ValidationError(f"{user.display_name}（{name}）不属于{org.name}及其下级工会。")
        users.append(user)
    s.execute(delete(CampaignInspector).where(CampaignInspector.campaign_id == campaign.id))
    for user in users:
        s.add(CampaignInspector(campaign_id=campaign.id, user_id=user.id))
    s.flush()
    return names


def create_campaign(
    db: Database,
    actor: Actor,
    *,
    title: str,
    legal_basis: str,
    start_on: Any,
    fieldwork_start: Any,
    fieldwork_end: Any,
    report_due: Any,
    org: str | None = None,
    sectors: list[str] | None = None,
    kinds: list[str] | None = None,
    min_months_in_force: int = 6,
    dimensions: list[str] | None = None,
    size_bands: list[int] | None = None,
    method: str = "proportional",
    sample_size: int = 0,
    per_stratum: int = 0,
    minimum_per_stratum: int = 0,
    checklist: str = "wage-agreement",
    checklist_version: int | None = None,
    inspectors: list[str] | None = None,
    reminder_days: int = 3,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    require_auditor(actor, "新建专项抽查")
    now = now or runtime.utcnow()
    today = legal_date(now)
    if not title.strip():
        raise ValidationError("请填写专项抽查名称。")
    if not legal_basis.strip():
        raise ValidationError("请填写专项抽查的法律依据。")
    start = _parse_date(start_on, "启动日期")
    fw_start = _parse_date(fieldwork_start, "现场检查开始日期")
    fw_end = _parse_date(fieldwork_end, "现场检查截止日期")
    due = _parse_date(report_due, "报告提交期限")
    if start < today:
        raise ValidationError(f"启动日期（{start.isoformat()}）不能早于今天（{today.isoformat()}）。")
    if not start <= fw_start <= fw_end <= due:
        raise ValidationError("日期顺序应为：启动日期 ≤ 现场检查开始 ≤ 现场检查截止 ≤ 报告提交期限。")
    if not 0 <= reminder_days <= 60:
        raise ValidationError("提前提醒天数应在0至60之间。")
    if min_months_in_force < 0 or min_months_in_force > 120:
        raise ValidationError("集体合同生效月数应在0至120之间。")
    kinds = sorted(set(kinds or ["enterprise", "adoption"]))
    bad = [k for k in kinds if k not in KIND_CHOICES]
    if bad or not kinds:
        raise ValidationError(f"协议类型应为：{'、'.join(KIND_CHOICES)}（企业、履约、行业）。")
    dims = list(dict.fromkeys(dimensions if dimensions is not None else ["region"]))
    unknown = [d for d in dims if d not in STRATUM_DIMENSIONS]
    if unknown:
        raise ValidationError(
            f"分层维度应为：region（地区）、sector（行业）、size（规模）；不认识：{'、'.join(unknown)}"
        )
    bands = sorted({int(b) for b in (size_bands or [50, 300])})
    if any(b <= 0 for b in bands):
        raise ValidationError("规模分档界限应为正整数（职工人数）。")
    rule = AllocationRule.from_dict(
        {
            "method": method,
            "sample_size": sample_size,
            "per_stratum": per_stratum,
            "minimum_per_stratum": minimum_per_stratum,
        }
    )
    with unit_of_work(db) as uow:
        s = uow.session
        if org:
            unit = get_org_unit(s, org)
        else:
            if actor.user_id is None:
                raise ValidationError("请指定组织（--org）。")
            user = s.get(User, actor.user_id)
            assert user is not None
            home = s.get(OrgUnit, user.org_unit_id)
            assert home is not None
            unit = home
        if actor.org_path is not None and not unit.path.startswith(actor.org_path):
            # the code the user gave, not the unit's name: another region's names are not shown
            raise Forbidden(f"工会组织 {unit.code} 不在您的管辖范围内。")
        for code in sectors or []:
            from ..orgs import get_sector

            get_sector(s, code)
        template = find_template(s, checklist, checklist_version)
        campaign = Campaign(
            number=f"tmp-{secrets.token_hex(8)}",
            title=title.strip(),
            org_unit_id=unit.id,
            legal_basis=legal_basis.strip(),
            scope={
                "org": unit.code,
                "sectors": sorted(set(sectors or [])),
                "kinds": kinds,
                "min_months_in_force": min_months_in_force,
            },
            strata={"dimensions": dims, "size_bands": bands},
            allocation=rule.as_dict(),
            checklist_template_id=template.id,
            start_on=start,
            reminder_days=reminder_days,
            fieldwork_start=fw_start,
            fieldwork_end=fw_end,
            report_due=due,
            status="draft",
            created_by_id=actor.user_id,
            created_at=now,
            updated_at=now,
        )
        s.add(campaign)
        s.flush()
        campaign.number = f"{today.year}-C{campaign.id:05d}"
        pool = _set_pool(s, campaign, unit, inspectors or [])
        _event(
            s,
            campaign,
            "campaign_created",
            actor,
            now,
            payload={
                "scope": campaign.scope,
                "strata": campaign.strata,
                "allocation": campaign.allocation,
                "inspectors": pool,
            },
            request_id=request_id,
        )
        s.flush()
        return campaign_summary(campaign)


def set_inspectors(
    db: Database,
    actor: Actor,
    ref: str | int,
    usernames: list[str],
    *,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    require_auditor(actor, "调整检查人员库")
    now = now or runtime.utcnow()
    with changing_campaign(db, actor, ref) as (s, campaign):
        if campaign.status not in ("draft", "frozen", "seeded"):
            raise ValidationError("已经抽样，检查人员库不能再调整。")
        org = s.get(OrgUnit, campaign.org_unit_id)
        assert org is not None
        pool = _set_pool(s, campaign, org, usernames)
        campaign.updated_at = now
        _event(s, campaign, "inspectors_set", actor, now, payload={"inspectors": pool}, request_id=request_id)
        return campaign_summary(campaign)


def declare_link(
    db: Database,
    actor: Actor,
    *,
    username: str,
    enterprise: str,
    relation: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record that an inspector is linked to an enterprise (former employee, relative, adviser …)."""
    require_auditor(actor, "登记回避关系")
    now = now or runtime.utcnow()
    if not relation.strip():
        raise ValidationError("请说明关联关系（如：曾在该企业任职、近亲属在该企业任职）。")
    with unit_of_work(db) as uow:
        s = uow.session
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"找不到用户 {username}。")
        row = s.scalar(visible_enterprises(actor).where(Enterprise.credit_code == enterprise.strip().upper()))
        if row is None:
            raise NotFound(f"找不到企业 {enterprise}，或不在您的管辖范围内。")
        link = s.scalar(
            select(InspectorLink).where(
                InspectorLink.user_id == user.id, InspectorLink.enterprise_id == row.id
            )
        )
        if link is None:
            s.add(
                InspectorLink(
                    user_id=user.id,
                    enterprise_id=row.id,
                    relation=relation.strip(),
                    declared_by_id=actor.user_id,
                    declared_at=now,
                )
            )
        else:
            link.relation = relation.strip()
        return {"inspector": username, "enterprise": row.credit_code, "relation": relation.strip()}


def _record(s: Session, campaign: Campaign) -> SamplingRecord | None:
    return s.scalar(select(SamplingRecord).where(SamplingRecord.campaign_id == campaign.id))


def freeze_frame(
    db: Database,
    actor: Actor,
    ref: str | int,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Take the frame snapshot. Before approval it may be taken again; that clears seed and draw."""
    require_auditor(actor, "冻结抽样框")
    now = now or runtime.utcnow()
    with changing_campaign(db, actor, ref, expected_version) as (s, campaign):
        if campaign.status not in ("draft", "frozen", "seeded", "drawn"):
            raise ValidationError(f"抽样记录已审批（{STATUS_LABELS[campaign.status]}），抽样框不能再变更。")
        org = s.get(OrgUnit, campaign.org_unit_id)
        assert org is not None
        definition = frame_definition(
            org=org,
            sectors=campaign.scope.get("sectors", []),
            kinds=campaign.scope.get("kinds", ["enterprise", "adoption"]),
            min_months=int(campaign.scope.get("min_months_in_force", 0)),
            dimensions=campaign.strata.get("dimensions", []),
            size_bands=campaign.strata.get("size_bands", []),
            as_of=legal_date(now),
        )
        rows = build_frame(s, definition)
        if not rows:
            raise ValidationError("抽样范围内没有符合条件的企业（集体合同生效满规定月数），请调整范围。")
        units = [r.unit for r in rows]
        digest = frame_sha256(units)
        record = _record(s, campaign)
        if record is None:
            record = SamplingRecord(
                campaign_id=campaign.id, algorithm=ALGORITHM, algorithm_version=ALGORITHM_VERSION
            )
            s.add(record)
        else:
            s.execute(delete(SamplingInspector).where(SamplingInspector.record_id == record.id))
            s.execute(delete(SamplingUnit).where(SamplingUnit.record_id == record.id))
        record.frame_definition = definition
        record.frame_sha256 = digest
        record.frame_rows = len(rows)
        record.frozen_at = now
        record.frozen_by_id = actor.user_id
        record.strata = _strata_summary(units)
        record.allocation = {}
        record.seed_entropy = record.seed = record.seed_source = record.seed_provenance = None
        record.seed_fixed_at = None
        record.seed_fixed_by_id = None
        record.drawn_at = None
        record.drawn_by_id = None
        record.selection_sha256 = None
        record.inspector_recusals = []
        record.algorithm = ALGORITHM
        record.algorithm_version = ALGORITHM_VERSION
        s.flush()
        s.execute(
            insert(SamplingUnit),
            [
                {
                    "record_id": record.id,
                    "enterprise_id": r.enterprise_id,
                    "unit_id": r.unit.unit_id,
                    "agreement_case_id": r.agreement_case_id,
                    "stratum": r.unit.stratum,
                    "weight": r.unit.weight,
                    "selected": False,
                }
                for r in rows
            ],
        )
        _set_status(campaign, "frozen", now)
        _event(
            s,
            campaign,
            "frame_frozen",
            actor,
            now,
            payload={"frame_sha256": digest, "rows": len(rows), "as_of": definition["as_of"]},
            request_id=request_id,
        )
        return campaign_summary(campaign)


def _strata_summary(units: list[FrameUnit]) -> list[dict[str, Any]]:
    sizes: dict[str, list[int]] = {}
    for u in units:
        entry = sizes.setdefault(u.stratum, [0, 0])
        entry[0] += 1
        entry[1] += u.weight
    return [{"stratum": h, "population": n, "weight_total": w} for h, (n, w) in sorted(sizes.items())]


def fix_seed(
    db: Database,
    actor: Actor,
    ref: str | int,
    *,
    source: str,
    entropy: str | None = None,
    provenance: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Fix the seed after the frame is frozen: SHA-256(frame hash | entropy)."""
    require_auditor(actor, "确定随机种子")
    now = now or runtime.utcnow()
    if source not in SEED_SOURCES:
        raise ValidationError(
            "随机种子来源应为：" + "、".join(f"{k}（{v}）" for k, v in SEED_SOURCES.items())
        )
    if source == "system":
        if entropy:
            raise ValidationError("系统随机数由系统生成，不能手工填写。")
        entropy = secrets.token_hex(32)
        provenance = provenance.strip() or SEED_SOURCES["system"]
    else:
        if not (entropy or "").strip():
            raise ValidationError("请填写随机数（如开奖号码、摇号结果）。")
        if not provenance.strip():
            raise ValidationError("请说明随机数的来源（如：某日某期开奖号码；摇号会议记录编号）。")
    assert entropy is not None
    with changing_campaign(db, actor, ref, expected_version) as (s, campaign):
        record = _record(s, campaign)
        if campaign.status != "frozen" or record is None:
            if campaign.status == "draft":
                raise ValidationError("须先冻结抽样框，再确定随机种子。")
            raise ValidationError(
                f"当前状态（{STATUS_LABELS[campaign.status]}）不能确定随机种子；如需重新抽样，请重新冻结抽样框。"
            )
        if now <= record.frozen_at:
            raise ValidationError("随机种子须在抽样框冻结之后确定。")
        record.seed_entropy = entropy.strip()
        record.seed = derive_seed(record.frame_sha256, record.seed_entropy)
        record.seed_source = source
        record.seed_provenance = provenance.strip()
        record.seed_fixed_at = now
        record.seed_fixed_by_id = actor.user_id
        _set_status(campaign, "seeded", now)
        _event(
            s,
            campaign,
            "seed_fixed",
            actor,
            now,
            payload={
                "source": source,
                "seed": record.seed,
                "entropy": record.seed_entropy,
                "provenance": record.seed_provenance,
            },
            request_id=request_id,
        )
        return campaign_summary(campaign)


def frame_units(s: Session, record: SamplingRecord) -> list[SamplingUnit]:
    return list(
        s.scalars(
            select(SamplingUnit).where(SamplingUnit.record_id == record.id).order_by(SamplingUnit.unit_id)
        )
    )


def inspector_links(s: Session, user_ids: list[int], enterprise_ids: list[int]) -> dict[tuple[int, int], str]:
    """(user id, enterprise id) → why the inspector may not check the enterprise (回避)."""
    links: dict[tuple[int, int], str] = {}
    if not user_ids or not enterprise_ids:
        return links
    for user_id, enterprise_id, relation in s.execute(
        select(InspectorLink.user_id, InspectorLink.enterprise_id, InspectorLink.relation).where(
            InspectorLink.user_id.in_(user_ids), InspectorLink.enterprise_id.in_(enterprise_ids)
        )
    ):
        links[(user_id, enterprise_id)] = relation
    for instructor_id, case_enterprise_id in s.execute(
        select(Case.instructor_id, Case.enterprise_id)
        .where(Case.instructor_id.in_(user_ids), Case.enterprise_id.in_(enterprise_ids))
        .distinct()
    ):
        if instructor_id is not None and case_enterprise_id is not None:
            links.setdefault((instructor_id, case_enterprise_id), "担任该企业工资集体协商指导员")
    return links


def draw_sample(
    db: Database,
    actor: Actor,
    ref: str | int,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Draw the enterprises and, for each, a pair of inspectors; store every unit's key."""
    require_auditor(actor, "抽样")
    now = now or runtime.utcnow()
    with changing_campaign(db, actor, ref, expected_version) as (s, campaign):
        record = _record(s, campaign)
        if campaign.status != "seeded" or record is None or record.seed is None:
            raise ValidationError(
                f"当前状态（{STATUS_LABELS[campaign.status]}）不能抽样：须先冻结抽样框并确定随机种子。"
            )
        rows = frame_units(s, record)
        units = [FrameUnit(u.unit_id, u.stratum, u.weight) for u in rows]
        if frame_sha256(units) != record.frame_sha256:  # pragma: no cover - the rows are ours
            raise Conflict("抽样框数据与冻结时的哈希不一致，请重新冻结抽样框。")
        rule = AllocationRule.from_dict(campaign.allocation)
        result = draw(units, record.seed, rule, frame_hash=record.frame_sha256)
        chosen = {sel.unit_id: sel for sel in result.selected}
        s.execute(
            update(SamplingUnit),
            [
                {
                    "id": u.id,
                    "key": chosen[u.unit_id].key if u.unit_id in chosen else unit_key(record.seed, u.unit_id),
                    "selected": u.unit_id in chosen,
                    "rank": chosen[u.unit_id].rank if u.unit_id in chosen else None,
                    "inclusion_probability": chosen[u.unit_id].inclusion_probability
                    if u.unit_id in chosen
                    else None,
                }
                for u in rows
            ],
        )
        s.expire_all()
        rows = frame_units(s, record)
        by_unit = {u.unit_id: u for u in rows}
        pool = _pool(s, campaign)
        if not pool:
            raise ValidationError("检查人员库为空：请先列入至少2名督查员。")
        selected_rows = [by_unit[sel.unit_id] for sel in result.selected]
        links = inspector_links(s, [u.id for u in pool], [u.enterprise_id for u in selected_rows])
        usernames = {u.id: u.username for u in pool}
        unit_of_enterprise = {u.enterprise_id: u.unit_id for u in selected_rows}
        pairs = draw_inspectors(
            record.seed,
            [(sel.unit_id, sel.key) for sel in result.selected],
            [u.username for u in pool],
            {(usernames[uid], unit_of_enterprise[eid]) for uid, eid in links},
        )
        ids = {u.username: u.id for u in pool}
        s.execute(delete(SamplingInspector).where(SamplingInspector.record_id == record.id))
        s.execute(
            insert(SamplingInspector),
            [
                {
                    "record_id": record.id,
                    "unit_id": pair.unit_id,
                    "enterprise_id": by_unit[pair.unit_id].enterprise_id,
                    "user_id": ids[name],
                    "position": position,
                    "key": key,
                }
                for pair in pairs.pairs
                for position, (name, key) in enumerate(zip(pair.inspectors, pair.keys, strict=True), 1)
            ],
        )
        enterprise_of = {u.unit_id: u.enterprise_id for u in selected_rows}
        record.inspector_recusals = [
            {
                "unit_id": unit_id,
                "inspector": name,
                "relation": links.get((ids[name], enterprise_of[unit_id]), ""),
            }
            for unit_id, name in pairs.recusals
        ]
        record.allocation = {
            "rule": rule.as_dict(),
            "description": rule.describe(),
            "strata": result.allocation.as_list(),
            "notes": list(result.allocation.notes),
            "total": result.allocation.total,
        }
        record.selection_sha256 = result.selection_sha256()
        record.drawn_at = now
        record.drawn_by_id = actor.user_id
        _set_status(campaign, "drawn", now)
        _event(
            s,
            campaign,
            "sample_drawn",
            actor,
            now,
            payload={
                "selected": len(result.selected),
                "selection_sha256": record.selection_sha256,
                "recusals": len(pairs.recusals),
            },
            request_id=request_id,
        )
        return campaign_summary(campaign)


def approve_sampling(
    db: Database,
    actor: Actor,
    ref: str | int,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Approve the record (a second person) and schedule the campaign; the record is then immutable."""
    require_auditor(actor, "审批抽样记录")
    now = now or runtime.utcnow()
    with changing_campaign(db, actor, ref, expected_version) as (s, campaign):
        record = _record(s, campaign)
        if campaign.status != "drawn" or record is None:
            raise ValidationError(f"当前状态（{STATUS_LABELS[campaign.status]}）不能审批：须先完成抽样。")
        if actor.user_id is not None and actor.user_id in (record.drawn_by_id, record.seed_fixed_by_id):
            raise Forbidden("抽样记录须由确定随机种子和抽样以外的人员审批（双人复核）。")
        document = record_document(s, campaign, record)
        record.record_sha256 = record_sha256(document)
        record.approved_at = now
        record.approved_by_id = actor.user_id
        _set_status(campaign, "approved", now)
        times = schedule_times(campaign)
        scheduled = []
        for kind in ("reminder", "start", "fieldwork_end", "report_due"):
            if kind == "reminder" and (campaign.reminder_days == 0 or times[kind] <= now):
                continue
            s.add(ScheduleEntry(campaign_id=campaign.id, kind=kind, fire_at=times[kind], created_at=now))
            scheduled.append({"kind": kind, "fire_at": times[kind].isoformat()})
        _event(
            s,
            campaign,
            "sampling_approved",
            actor,
            now,
            payload={"record_sha256": record.record_sha256, "schedule": scheduled},
            request_id=request_id,
        )
        return campaign_summary(campaign)


def replace_unit(
    db: Database,
    actor: Actor,
    ref: str | int,
    *,
    unit_id: str,
    reason: str,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Replace a drawn enterprise that cannot be checked by the next one of its stratum (in key order)."""
    require_auditor(actor, "替换抽中企业")
    now = now or runtime.utcnow()
    if not reason.strip():
        raise ValidationError("请填写替换原因（如：企业已注销、已迁出本辖区）。")
    with changing_campaign(db, actor, ref) as (s, campaign):
        record = _record(s, campaign)
        if campaign.status not in ("approved", "started") or record is None or record.seed is None:
            raise ValidationError("抽样记录审批后才能替换企业（审批前如需调整，请重新冻结抽样框并抽样）。")
        code = unit_id.strip().upper()
        units = frame_units(s, record)
        by_unit = {u.unit_id: u for u in units}
        replacements = list(
            s.scalars(select(SamplingReplacement).where(SamplingReplacement.record_id == record.id))
        )
        replaced = {r.replaced_unit_id for r in replacements}
        in_sample = {u.unit_id for u in units if u.selected} | {
            r.replacement_unit_id for r in replacements if r.replacement_unit_id
        }
        if code not in in_sample or code in replaced:
            raise ValidationError(f"企业 {code} 不在当前样本中。")
        target = by_unit[code]
        case = s.scalar(
            select(AuditCase).where(
                AuditCase.campaign_id == campaign.id, AuditCase.enterprise_id == target.enterprise_id
            )
        )
        if case is not None and case.state != "planned":
            raise ValidationError("该企业的检查已通知或已开展，不能替换。")
        stratum_units = [
            FrameUnit(u.unit_id, u.stratum, u.weight) for u in units if u.stratum == target.stratum
        ]
        weighted = AllocationRule.from_dict(campaign.allocation).weighted
        nxt = next_replacement(record.seed, stratum_units, in_sample | replaced, weighted=weighted)
        replacement = by_unit[nxt[1].unit_id] if nxt else None
        s.add(
            SamplingReplacement(
                record_id=record.id,
                replaced_unit_id=code,
                replacement_unit_id=replacement.unit_id if replacement else None,
                replacement_key=nxt[0] if nxt else None,
                stratum=target.stratum,
                reason=reason.strip(),
                actor_id=actor.user_id,
                actor_name=actor.name,
                at=now,
            )
        )
        if replacement is not None:
            _draw_replacement_inspectors(s, campaign, record, replacement)
        if case is not None:
            fire_audit(
                s,
                case,
                "withdraw",
                actor,
                reason=reason.strip(),
                calendar=runtime.calendar_loader(s),
                now=now,
            )
        if replacement is not None and campaign.status == "started":
            open_audit_case(s, campaign, record, replacement, actor, now)
        _event(
            s,
            campaign,
            "unit_replaced",
            actor,
            now,
            reason=reason.strip(),
            payload={"replaced": code, "replacement": replacement.unit_id if replacement else None},
            request_id=request_id,
        )
        out = campaign_summary(campaign)
        out["replacement"] = replacement.unit_id if replacement else None
        return out


def _draw_replacement_inspectors(
    s: Session, campaign: Campaign, record: SamplingRecord, unit: SamplingUnit
) -> None:
    assert record.seed is not None
    pool = _pool(s, campaign)
    loads = dict.fromkeys((u.username for u in pool), 0)
    names = {u.id: u.username for u in pool}
    for user_id in s.scalars(
        select(SamplingInspector.user_id).where(SamplingInspector.record_id == record.id)
    ):
        if user_id in names:
            loads[names[user_id]] += 1
    links = inspector_links(s, list(names), [unit.enterprise_id])
    linked = {(names[uid], unit.unit_id) for (uid, _eid) in links}
    key = unit.key or unit_key(record.seed, unit.unit_id)
    pairs = draw_inspectors(record.seed, [(unit.unit_id, key)], list(loads), linked, initial_load=loads)
    ids = {u.username: u.id for u in pool}
    for pair in pairs.pairs:
        for position, (name, inspector_key_hex) in enumerate(zip(pair.inspectors, pair.keys, strict=True), 1):
            s.add(
                SamplingInspector(
                    record_id=record.id,
                    unit_id=unit.unit_id,
                    enterprise_id=unit.enterprise_id,
                    user_id=ids[name],
                    position=position,
                    key=inspector_key_hex,
                )
            )
    s.flush()


def open_audit_case(
    s: Session, campaign: Campaign, record: SamplingRecord, unit: SamplingUnit, actor: Actor, now: datetime
) -> AuditCase:
    """The audit case of one drawn enterprise, in the first state of the current audit workflow."""
    enterprise = s.get(Enterprise, unit.enterprise_id)
    assert enterprise is not None
    definition = current_definition("audit")
    case = AuditCase(
        number=f"tmp-{secrets.token_hex(8)}",
        campaign_id=campaign.id,
        enterprise_id=enterprise.id,
        org_unit_id=enterprise.org_unit_id,
        unit_id=unit.unit_id,
        stratum=unit.stratum,
        agreement_case_id=unit.agreement_case_id,
        checklist_template_id=campaign.checklist_template_id,
        definition_name=definition.name,
        definition_version=definition.version,
        state=definition.initial,
        opened_at=now,
        updated_at=now,
    )
    s.add(case)
    s.flush()
    number = f"{legal_date(now).year}-J{case.id:07d}"
    s.execute(
        update(AuditCase)
        .where(AuditCase.id == case.id)
        .values(number=number)
        .execution_options(synchronize_session=False)
    )
    from sqlalchemy.orm.attributes import set_committed_value

    set_committed_value(case, "number", number)
    write_audit_event(
        s,
        "create",
        case=case,
        actor=actor,
        role=actor.primary_role(frozenset({"auditor", "federation_admin", "system"})),
        now=now,
        to_state=case.state,
        payload={"campaign": campaign.number, "unit_id": unit.unit_id, "stratum": unit.stratum},
    )
    return case


def start_campaign(s: Session, campaign: Campaign, actor: Actor, now: datetime) -> int:
    """Open an audit case for every enterprise in the sample (called by the sweep). Returns how many."""
    record = _record(s, campaign)
    if campaign.status != "approved" or record is None or record.approved_at is None:
        raise ValidationError(
            f"专项抽查 {campaign.number} 的抽样记录尚未审批（{STATUS_LABELS[campaign.status]}），不能启动。"
        )
    units = frame_units(s, record)
    by_unit = {u.unit_id: u for u in units}
    replacements = list(
        s.scalars(select(SamplingReplacement).where(SamplingReplacement.record_id == record.id))
    )
    replaced = {r.replaced_unit_id for r in replacements}
    sample = [u.unit_id for u in units if u.selected and u.unit_id not in replaced]
    sample += [
        r.replacement_unit_id
        for r in replacements
        if r.replacement_unit_id and r.replacement_unit_id not in replaced
    ]
    for unit_id in sample:
        open_audit_case(s, campaign, record, by_unit[unit_id], actor, now)
    campaign.started_at = now
    _set_status(campaign, "started", now)
    _event(s, campaign, "campaign_started", actor, now, payload={"cases": len(sample)})
    return len(sample)


def campaign_summary(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "number": campaign.number,
        "title": campaign.title,
        "status": campaign.status,
        "status_label": STATUS_LABELS.get(campaign.status, campaign.status),
        "version": campaign.version,
        "start_on": campaign.start_on.isoformat(),
        "fieldwork_start": campaign.fieldwork_start.isoformat(),
        "fieldwork_end": campaign.fieldwork_end.isoformat(),
        "report_due": campaign.report_due.isoformat(),
    }
