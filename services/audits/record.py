"""The sampling record as one self-contained document (JSON), and its hash.

The document holds what anyone needs to recompute the draw on any machine, years later, with no
database: the frame definition and every frame unit (credit code, stratum, weight, key), the
strata and allocation, the seed with its entropy and provenance, the algorithm and version, the
selection, the inspector pairs and recusals. ``record_sha256`` covers all of it except what may be
appended after approval (replacements and the approval itself).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bargaining.models import OrgUnit, User
from bargaining.models.audit import (
    Campaign,
    CampaignInspector,
    SamplingInspector,
    SamplingRecord,
    SamplingReplacement,
    SamplingUnit,
)
from bargaining.rules.sampling import canonical_json, sha256_text

FORMAT = "bargaining-sampling-record/1"
UNHASHED = ("replacements", "approval", "replacement_inspectors")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def record_document(session: Session, campaign: Campaign, record: SamplingRecord) -> dict[str, Any]:
    users: dict[int | None, str] = {
        uid: name for uid, name in session.execute(select(User.id, User.username))
    }
    org = session.get(OrgUnit, campaign.org_unit_id)
    units = list(
        session.scalars(
            select(SamplingUnit).where(SamplingUnit.record_id == record.id).order_by(SamplingUnit.unit_id)
        )
    )
    selected = {u.unit_id for u in units if u.selected}
    inspectors = list(
        session.scalars(
            select(SamplingInspector)
            .where(SamplingInspector.record_id == record.id)
            .order_by(SamplingInspector.unit_id, SamplingInspector.position)
        )
    )
    replacements = list(
        session.scalars(
            select(SamplingReplacement)
            .where(SamplingReplacement.record_id == record.id)
            .order_by(SamplingReplacement.id)
        )
    )
    return {
        "format": FORMAT,
        "campaign": {
            "number": campaign.number,
            "title": campaign.title,
            "legal_basis": campaign.legal_basis,
            "org": org.code if org else None,
        },
        "frame_definition": record.frame_definition,
        "frame": {
            "sha256": record.frame_sha256,
            "rows": record.frame_rows,
            "frozen_at": _iso(record.frozen_at),
            "frozen_by": users.get(record.frozen_by_id),
            "columns": ["unit_id", "stratum", "weight", "key"],
            "units": [[u.unit_id, u.stratum, u.weight, u.key] for u in units],
        },
        "strata": record.strata,
        "allocation": record.allocation,
        "seed": {
            "entropy": record.seed_entropy,
            "seed": record.seed,
            "source": record.seed_source,
            "provenance": record.seed_provenance,
            "fixed_at": _iso(record.seed_fixed_at),
            "fixed_by": users.get(record.seed_fixed_by_id),
            "derivation": "SHA-256(frame_sha256 ‖ '|' ‖ entropy)",
        },
        "algorithm": {"name": record.algorithm, "version": record.algorithm_version},
        "drawn": {"at": _iso(record.drawn_at), "by": users.get(record.drawn_by_id)},
        "selection_sha256": record.selection_sha256,
        "selection": [
            [u.unit_id, u.stratum, u.rank, u.key, u.inclusion_probability]
            for u in sorted((u for u in units if u.selected), key=lambda u: (u.stratum, u.rank or 0))
        ],
        "inspectors": [
            [i.unit_id, users.get(i.user_id), i.position, i.key] for i in inspectors if i.unit_id in selected
        ],
        "inspector_pool": sorted(
            users[i.user_id]
            for i in session.scalars(
                select(CampaignInspector).where(CampaignInspector.campaign_id == campaign.id)
            )
            if i.user_id in users
        ),
        "recusals": record.inspector_recusals,
        "replacement_inspectors": [
            [i.unit_id, users.get(i.user_id), i.position, i.key]
            for i in inspectors
            if i.unit_id not in selected
        ],
        "replacements": [
            {
                "replaced": r.replaced_unit_id,
                "replacement": r.replacement_unit_id,
                "replacement_key": r.replacement_key,
                "stratum": r.stratum,
                "reason": r.reason,
                "at": _iso(r.at),
                "by": r.actor_name,
            }
            for r in replacements
        ],
        "approval": {
            "approved_at": _iso(record.approved_at),
            "approved_by": users.get(record.approved_by_id),
            "record_sha256": record.record_sha256,
        },
    }


def record_sha256(document: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the record without what is appended after approval."""
    return sha256_text(canonical_json({k: v for k, v in document.items() if k not in UNHASHED}))
