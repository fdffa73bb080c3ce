"""Template contexts built from the database: plain JSON (strings, numbers, lists, dicts).

A context is everything a template may show, so storing it (``DocumentRendering.context``) is
enough to render the same PDF again. Facts are taken as they stood when the document's action
fired (representatives named by then, the vote recorded with it, the deadline its event opened),
so a document rendered later says what it said on the day.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bargaining.agreement_text import canonical_content, content_hash
from bargaining.errors import NotFound, ValidationError
from bargaining.models import (
    Agreement,
    Case,
    CaseCoverage,
    CongressVote,
    Deadline,
    Document,
    Enterprise,
    Event,
    NegotiationRound,
    OrgUnit,
    RateTable,
    Representative,
    Sector,
)
from bargaining.rules.jurisdictions import get_rule_set
from bargaining.rules.minimum_wage import minimum_wage, piece_rate_floor
from bargaining.rules.periods import legal_date
from workflows.definitions.common import DOCUMENTS
from workflows.rate_guards import check_tables, wage_targets

SIDES = {"worker": "职工方", "employer": "企业方"}
CASE_KIND_LABELS = {
    "enterprise": "工资专项集体合同",
    "sector": "行业性工资集体协议",
    "adoption": "履约集体协议",
}
AGREEMENT_TEMPLATES = {
    "enterprise": "agreement_enterprise",
    "sector": "agreement_sector",
    "adoption": "agreement_adoption",
}
# Kinds a user can ask for: every stage's document, plus the agreement text itself (draft or
# approved, not tied to one Document row).
AGREEMENT = "agreement"
RENDERABLE = (*DOCUMENTS, AGREEMENT)
KIND_ALIASES = {title: kind for kind, title in DOCUMENTS.items()} | {
    "协议文本": AGREEMENT,
    "合同文本": AGREEMENT,
    "集体合同文本": AGREEMENT,
}
SIGNATURE_FIELDS = {"employer": "sig-employer", "worker": "sig-worker"}
CURRENCY_LABELS = {"CNY": "人民币"}
SCHEMA = 1  # bump when the context's shape changes


def normalise_kind(kind: str) -> str:
    key = kind.strip()
    key = KIND_ALIASES.get(key, key)
    if key not in RENDERABLE:
        options = "、".join(f"{k}（{DOCUMENTS.get(k, '协议文本')}）" for k in RENDERABLE)
        raise ValidationError(f"未知的文书类型“{kind}”。可选：{options}")
    return key


def template_name(kind: str, case_kind: str) -> str:
    if kind in (AGREEMENT, "signed_agreement"):
        return AGREEMENT_TEMPLATES[case_kind]
    return kind


def context_sha256(context: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(context)).hexdigest()


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _text(value: Any) -> Any:
    """Untrusted text, NFC-normalised; odd dash and space characters the fonts lack are mapped."""
    if not isinstance(value, str):
        return value
    text = unicodedata.normalize("NFC", value)
    return text.translate(_ODD_CHARACTERS)


_ODD_CHARACTERS = str.maketrans(
    {
        "\u2011": "-",  # non-breaking hyphen: missing from Noto CJK (WeasyPrint #2811: 55 s layouts)
        "\u00ad": "",  # soft hyphen
        "\u200b": "",  # zero-width space
        "\ufeff": "",
        "\u00a0": " ",
    }
)


def _clean(value: Any, *, raw_keys: frozenset[str] = frozenset()) -> Any:
    if isinstance(value, dict):
        return {
            str(k): (_plain_json(v) if k in raw_keys else _clean(v, raw_keys=raw_keys))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return _text(value)


def _plain_json(value: Any) -> Any:
    """JSON-safe without touching the text (for the hashed agreement content)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _md(raw: str | None) -> str:
    if not raw:
        return ""
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return raw
    return f"{day.month}月{day.day}日"


def _province_name(code: str) -> str:
    from bargaining.rules.minimum_wage import provinces

    return provinces().get(code, code)


def _parties(session: Session, case: Case, enterprise: Enterprise | None, org: OrgUnit) -> dict[str, Any]:
    if enterprise is not None:
        union = enterprise.union_name or f"{enterprise.name}工会委员会"
        return {
            "employer": {
                "role": "企业方",
                "name": enterprise.name,
                "code": enterprise.credit_code,
                "address": enterprise.address or "",
                "head": enterprise.legal_representative or "",
            },
            "worker": {
                "role": "职工方",
                "name": union,
                "code": "",
                "address": enterprise.address or "",
                "head": enterprise.union_chair or "",
            },
        }
    sector = session.get(Sector, case.sector_id) if case.sector_id else None
    sector_name = sector.name if sector else ""
    covered = (
        session.scalar(select(CaseCoverage.id).where(CaseCoverage.case_id == case.id).limit(1)) is not None
    )
    return {
        "employer": {
            "role": "企业方",
            "name": f"{sector_name}行业企业方协商代表" + ("（代表附表所列企业）" if covered else ""),
            "code": "",
            "address": "",
            "head": "",
        },
        "worker": {"role": "职工方", "name": org.name, "code": "", "address": "", "head": ""},
    }


def _representatives(session: Session, case: Case, as_of: datetime) -> dict[str, list[dict[str, Any]]]:
    reps = session.scalars(
        select(Representative)
        .where(Representative.case_id == case.id, Representative.created_at <= as_of)
        .order_by(Representative.side, Representative.chief.desc(), Representative.id)
    )
    out: dict[str, list[dict[str, Any]]] = {"worker": [], "employer": []}
    for r in reps:
        out.setdefault(r.side, []).append(
            {
                "name": r.name,
                "position": r.position or "",
                "chief": r.chief,
                "outsider": r.outsider,
                "front_line": r.front_line,
            }
        )
    return out


def _round(r: NegotiationRound) -> dict[str, Any]:
    return {
        "number": r.number,
        "held_on": r.held_on,
        "place": r.place or "",
        "chair_side": r.chair_side,
        "chair": SIDES.get(r.chair_side, r.chair_side),
        "recorder": r.recorder or "",
        "attendees": r.attendees or "",
        "minutes": r.minutes,
        "outcome": r.outcome or "",
    }


def _vote(v: CongressVote) -> dict[str, Any]:
    pct = (Decimal(v.present * 100) / Decimal(v.total)).quantize(Decimal("0.1")) if v.total else Decimal(0)
    return {
        "held_on": v.held_on,
        "total": v.total,
        "present": v.present,
        "attendance_pct": pct,
        "votes_for": v.votes_for,
        "against": v.against,
        "abstain": v.abstain,
        "not_voting": v.present - v.votes_for - v.against - v.abstain,
        "accepted": v.accepted,
        "per_enterprise": v.enterprise_id is not None,
        "quorum_met": v.quorum_met,
        "passed": v.passed,
        "reason": v.reason,
        "rule_basis": v.rule_basis,
        "text_hash": v.text_hash or "",
    }


def _rate_tables_for_display(
    session: Session, case: Case, agreement: Agreement, tables: list[RateTable], content: dict[str, Any]
) -> list[dict[str, Any]]:
    """The canonical tables plus what the reader needs: period dates, floors, cells below them."""
    check = check_tables(session, case, agreement, tables)
    below = {(p.table, f"{p.row_code}|{p.period_code}") for p in check.cells}
    targets, _ = wage_targets(session, case)
    on = agreement.term_start or legal_date(datetime.now(UTC))
    shown = []
    for table in content["rate_tables"]:
        floors = []
        for target in targets[:3]:
            try:
                wage = minimum_wage(target.province, target.tier, on)
            except ValidationError:
                continue
            per_row = []
            for row in table["rows"]:
                try:
                    quota = Decimal(str(row.get("quota", "")))
                except ArithmeticError:
                    continue
                if quota > 0:
                    floor = piece_rate_floor(wage.monthly, quota)
                    per_row.append(f"{row.get('name', row.get('code'))}不低于{floor}元/{table['unit']}")
            floors.append(
                f"按{wage.describe()}，日最低工资＝月最低工资÷21.75；按劳动定额折算，" + "、".join(per_row)
            )
        shown.append(
            {
                **table,
                "currency_label": CURRENCY_LABELS.get(table["currency"], table["currency"]),
                "periods": [
                    {**p, "start_md": _md(p.get("start")), "end_md": _md(p.get("end"))}
                    for p in table["periods"]
                ],
                "below": sorted(key for name, key in below if name == table["name"]),
                "floor_note": "；".join(floors + [f"未能核对：{note}" for note in check.unchecked]),
            }
        )
    return shown


def agreement_view(session: Session, case: Case) -> dict[str, Any] | None:
    """The agreement's canonical content, its hash, and display extras (not hashed)."""
    agreement = session.scalar(select(Agreement).where(Agreement.case_id == case.id))
    if agreement is None:
        return None
    tables = list(
        session.scalars(
            select(RateTable).where(RateTable.agreement_id == agreement.id).order_by(RateTable.id)
        )
    )
    content = canonical_content(agreement, tables)
    digest = content_hash(content)
    return {
        "content": content,  # exactly what was hashed (kept raw: the verifier recomputes the hash)
        "text": _clean(content),  # the same, as displayed
        "content_hash": digest,
        "approved_text_hash": agreement.approved_text_hash or "",
        "approved": agreement.approved_text_hash == digest,
        "signed_on": agreement.signed_on,
        "filed_on": agreement.filed_on,
        "in_force_on": agreement.in_force_on,
        "disclosed_on": agreement.disclosed_on,
        "rate_tables": _rate_tables_for_display(session, case, agreement, tables, content),
    }


def _latest_document(session: Session, case: Case, kind: str, as_of: datetime) -> Document | None:
    return session.scalar(
        select(Document)
        .where(Document.case_id == case.id, Document.kind == kind, Document.created_at <= as_of)
        .order_by(Document.id.desc())
        .limit(1)
    )


def _values(data: Mapping[str, object] | None) -> dict[str, Any]:
    """A copy of the form values a document recorded (firing stores them as a JSON object)."""
    values = (data or {}).get("values") or {}
    assert isinstance(values, dict)
    return dict(values)


def _event_payload(session: Session, case: Case, trigger: str, as_of: datetime) -> dict[str, Any]:
    event = session.scalar(
        select(Event)
        .where(Event.case_id == case.id, Event.trigger == trigger, Event.at <= as_of)
        .order_by(Event.id.desc())
        .limit(1)
    )
    return dict(event.payload) if event is not None else {}


def find_document(session: Session, case: Case, kind: str, document_id: int | None = None) -> Document:
    query = select(Document).where(Document.case_id == case.id, Document.kind == kind)
    if document_id is not None:
        query = query.where(Document.id == document_id)
    document = session.scalar(query.order_by(Document.id.desc()).limit(1))
    if document is None:
        title = DOCUMENTS.get(kind, kind)
        which = f"编号为 {document_id} 的" if document_id is not None else ""
        raise NotFound(f"协商 {case.number} 尚无{which}“{title}”：该文书在相应步骤完成后生成。")
    return document


def build_context(
    session: Session,
    case: Case,
    kind: str,
    document: Document | None,
    *,
    now: datetime,
    author: str,
    signing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the template for ``kind`` shows, as plain JSON."""
    as_of = document.created_at if document is not None else now
    # The date a document carries: when its action fired; for the agreement text, when its terms
    # last changed (so the same draft renders to the same bytes until it is edited).
    stamp = as_of
    if document is None and kind == AGREEMENT:
        updated = session.scalar(select(Agreement.updated_at).where(Agreement.case_id == case.id))
        stamp = updated or now
    enterprise = session.get(Enterprise, case.enterprise_id) if case.enterprise_id else None
    sector = session.get(Sector, case.sector_id) if case.sector_id else None
    org = session.get(OrgUnit, case.org_unit_id)
    if org is None:
        raise NotFound("协商所属的工会组织不存在。")
    rule = get_rule_set(case.jurisdiction)
    data = dict(document.data) if document is not None else {}
    values = _values(data)
    parties = _parties(session, case, enterprise, org)
    representatives = _representatives(session, case, as_of)
    chiefs = {
        side: next((r["name"] for r in reps if r["chief"]), "") for side, reps in representatives.items()
    }
    title = CASE_KIND_LABELS[case.kind] if kind in (AGREEMENT, "signed_agreement") else DOCUMENTS[kind]
    ctx: dict[str, Any] = {
        "schema": SCHEMA,
        "meta": {
            "kind": kind,
            "title": title,
            "author": author,
            "document_id": document.id if document is not None else None,
            "as_of": stamp,
        },
        "sides": SIDES,
        "case": {
            "number": case.number,
            "title": case.title,
            "kind": case.kind,
            "kind_label": CASE_KIND_LABELS[case.kind],
            "round": case.round,
            "round_label": "续签" if case.round == "renewal" else "新签",
            "jurisdiction": case.jurisdiction,
        },
        "federation": {"name": org.name, "province": _province_name(org.province) if org.province else ""},
        "enterprise": (
            {
                "name": enterprise.name,
                "credit_code": enterprise.credit_code,
                "address": enterprise.address or "",
                "legal_representative": enterprise.legal_representative or "",
                "union_name": enterprise.union_name or f"{enterprise.name}工会委员会",
                "union_chair": enterprise.union_chair or "",
                "headcount": enterprise.headcount,
                "min_wage_tier": enterprise.min_wage_tier,
            }
            if enterprise is not None
            else None
        ),
        "sector": {"name": sector.name} if sector is not None else None,
        "parties": parties,
        "representatives": representatives,
        "chiefs": chiefs,
        "rules": {
            "name": rule.name,
            "source": rule.source,
            "response": rule.response.basis,
            "congress": rule.congress.basis,
            "filing": rule.filing.basis,
            "filing_copies": rule.filing_copies,
            "review": rule.review.basis,
            "review_days": rule.review.period.amount,
            "disclosure": rule.disclosure.basis,
            "dispute": rule.dispute.basis,
        },
        "data": data,
        "values": values,
        "document_created_on": legal_date(stamp),
    }
    if document is not None and document.event_id is not None:
        deadline = session.scalar(
            select(Deadline)
            .where(Deadline.opened_by_event_id == document.event_id)
            .order_by(Deadline.id)
            .limit(1)
        )
        if deadline is not None:
            ctx["deadline"] = {
                "kind": deadline.kind,
                "due": deadline.due,
                "basis": deadline.legal_basis,
                "provisional": deadline.provisional,
            }
    ctx.setdefault("deadline", None)
    ctx["approved_by_each_enterprise"] = case.kind == "sector" and (
        session.scalar(
            select(CongressVote.id)
            .where(CongressVote.case_id == case.id, CongressVote.enterprise_id.is_not(None))
            .limit(1)
        )
        is not None
    )
    for key, empty in (
        ("parent", None),
        ("coverage", []),
        ("agreement", None),
        ("vote", None),
        ("round", None),
        ("voter", None),
        ("enterprise_votes", None),
    ):
        ctx.setdefault(key, empty)
    _kind_specific(session, case, kind, document, ctx, as_of)
    if kind in (AGREEMENT, "signed_agreement", "filing_form", "disclosure_notice", "congress_resolution"):
        ctx["agreement"] = agreement_view(session, case)
    if kind in (AGREEMENT, "signed_agreement"):
        ctx["signing"] = {
            "fields": SIGNATURE_FIELDS,
            "signed_on": (signing or {}).get("signed_on") or values.get("signed_on") or "",
            "electronic": bool(signing),
            "order": (signing or {}).get("order", []),
        }
        if case.kind == "adoption" and case.parent_id is not None:
            parent = session.get(Case, case.parent_id)
            assert parent is not None
            ctx["parent"] = {
                "number": parent.number,
                "title": parent.title,
                "agreement": agreement_view(session, parent),
            }
        if case.kind == "sector":
            ctx["coverage"] = _coverage(session, case)
    return _clean(ctx, raw_keys=frozenset({"content"}))  # type: ignore[no-any-return]


def _coverage(session: Session, case: Case) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Enterprise.name, Enterprise.credit_code, CaseCoverage.headcount)
        .join(CaseCoverage, CaseCoverage.enterprise_id == Enterprise.id)
        .where(CaseCoverage.case_id == case.id, CaseCoverage.bound.is_(True))
        .order_by(Enterprise.name)
    ).all()
    return [{"name": r.name, "credit_code": r.credit_code, "headcount": r.headcount} for r in rows]


def _kind_specific(
    session: Session, case: Case, kind: str, document: Document | None, ctx: dict[str, Any], as_of: datetime
) -> None:
    values = ctx["values"]
    data = ctx["data"]
    if kind in ("offer_letter", "response_letter"):
        if kind == "offer_letter":
            sender = values.get("from_side") or "worker"
        else:
            offer = _latest_document(session, case, "offer_letter", as_of)
            offered_by = _values(offer.data).get("from_side") if offer else None
            sender = "employer" if offered_by == "worker" else "worker"
            ctx["offer"] = _values(offer.data) if offer else {}
        receiver = "employer" if sender == "worker" else "worker"
        ctx["letter"] = {"from": sender, "to": receiver}
    elif kind == "minutes":
        number = data.get("round_number")
        query = select(NegotiationRound).where(NegotiationRound.case_id == case.id)
        if number is not None:
            query = query.where(NegotiationRound.number == int(number))
        else:
            query = query.where(NegotiationRound.created_at <= as_of)
        found = session.scalar(query.order_by(NegotiationRound.number.desc()).limit(1))
        ctx["round"] = _round(found) if found is not None else None
    elif kind == "congress_resolution":
        vote_query = select(CongressVote).where(
            CongressVote.case_id == case.id, CongressVote.created_at <= as_of
        )
        code = str(values.get("enterprise") or "").strip().upper()
        voter = session.scalar(select(Enterprise).where(Enterprise.credit_code == code)) if code else None
        if voter is not None:  # a sector agreement approved enterprise by enterprise
            vote_query = vote_query.where(CongressVote.enterprise_id == voter.id)
            ctx["voter"] = {"name": voter.name, "credit_code": voter.credit_code}
        vote = session.scalar(vote_query.order_by(CongressVote.id.desc()).limit(1))
        ctx["vote"] = _vote(vote) if vote is not None else None
        sector_congress = case.kind == "sector" and voter is None
        ctx["congress_name"] = "行业职工代表大会" if sector_congress else "职工代表大会"
    elif kind == "filing_form":
        rounds = session.scalars(
            select(NegotiationRound)
            .where(NegotiationRound.case_id == case.id, NegotiationRound.created_at <= as_of)
            .order_by(NegotiationRound.number)
        )
        ctx["rounds"] = [_round(r) for r in rounds]
        votes = list(
            session.scalars(
                select(CongressVote)
                .where(CongressVote.case_id == case.id, CongressVote.created_at <= as_of)
                .order_by(CongressVote.id)
            )
        )
        by_enterprise = {v.enterprise_id: v for v in votes if v.enterprise_id is not None}
        ctx["enterprise_votes"] = (
            {"total": len(by_enterprise), "passed": sum(1 for v in by_enterprise.values() if v.passed)}
            if by_enterprise
            else None
        )
        passed = [v for v in votes if v.passed and v.enterprise_id is None]
        ctx["vote"] = _vote(passed[-1]) if passed else None
        ctx["covered_headcount"] = (
            sum(r["headcount"] for r in _coverage(session, case))
            if case.kind == "sector"
            else (ctx["enterprise"] or {}).get("headcount", 0)
        )
    elif kind == "review_opinion":
        filing = _latest_document(session, case, "filing_form", as_of)
        filed = _values(filing.data) if filing else {}
        ctx["filing"] = {
            "filed_on": filed.get("filed_on", ""),
            "received_on": filed.get("received_on") or filed.get("filed_on", ""),
            "authority": filed.get("authority", ""),
        }
    elif kind == "coordination_agreement":
        applied = _event_payload(session, case, "apply_coordination", as_of)
        ctx["application"] = {
            "applied_on": applied.get("applied_on", ""),
            "authority": applied.get("authority", ""),
            "matter": applied.get("matter", ""),
        }
        ctx["extended"] = bool(_event_payload(session, case, "extend_coordination", as_of))
    elif kind == "disclosure_notice":
        days = values.get("days")
        start = values.get("disclosed_on")
        ctx["period_end"] = (
            (date.fromisoformat(start) + timedelta(days=int(days) - 1)).isoformat() if start and days else ""
        )
