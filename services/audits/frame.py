"""The sampling frame: which enterprises a campaign's scope takes in, and their strata and weights.

Read from the database as of a date: enterprises in the campaign's region subtree (and sectors,
when given) whose agreement of one of the campaign's kinds has been in force for at least N
months. The same function rebuilds the frame later for ``audit replay``, so a changed registry is
detected by its hash.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from bargaining.models import Agreement, Case, CaseCoverage, Enterprise, OrgUnit, Sector
from bargaining.models.audit import AuditCase, Finding
from bargaining.rules.periods import add_months
from bargaining.rules.sampling import (
    RISK_FORMULA,
    RISK_FORMULA_VERSION,
    FrameUnit,
    risk_points,
    size_band,
    stratum_key,
)

KIND_PRIORITY = {"enterprise": 0, "adoption": 1, "sector": 2}
KIND_LABELS = {
    "enterprise": "企业工资专项集体合同",
    "adoption": "履约协议（采纳行业协议）",
    "sector": "行业性工资集体协议",
}


@dataclass(frozen=True)
class FrameRow:
    unit: FrameUnit
    enterprise_id: int
    agreement_case_id: int


def frame_definition(
    *,
    org: OrgUnit,
    sectors: list[str],
    kinds: list[str],
    min_months: int,
    dimensions: list[str],
    size_bands: list[int],
    as_of: date,
) -> dict[str, Any]:
    """Everything that decides the frame, recorded so it can be rebuilt."""
    return {
        "as_of": as_of.isoformat(),
        "org": {"code": org.code, "name": org.name, "path": org.path},
        "sectors": sorted(sectors),
        "kinds": sorted(kinds),
        "min_months_in_force": min_months,
        "agreement_rule": (
            f"集体合同（{'、'.join(KIND_LABELS[k] for k in sorted(kinds))}）处于生效状态，"
            f"生效日不晚于{add_months(as_of, -min_months).isoformat()}（截至{as_of.isoformat()}已生效满{min_months}个月），且未到期"
        ),
        "strata": {"dimensions": list(dimensions), "size_bands": sorted(size_bands)},
        "risk_formula_version": RISK_FORMULA_VERSION,
        "risk_formula": RISK_FORMULA,
        "unit_id": "统一社会信用代码",
        "canonical_form": "按信用代码排序，每行：信用代码<TAB>层<TAB>权重<LF>，UTF-8，SHA-256",
    }


def build_frame(session: Session, definition: dict[str, Any]) -> list[FrameRow]:
    """The frame as the database shows it now, for a recorded frame definition."""
    as_of = date.fromisoformat(definition["as_of"])
    org_path: str = definition["org"]["path"]
    kinds: list[str] = definition["kinds"]
    sectors: list[str] = definition["sectors"]
    cutoff = add_months(as_of, -int(definition["min_months_in_force"]))
    dims: list[str] = definition["strata"]["dimensions"]
    bands: list[int] = definition["strata"]["size_bands"]

    started = func.coalesce(Agreement.in_force_on, Agreement.term_start)
    in_force = and_(
        Case.state == "in_force",
        started.is_not(None),
        started <= cutoff,
        or_(Agreement.term_end.is_(None), Agreement.term_end >= as_of),
    )
    # enterprise id -> (preference, agreement case id): its own agreement first, then an adoption,
    # then a sector agreement; the most recent one within a kind.
    candidates: dict[int, tuple[tuple[int, int, int], int]] = {}

    def consider(enterprise_id: int, kind: str, since: date, case_id: int) -> None:
        preference = (KIND_PRIORITY[kind], -since.toordinal(), -case_id)
        best = candidates.get(enterprise_id)
        if best is None or preference < best[0]:
            candidates[enterprise_id] = (preference, case_id)

    direct = [k for k in kinds if k in ("enterprise", "adoption")]
    if direct:
        rows = session.execute(
            select(Case.enterprise_id, Case.kind, started, Case.id)
            .join(Agreement, Agreement.case_id == Case.id)
            .where(Case.kind.in_(direct), Case.enterprise_id.is_not(None), in_force)
        )
        for enterprise_id, kind, since, case_id in rows:
            if enterprise_id is not None:
                consider(enterprise_id, kind, since, case_id)
    if "sector" in kinds:
        rows = session.execute(
            select(CaseCoverage.enterprise_id, Case.kind, started, Case.id)
            .join(Case, Case.id == CaseCoverage.case_id)
            .join(Agreement, Agreement.case_id == Case.id)
            .where(Case.kind == "sector", in_force)
        )
        for enterprise_id, kind, since, case_id in rows:
            if enterprise_id is not None:
                consider(enterprise_id, kind, since, case_id)
    if not candidates:
        return []

    units = list(
        session.execute(
            select(Enterprise.id, Enterprise.credit_code, Enterprise.headcount, OrgUnit.path, Sector.code)
            .join(OrgUnit, OrgUnit.id == Enterprise.org_unit_id)
            .outerjoin(Sector, Sector.id == Enterprise.sector_id)
            .where(OrgUnit.path.startswith(org_path), Enterprise.id.in_(list(candidates)))
        )
    )
    if sectors:
        units = [u for u in units if u[4] in sectors]
    regions = _region_codes(session, org_path)
    risk = _risk(session, [u[0] for u in units]) if units else {}
    out = []
    depth = len([p for p in org_path.split("/") if p])
    for enterprise_id, credit_code, headcount, path, sector_code in units:
        ids = [p for p in path.split("/") if p]
        region_id = int(ids[depth]) if len(ids) > depth else int(ids[depth - 1])
        values = {
            "region": regions.get(region_id, str(region_id)),
            "sector": sector_code or "none",
            "size": size_band(headcount or 0, bands),
        }
        high, other, escalated = risk.get(enterprise_id, (0, 0, 0))
        out.append(
            FrameRow(
                FrameUnit(credit_code, stratum_key(values, dims), risk_points(high, other, escalated)),
                enterprise_id,
                candidates[enterprise_id][1],
            )
        )
    out.sort(key=lambda r: r.unit.unit_id)
    return out


def _region_codes(session: Session, org_path: str) -> dict[int, str]:
    return {
        unit_id: code
        for unit_id, code in session.execute(
            select(OrgUnit.id, OrgUnit.code).where(OrgUnit.path.startswith(org_path))
        )
    }


def region_names(session: Session, org_path: str) -> dict[str, str]:
    """``region=CODE`` → the federation's name, for labelling strata."""
    return {
        f"region={code}": name
        for code, name in session.execute(
            select(OrgUnit.code, OrgUnit.name).where(OrgUnit.path.startswith(org_path))
        )
    }


def sector_names(session: Session) -> dict[str, str]:
    names = {f"sector={code}": name for code, name in session.execute(select(Sector.code, Sector.name))}
    names["sector=none"] = "未分行业"
    return names


def _risk(session: Session, enterprise_ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """Past findings (high / other) and escalated checks per enterprise (risk formula version 1)."""
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    rows = session.execute(
        select(
            AuditCase.enterprise_id,
            func.sum(case((Finding.severity == "high", 1), else_=0)),
            func.sum(case((Finding.severity != "high", 1), else_=0)),
        )
        .join(Finding, Finding.audit_case_id == AuditCase.id)
        .where(AuditCase.enterprise_id.in_(enterprise_ids))
        .group_by(AuditCase.enterprise_id)
    )
    for enterprise_id, high, other in rows:
        counts[enterprise_id][0] = int(high or 0)
        counts[enterprise_id][1] = int(other or 0)
    escalations = session.execute(
        select(AuditCase.enterprise_id, func.count())
        .where(AuditCase.enterprise_id.in_(enterprise_ids), AuditCase.state == "escalated")
        .group_by(AuditCase.enterprise_id)
    )
    for enterprise_id, n in escalations:
        counts[enterprise_id][2] = int(n)
    return {k: (v[0], v[1], v[2]) for k, v in counts.items()}
