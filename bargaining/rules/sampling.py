"""Reproducible stratified sampling for compliance spot checks (专项抽查, 双随机).

Everything here is a pure function of its inputs, with integer and exact-fraction arithmetic
only, so a draw recomputed on any machine, with any Python version, years later, gives the same
selection. Python's ``random`` and NumPy streams are not stable across versions and are never used.

Algorithm ``sha256-bottom-k`` version ``1`` (``ALGORITHM``/``ALGORITHM_VERSION``):

- A unit's key is ``SHA-256(seed ‖ "," ‖ unit_id)`` over UTF-8, read as a 256-bit big-endian
  integer (recorded as 64 lowercase hex digits). ``unit_id`` is the enterprise's unified social
  credit code (统一社会信用代码), which outlives any database id.
- The seed is ``SHA-256(frame_sha256 ‖ "|" ‖ entropy)`` in hex: it binds the draw to the frozen
  frame, and the entropy (a public lottery number, dice, or the system's CSPRNG) is fixed only
  after the frame is frozen.
- Equal-probability strata: take the ``n_h`` smallest keys of each stratum.
- Risk-weighted strata (sequential Poisson sampling, Ohlsson 1998): rank by
  ``(key << 64) // weight`` with the weight a positive integer (risk points), smallest first;
  ties (practically impossible) fall back to the unit id. Every unit keeps a chance above zero.
- Allocation is computed with exact fractions and Hamilton's largest-remainder rule; ties go to
  the stratum that sorts first.
- Inspectors are paired per selected enterprise, enterprises taken in key order: the two eligible
  inspectors (not linked to the enterprise, 回避) with the fewest assignments so far, ties broken by
  ``SHA-256(seed ‖ ",inspector," ‖ unit_id ‖ "," ‖ inspector_id)``.
- The frame's hash is SHA-256 over its units sorted by id, one line each:
  ``unit_id TAB stratum TAB weight LF``.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import repeat
from operator import attrgetter, floordiv, lshift, methodcaller
from typing import Any, Literal, get_args

from bargaining.errors import ValidationError

ALGORITHM = "sha256-bottom-k"
ALGORITHM_VERSION = 1
WEIGHT_SHIFT = 64

AllocationMethod = Literal["proportional", "fixed", "risk_weighted"]
ALLOCATION_METHODS: tuple[AllocationMethod, ...] = get_args(AllocationMethod)
ALLOCATION_LABELS = {
    "proportional": "按规模比例分配",
    "fixed": "每层固定数量",
    "risk_weighted": "按风险加权分配",
}
STRATUM_DIMENSIONS = ("region", "sector", "size")
DIMENSION_LABELS = {"region": "地区", "sector": "行业", "size": "规模"}


class SamplingError(ValidationError):
    code = "sampling"


# ---- the frame ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FrameUnit:
    """One enterprise of the sampling frame: its id, stratum and (risk) weight."""

    unit_id: str
    stratum: str
    weight: int = 1


def frame_lines(units: Iterable[FrameUnit]) -> list[str]:
    """The canonical text of a frame: sorted by unit id, one line per unit."""
    ordered = sorted(units, key=lambda u: u.unit_id)
    lines = [f"{u.unit_id}\t{u.stratum}\t{u.weight}\n" for u in ordered]
    for previous, current in itertools.pairwise(ordered):
        if previous.unit_id == current.unit_id:
            raise SamplingError(f"抽样框中企业 {current.unit_id} 重复出现")
    return lines


def frame_sha256(units: Iterable[FrameUnit]) -> str:
    digest = hashlib.sha256()
    for line in frame_lines(units):
        digest.update(line.encode("utf-8"))
    return digest.hexdigest()


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no spaces: what record hashes are computed over."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def size_band(headcount: int, bounds: Sequence[int]) -> str:
    """The size band of a headcount: bounds ``(50, 300)`` give ``<50``, ``50-299``, ``>=300``."""
    edges = sorted(set(bounds))
    if not edges:
        return "all"
    if headcount < edges[0]:
        return f"<{edges[0]}"
    for low, high in itertools.pairwise(edges):
        if low <= headcount < high:
            return f"{low}-{high - 1}"
    return f">={edges[-1]}"


def stratum_key(values: Mapping[str, str], dimensions: Sequence[str]) -> str:
    """``region=…|sector=…|size=…`` in the order of ``dimensions``; ``all`` with none."""
    if not dimensions:
        return "all"
    return "|".join(f"{d}={values[d]}" for d in dimensions)


def describe_stratum(key: str, names: Mapping[str, str] | None = None) -> str:
    """Chinese label of a stratum key, e.g. ``地区：测试街道；行业：茶叶；规模：50-299人``."""
    if key == "all":
        return "全部"
    parts = []
    for part in key.split("|"):
        dim, _, value = part.partition("=")
        shown = (names or {}).get(part, value)
        if dim == "size" and shown == value:
            shown = f"{value}人"
        parts.append(f"{DIMENSION_LABELS.get(dim, dim)}：{shown}")
    return "；".join(parts)


# ---- risk ----------------------------------------------------------------------------------------

RISK_FORMULA_VERSION = 1
RISK_FORMULA = "风险分 = 1 + 3 × 以往严重问题数 + 1 × 以往其他问题数 + 2 × 以往移送劳动行政部门次数"


def risk_points(high_findings: int, other_findings: int, escalations: int) -> int:
    """Risk weight of an enterprise (formula version 1): never below 1, so every unit keeps a chance."""
    if min(high_findings, other_findings, escalations) < 0:
        raise SamplingError("风险因素的计数不能为负")
    return 1 + 3 * high_findings + other_findings + 2 * escalations


# ---- seeds and keys -------------------------------------------------------------------------------


def derive_seed(frame_hash: str, entropy: str) -> str:
    """The draw's seed: bound to the frozen frame and to entropy fixed after freezing."""
    if not entropy.strip():
        raise SamplingError("随机种子来源（熵值）不能为空")
    return sha256_text(f"{frame_hash}|{entropy}")


def unit_key(seed: str, unit_id: str) -> str:
    """The 64-hex-digit key of a unit: SHA-256(seed ‖ "," ‖ unit_id)."""
    return hashlib.sha256(f"{seed},{unit_id}".encode()).hexdigest()


def weighted_rank(key_hex: str, weight: int) -> int:
    """The sequential-Poisson ranking value of a key and an integer weight (smaller = earlier)."""
    if weight < 1:
        raise SamplingError(f"风险权重须为正整数，实际为{weight}")
    return (int(key_hex, 16) << WEIGHT_SHIFT) // weight


# ---- allocation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AllocationRule:
    """How the sample size is spread over strata.

    ``proportional``: ``sample_size`` × stratum size ÷ frame size; ``risk_weighted``: in
    proportion to the stratum's total risk weight, units drawn by weight; ``fixed``:
    ``per_stratum`` from every stratum. ``minimum_per_stratum`` keeps small strata in.
    """

    method: AllocationMethod
    sample_size: int = 0
    per_stratum: int = 0
    minimum_per_stratum: int = 0

    def __post_init__(self) -> None:
        if self.method not in ALLOCATION_METHODS:
            raise SamplingError(
                f"分配方式“{self.method}”无效，可选："
                + "、".join(f"{m}（{ALLOCATION_LABELS[m]}）" for m in ALLOCATION_METHODS)
            )
        if self.method == "fixed":
            if self.per_stratum < 1:
                raise SamplingError("每层固定数量须为正整数")
        elif self.sample_size < 1:
            raise SamplingError("样本量须为正整数")
        if self.minimum_per_stratum < 0:
            raise SamplingError("每层最少样本数不能为负")

    @property
    def weighted(self) -> bool:
        return self.method == "risk_weighted"

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "sample_size": self.sample_size,
            "per_stratum": self.per_stratum,
            "minimum_per_stratum": self.minimum_per_stratum,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AllocationRule:
        return cls(
            method=data["method"],
            sample_size=int(data.get("sample_size") or 0),
            per_stratum=int(data.get("per_stratum") or 0),
            minimum_per_stratum=int(data.get("minimum_per_stratum") or 0),
        )

    def describe(self) -> str:
        if self.method == "fixed":
            text = f"{ALLOCATION_LABELS[self.method]}：每层{self.per_stratum}家"
        else:
            text = f"{ALLOCATION_LABELS[self.method]}：共{self.sample_size}家"
        if self.minimum_per_stratum:
            text += f"，每层至少{self.minimum_per_stratum}家"
        return text


@dataclass(frozen=True)
class StratumAllocation:
    stratum: str
    population: int  # N_h
    weight_total: int  # sum of risk weights (= N_h when unweighted)
    target: str  # exact share before rounding, as a fraction string ("37/4")
    allocated: int  # n_h
    shortfall: int  # what was asked of the stratum but it could not give


@dataclass(frozen=True)
class Allocation:
    rule: AllocationRule
    strata: tuple[StratumAllocation, ...]
    notes: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return sum(s.allocated for s in self.strata)

    def quota(self) -> dict[str, int]:
        return {s.stratum: s.allocated for s in self.strata}

    def as_list(self) -> list[dict[str, Any]]:
        return [
            {
                "stratum": s.stratum,
                "population": s.population,
                "weight_total": s.weight_total,
                "target": s.target,
                "allocated": s.allocated,
                "shortfall": s.shortfall,
            }
            for s in self.strata
        ]


def _hamilton(total: int, shares: Mapping[str, Fraction], caps: Mapping[str, int]) -> dict[str, int]:
    """Round exact shares (summing to ``total``) to integers: floors, then largest remainders."""
    result = {h: min(int(shares[h]), caps[h]) for h in shares}
    left = total - sum(result.values())
    order = sorted(shares, key=lambda h: (-(shares[h] - int(shares[h])), h))
    while left > 0:
        progressed = False
        for h in order:
            if left == 0:
                break
            if result[h] < caps[h]:
                result[h] += 1
                left -= 1
                progressed = True
        if not progressed:
            break
    return result


def _bounded_shares(
    n: int, measure: Mapping[str, int], lower: Mapping[str, int], upper: Mapping[str, int]
) -> dict[str, Fraction]:
    """Exact shares of ``n`` in proportion to ``measure``, clamped to [lower, upper] per stratum.

    Strata whose share breaks a bound are fixed at the bound and the rest is shared again among
    the others; upper bounds first (they free units for the others), then lower bounds.
    """
    fixed: dict[str, Fraction] = {}
    while True:
        free = [h for h in measure if h not in fixed]
        if not free:
            return fixed
        rest = n - sum(fixed.values())
        total = sum(measure[h] for h in free)
        shares = {h: Fraction(rest * measure[h], total) if total else Fraction(0) for h in free}
        over = [h for h in free if shares[h] > upper[h]]
        if over:
            for h in over:
                fixed[h] = Fraction(upper[h])
            continue
        under = [h for h in free if shares[h] < lower[h]]
        if under:
            for h in under:
                fixed[h] = Fraction(lower[h])
            continue
        return {**fixed, **shares}


def allocate(
    population: Mapping[str, int], rule: AllocationRule, weight_totals: Mapping[str, int] | None = None
) -> Allocation:
    """Sample sizes per stratum; a stratum never gives more units than it has (the shortfall is
    recorded and, except for fixed allocation, shared out over the strata that still have units)."""
    strata = sorted(h for h, size in population.items() if size > 0)
    if not strata:
        raise SamplingError("抽样框为空：范围内没有符合条件的企业")
    weights = dict(weight_totals) if weight_totals is not None else dict(population)
    notes: list[str] = []
    if rule.method == "fixed":
        allocated = {h: min(rule.per_stratum, population[h]) for h in strata}
        for h in strata:
            if population[h] < rule.per_stratum:
                notes.append(
                    f"层“{describe_stratum(h)}”仅有{population[h]}家企业，少于每层应抽的{rule.per_stratum}家，已全部抽取"
                )
        return Allocation(
            rule,
            tuple(
                StratumAllocation(
                    h,
                    population[h],
                    weights[h],
                    str(Fraction(rule.per_stratum)),
                    allocated[h],
                    rule.per_stratum - allocated[h],
                )
                for h in strata
            ),
            tuple(notes),
        )

    frame_size = sum(population[h] for h in strata)
    n = rule.sample_size
    if n > frame_size:
        notes.append(f"样本量{n}家超过抽样框{frame_size}家，已全部抽取")
        n = frame_size
    lower = {h: min(rule.minimum_per_stratum, population[h]) for h in strata}
    upper = {h: population[h] for h in strata}
    if sum(lower.values()) > n:
        raise SamplingError(
            f"每层至少{rule.minimum_per_stratum}家共需{sum(lower.values())}家，超过样本量{n}家；请增加样本量或降低每层最少数"
        )
    measure = {h: (weights[h] if rule.weighted else population[h]) for h in strata}
    if rule.weighted and any(measure[h] < 1 for h in strata):
        raise SamplingError("风险加权分配要求每层风险权重之和为正")
    plain = {h: Fraction(n * measure[h], sum(measure.values())) for h in strata}
    shares = _bounded_shares(n, measure, lower, upper)
    allocated = _hamilton(n, shares, upper)
    out = []
    for h in strata:
        shortfall = max(0, -(-plain[h].numerator // plain[h].denominator) - population[h])
        if plain[h] > population[h]:
            notes.append(
                f"层“{describe_stratum(h)}”仅有{population[h]}家企业，少于按比例应抽的{_fraction_text(plain[h])}家，"
                f"已全部抽取，差额分配给其他层"
            )
        if rule.minimum_per_stratum > population[h]:
            notes.append(
                f"层“{describe_stratum(h)}”仅有{population[h]}家企业，少于每层最少{rule.minimum_per_stratum}家，已全部抽取"
            )
            shortfall = max(shortfall, rule.minimum_per_stratum - population[h])
        out.append(
            StratumAllocation(h, population[h], weights[h], _fraction_str(shares[h]), allocated[h], shortfall)
        )
    return Allocation(rule, tuple(out), tuple(notes))


def _fraction_str(value: Fraction) -> str:
    return str(value)


def _fraction_text(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.2f}"


# ---- the draw -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selected:
    unit_id: str
    stratum: str
    key: str
    rank: int  # 1-based rank within its stratum
    inclusion_probability: str  # exact fraction for equal-probability strata, approximate when weighted


@dataclass(frozen=True)
class DrawResult:
    seed: str
    frame_sha256: str
    frame_rows: int
    allocation: Allocation
    selected: tuple[Selected, ...]
    algorithm: str = ALGORITHM
    algorithm_version: int = ALGORITHM_VERSION

    def selected_ids(self) -> list[str]:
        return [s.unit_id for s in self.selected]

    def selection_sha256(self) -> str:
        return selection_sha256(self.selected)


def selection_sha256(selected: Iterable[Selected]) -> str:
    """Hash of the selection: ``stratum TAB rank TAB unit_id TAB key`` lines in stratum/rank order."""
    lines = sorted((s.stratum, s.rank, s.unit_id, s.key) for s in selected)
    return sha256_text("".join(f"{h}\t{r}\t{u}\t{k}\n" for h, r, u, k in lines))


def _group(units: Sequence[FrameUnit]) -> dict[str, list[FrameUnit]]:
    groups: dict[str, list[FrameUnit]] = defaultdict(list)
    for unit, stratum in zip(units, map(_STRATUM, units), strict=True):
        groups[stratum].append(unit)
    return groups


_STRATUM = attrgetter("stratum")


def ranked_stratum(seed: str, units: Sequence[FrameUnit], *, weighted: bool) -> list[tuple[str, FrameUnit]]:
    """A whole stratum in draw order, with each unit's key (used for replacements)."""
    keyed = [(unit_key(seed, u.unit_id), u) for u in units]
    if weighted:
        keyed.sort(key=lambda ku: (weighted_rank(ku[0], ku[1].weight), ku[1].unit_id))
    else:
        keyed.sort(key=lambda ku: (ku[0], ku[1].unit_id))
    return keyed


def _digests(prefix: bytes, unit_ids: list[str]) -> list[bytes]:
    """SHA-256(prefix ‖ unit_id) of every id, iterated in C (map chains, no Python frame per unit)."""
    return list(map(_DIGEST, map(hashlib.sha256, map(prefix.__add__, map(str.encode, unit_ids)))))


_DIGEST = methodcaller("digest")
_UNIT_ID = attrgetter("unit_id")
_WEIGHT = attrgetter("weight")


def draw(
    units: Sequence[FrameUnit], seed: str, rule: AllocationRule, *, frame_hash: str | None = None
) -> DrawResult:
    """Draw the stratified sample. ``frame_hash`` may be passed when already computed (at freezing)."""
    if not seed:
        raise SamplingError("尚未确定随机种子")
    groups = _group(units)
    population = {h: len(members) for h, members in groups.items()}
    weight_totals = population
    weights_of: dict[str, list[int]] = {}
    if rule.weighted:
        weights_of = {h: list(map(_WEIGHT, members)) for h, members in groups.items()}
        for h, weights in weights_of.items():
            if min(weights) < 1:
                raise SamplingError(f"层“{describe_stratum(h)}”中有企业的风险权重不是正整数")
        weight_totals = {h: sum(weights) for h, weights in weights_of.items()}
    allocation = allocate(population, rule, weight_totals)
    quota = allocation.quota()
    prefix = f"{seed},".encode()
    selected: list[Selected] = []
    for h in sorted(groups):
        k = quota.get(h, 0)
        if k == 0:
            continue
        members = groups[h]
        ids = list(map(_UNIT_ID, members))
        digests = _digests(prefix, ids)
        if rule.weighted:
            weights = weights_of[h]
            # (key << WEIGHT_SHIFT) // weight, as weighted_rank computes it, iterated in C.
            big: Literal["big"] = "big"
            keys = map(int.from_bytes, digests, repeat(big))
            ranks = list(map(floordiv, map(lshift, keys, repeat(WEIGHT_SHIFT)), weights))
            best = heapq.nsmallest(k, zip(ranks, ids, digests, weights, strict=True))
            total_weight = weight_totals[h]
            for rank, (_, unit_id, digest, weight) in enumerate(best, 1):
                p = min(Fraction(1), Fraction(k * weight, total_weight))
                selected.append(Selected(unit_id, h, digest.hex(), rank, _probability(p)))
        else:
            # Keys are unique (SHA-256), so the k smallest keys name the k units without ties.
            by_key = dict(zip(digests, ids, strict=True))
            probability = _probability(Fraction(k, len(members)))
            for rank, digest in enumerate(heapq.nsmallest(k, by_key), 1):
                selected.append(Selected(by_key[digest], h, digest.hex(), rank, probability))
    return DrawResult(
        seed=seed,
        frame_sha256=frame_hash or frame_sha256(units),
        frame_rows=len(units),
        allocation=allocation,
        selected=tuple(selected),
    )


def _probability(p: Fraction) -> str:
    return str(p)


def next_replacement(
    seed: str, stratum_units: Sequence[FrameUnit], used: set[str], *, weighted: bool
) -> tuple[str, FrameUnit] | None:
    """The next unit of the stratum in draw order that is not yet used (selected, replaced or
    excluded), with its key; None when the stratum is exhausted."""
    for key, unit in ranked_stratum(seed, stratum_units, weighted=weighted):
        if unit.unit_id not in used:
            return key, unit
    return None


# ---- inspectors -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InspectorPair:
    unit_id: str
    inspectors: tuple[str, ...]
    keys: tuple[str, ...]


@dataclass(frozen=True)
class InspectorDraw:
    pairs: tuple[InspectorPair, ...]
    recusals: tuple[tuple[str, str], ...]  # (unit_id, inspector_id) pairs excluded (回避)

    def load(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for pair in self.pairs:
            for inspector in pair.inspectors:
                counts[inspector] += 1
        return dict(counts)


def inspector_key(seed: str, unit_id: str, inspector_id: str) -> str:
    return hashlib.sha256(f"{seed},inspector,{unit_id},{inspector_id}".encode()).hexdigest()


def draw_inspectors(
    seed: str,
    units: Sequence[tuple[str, str]],
    inspectors: Sequence[str],
    links: set[tuple[str, str]],
    *,
    per_unit: int = 2,
    initial_load: Mapping[str, int] | None = None,
) -> InspectorDraw:
    """Pair inspectors with the selected enterprises at random, balanced, with recusal.

    ``units``: (unit_id, key) of each selected enterprise; ``links``: (inspector_id, unit_id)
    pairs that may not meet (the inspector is linked to the enterprise); ``initial_load``:
    assignments an inspector already has (a replacement enterprise paired after the main draw).
    """
    pool = sorted(set(inspectors))
    if len(pool) < per_unit:
        raise SamplingError(f"检查人员库只有{len(pool)}人，每家企业须由至少{per_unit}名检查人员共同检查")
    load = {i: (initial_load or {}).get(i, 0) for i in pool}
    pairs: list[InspectorPair] = []
    recusals: list[tuple[str, str]] = []
    for unit_id, _ in sorted(units, key=lambda u: (u[1], u[0])):
        eligible = []
        for inspector in pool:
            if (inspector, unit_id) in links:
                recusals.append((unit_id, inspector))
            else:
                eligible.append(inspector)
        if len(eligible) < per_unit:
            raise SamplingError(
                f"企业 {unit_id} 回避后只有{len(eligible)}名检查人员可选，不足{per_unit}人；请扩充检查人员库"
            )
        keyed = sorted((load[i], inspector_key(seed, unit_id, i), i) for i in eligible)
        chosen = keyed[:per_unit]
        for _, _, inspector in chosen:
            load[inspector] += 1
        pairs.append(InspectorPair(unit_id, tuple(i for _, _, i in chosen), tuple(k for _, k, _ in chosen)))
    return InspectorDraw(tuple(pairs), tuple(recusals))


# ---- replay ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayResult:
    frame_sha256_recorded: str
    frame_sha256_recomputed: str
    selection_recorded: tuple[str, ...]
    selection_recomputed: tuple[str, ...]
    keys_mismatched: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def frame_matches(self) -> bool:
        return self.frame_sha256_recorded == self.frame_sha256_recomputed

    @property
    def selection_matches(self) -> bool:
        return (
            sorted(self.selection_recorded) == sorted(self.selection_recomputed) and not self.keys_mismatched
        )

    @property
    def matches(self) -> bool:
        return self.frame_matches and self.selection_matches and not self.problems


def replay(
    units: Sequence[FrameUnit],
    *,
    recorded_frame_sha256: str,
    entropy: str,
    recorded_seed: str,
    rule: AllocationRule,
    recorded_selection: Mapping[str, str],
    algorithm_version: int,
) -> ReplayResult:
    """Recompute a draw from a record's frame snapshot, seed source and rule.

    ``recorded_selection``: unit_id → key as recorded.
    """
    problems: list[str] = []
    if algorithm_version != ALGORITHM_VERSION:
        problems.append(f"记录使用算法版本{algorithm_version}，本程序为版本{ALGORITHM_VERSION}")
    recomputed_hash = frame_sha256(units)
    seed = derive_seed(recorded_frame_sha256, entropy)
    if seed != recorded_seed:
        problems.append("由抽样框哈希和熵值重算的随机种子与记录不一致")
    result = draw(units, recorded_seed, rule, frame_hash=recomputed_hash)
    recomputed = {s.unit_id: s.key for s in result.selected}
    mismatched = tuple(
        sorted(u for u, k in recorded_selection.items() if u in recomputed and recomputed[u] != k)
    )
    return ReplayResult(
        frame_sha256_recorded=recorded_frame_sha256,
        frame_sha256_recomputed=recomputed_hash,
        selection_recorded=tuple(sorted(recorded_selection)),
        selection_recomputed=tuple(sorted(recomputed)),
        keys_mismatched=mismatched,
        problems=tuple(problems),
    )


__all__ = [
    "ALGORITHM",
    "ALGORITHM_VERSION",
    "ALLOCATION_LABELS",
    "ALLOCATION_METHODS",
    "RISK_FORMULA",
    "RISK_FORMULA_VERSION",
    "Allocation",
    "AllocationMethod",
    "AllocationRule",
    "DrawResult",
    "FrameUnit",
    "InspectorDraw",
    "InspectorPair",
    "ReplayResult",
    "SamplingError",
    "Selected",
    "StratumAllocation",
    "allocate",
    "canonical_json",
    "derive_seed",
    "describe_stratum",
    "draw",
    "draw_inspectors",
    "frame_lines",
    "frame_sha256",
    "inspector_key",
    "next_replacement",
    "ranked_stratum",
    "replay",
    "risk_points",
    "selection_sha256",
    "sha256_text",
    "size_band",
    "stratum_key",
    "unit_key",
    "weighted_rank",
]
