"""``audit replay``: recompute a campaign's draw from its sampling record and say whether it matches.

``replay_document`` needs nothing but the record document (``audit export-record``), so the check
runs on any machine; ``replay_campaign`` reads the record from the database, replays it, and also
rebuilds the frame from today's registry with the recorded definition, to show whether the data
the frame was taken from has changed since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.errors import ValidationError
from bargaining.models.audit import SamplingRecord
from bargaining.rules.sampling import (
    ALGORITHM,
    ALGORITHM_VERSION,
    AllocationRule,
    FrameUnit,
    SamplingError,
    derive_seed,
    draw,
    draw_inspectors,
    frame_sha256,
    unit_key,
)

from ..uow import unit_of_work
from .frame import build_frame
from .record import FORMAT, record_document, record_sha256
from .repository import get_campaign


@dataclass
class Check:
    label: str
    ok: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "ok": self.ok, "detail": self.detail}


@dataclass
class ReplayReport:
    campaign: str
    checks: list[Check] = field(default_factory=list)
    current_frame: dict[str, Any] | None = None

    @property
    def matches(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "matches": self.matches,
            "checks": [c.as_dict() for c in self.checks],
            "current_frame": self.current_frame,
        }


def _units(doc: dict[str, Any]) -> list[FrameUnit]:
    return [FrameUnit(str(u[0]), str(u[1]), int(u[2])) for u in doc["frame"]["units"]]


def replay_document(doc: dict[str, Any]) -> ReplayReport:
    """Every check a record document must pass; nothing read but the document."""
    if doc.get("format") != FORMAT:
        raise ValidationError(f"不是抽样记录文件（格式应为 {FORMAT}）。")
    report = ReplayReport(campaign=str(doc.get("campaign", {}).get("number", "")))
    checks = report.checks
    algorithm = doc.get("algorithm", {})
    checks.append(
        Check(
            "算法版本",
            algorithm.get("name") == ALGORITHM and algorithm.get("version") == ALGORITHM_VERSION,
            f"记录：{algorithm.get('name')} 第{algorithm.get('version')}版；本程序：{ALGORITHM} 第{ALGORITHM_VERSION}版",
        )
    )
    units = _units(doc)
    recorded_hash = doc["frame"]["sha256"]
    try:
        recomputed_hash = frame_sha256(units)
    except SamplingError as exc:
        checks.append(Check("抽样框哈希", False, exc.message))
        return report
    checks.append(
        Check(
            "抽样框哈希",
            recomputed_hash == recorded_hash and len(units) == doc["frame"]["rows"],
            f"记录 {recorded_hash[:16]}…（{doc['frame']['rows']}家）；复算 {recomputed_hash[:16]}…（{len(units)}家）",
        )
    )
    seed_info = doc.get("seed", {})
    seed = seed_info.get("seed")
    entropy = seed_info.get("entropy")
    if not seed or not entropy:
        checks.append(Check("随机种子", False, "记录中没有随机种子（尚未抽样）"))
        return report
    derived = derive_seed(recorded_hash, entropy)
    checks.append(Check("随机种子", derived == seed, f"由抽样框哈希与熵值“{entropy}”推导：{derived[:16]}…"))

    stored_keys = {str(u[0]): u[3] for u in doc["frame"]["units"]}
    wrong_keys = [uid for uid, key in stored_keys.items() if key is not None and key != unit_key(seed, uid)]
    checks.append(
        Check(
            "每家企业的密钥",
            not wrong_keys,
            f"{len(stored_keys)}家企业密钥全部复算一致"
            if not wrong_keys
            else f"{len(wrong_keys)}家不一致，如 {'、'.join(wrong_keys[:5])}",
        )
    )
    rule = AllocationRule.from_dict(doc["allocation"]["rule"])
    result = draw(units, seed, rule, frame_hash=recomputed_hash)
    recorded = {str(row[0]): str(row[3]) for row in doc["selection"]}
    recomputed = {s.unit_id: s.key for s in result.selected}
    missing = sorted(set(recorded) - set(recomputed))
    extra = sorted(set(recomputed) - set(recorded))
    same = not missing and not extra and all(recorded[u] == recomputed[u] for u in recorded)
    detail = f"记录抽中{len(recorded)}家，复算抽中{len(recomputed)}家"
    if missing:
        detail += f"；记录有而复算没有：{'、'.join(missing[:5])}"
    if extra:
        detail += f"；复算有而记录没有：{'、'.join(extra[:5])}"
    checks.append(Check("抽样结果", same, detail))
    checks.append(
        Check(
            "抽样结果哈希",
            result.selection_sha256() == doc.get("selection_sha256"),
            f"复算 {result.selection_sha256()[:16]}…",
        )
    )
    allocated = {a["stratum"]: a["allocated"] for a in doc["allocation"].get("strata", [])}
    checks.append(
        Check(
            "各层样本量",
            allocated == result.allocation.quota(),
            "、".join(f"{h}：{n}" for h, n in sorted(result.allocation.quota().items()))[:300],
        )
    )
    pool = doc.get("inspector_pool") or []
    links = {(r["inspector"], r["unit_id"]) for r in doc.get("recusals", [])}
    try:
        pairs = draw_inspectors(seed, [(u, k) for u, k in recomputed.items()], pool, links)
        recomputed_pairs = sorted(
            (p.unit_id, name, pos) for p in pairs.pairs for pos, name in enumerate(p.inspectors, 1)
        )
        recorded_pairs = sorted((str(i[0]), str(i[1]), int(i[2])) for i in doc.get("inspectors", []))
        checks.append(
            Check(
                "检查人员抽取（含回避）",
                recomputed_pairs == recorded_pairs,
                f"{len(recorded_pairs) // 2}家企业各2名检查人员",
            )
        )
    except SamplingError as exc:
        checks.append(Check("检查人员抽取（含回避）", False, exc.message))
    approval = doc.get("approval", {})
    if approval.get("record_sha256"):
        digest = record_sha256(doc)
        checks.append(
            Check(
                "抽样记录哈希（审批时）",
                digest == approval["record_sha256"],
                f"复算 {digest[:16]}…，审批人 {approval.get('approved_by')}",
            )
        )
    else:
        checks.append(Check("抽样记录哈希（审批时）", False, "抽样记录尚未审批"))
    return report


def export_record(db: Database, actor: Actor, ref: str | int) -> dict[str, Any]:
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        campaign = get_campaign(s, actor, ref)
        record = s.scalar(select(SamplingRecord).where(SamplingRecord.campaign_id == campaign.id))
        if record is None:
            raise ValidationError(f"专项抽查 {campaign.number} 尚未冻结抽样框，没有抽样记录。")
        return record_document(s, campaign, record)


def replay_campaign(db: Database, actor: Actor, ref: str | int) -> ReplayReport:
    """Replay from the database's record, and compare the frame with today's registry."""
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        campaign = get_campaign(s, actor, ref)
        record = s.scalar(select(SamplingRecord).where(SamplingRecord.campaign_id == campaign.id))
        if record is None:
            raise ValidationError(f"专项抽查 {campaign.number} 尚未冻结抽样框，没有抽样记录。")
        doc = record_document(s, campaign, record)
        rows = build_frame(s, record.frame_definition)
    report = replay_document(doc)
    current = [r.unit for r in rows]
    recorded = {str(u[0]): (str(u[1]), int(u[2])) for u in doc["frame"]["units"]}
    now = {u.unit_id: (u.stratum, u.weight) for u in current}
    added = sorted(set(now) - set(recorded))
    removed = sorted(set(recorded) - set(now))
    changed = sorted(u for u in set(now) & set(recorded) if now[u] != recorded[u])
    digest = frame_sha256(current) if current else ""
    info: dict[str, Any] = {
        "sha256": digest,
        "rows": len(current),
        "unchanged": digest == doc["frame"]["sha256"],
        "added": added,
        "removed": removed,
        "changed": changed,
    }
    seed = doc["seed"].get("seed")
    if seed and current and doc["allocation"].get("rule"):
        again = draw(current, seed, AllocationRule.from_dict(doc["allocation"]["rule"]), frame_hash=digest)
        info["same_selection_on_current_frame"] = sorted(again.selected_ids()) == sorted(
            str(row[0]) for row in doc["selection"]
        )
    report.current_frame = info
    return report
