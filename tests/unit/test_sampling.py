"""Sampling: golden vectors, allocation edge cases, recusal, replay. No database.

The golden vectors can be checked without this code, with coreutils alone::

    for n in $(seq 1 24); do if [ $n -le 12 ]; then s=A; elif [ $n -le 20 ]; then s=B; else s=C; fi
      printf 'U%03d\\tregion=%s\\t%d\\n' $n $s $((1+(n*7)%5)); done | sha256sum       # frame hash
    printf '<frame hash>|golden entropy' | sha256sum                                 # seed
    printf '<seed>,U016' | sha256sum                                                 # a unit's key
"""

from __future__ import annotations

import hashlib
from fractions import Fraction

import pytest

from bargaining.rules.sampling import (
    AllocationRule,
    FrameUnit,
    SamplingError,
    allocate,
    derive_seed,
    describe_stratum,
    draw,
    draw_inspectors,
    frame_sha256,
    next_replacement,
    replay,
    risk_points,
    size_band,
    stratum_key,
    unit_key,
    weighted_rank,
)

FRAME_SHA256 = "1796b19c75a2b8fd25da357d93611ab689d1ca354aef3fcf6d3493f5bc60da2a"
SEED = "60dbf5008d93fa88fac874b94fea35af770d7a31318ad64883f312347590f3cc"


def golden_frame() -> list[FrameUnit]:
    units = []
    for n in range(1, 25):
        stratum = "region=A" if n <= 12 else ("region=B" if n <= 20 else "region=C")
        units.append(FrameUnit(f"U{n:03d}", stratum, 1 + (n * 7) % 5))
    return units


def test_key_is_sha256_of_seed_comma_unit_id() -> None:
    expected = "11e43a1c4e3b867a86b3706ffb4191dda3ccbbcb4655796fc2582269510503f1"  # sha256sum
    assert unit_key("golden-seed", "91320282MA0000001X") == expected
    assert hashlib.sha256(b"golden-seed,91320282MA0000001X").hexdigest() == expected


def test_frame_hash_and_seed_golden() -> None:
    units = golden_frame()
    assert frame_sha256(units) == FRAME_SHA256
    assert frame_sha256(list(reversed(units))) == FRAME_SHA256  # independent of row order
    assert derive_seed(FRAME_SHA256, "golden entropy") == SEED


def test_proportional_golden_selection() -> None:
    result = draw(golden_frame(), SEED, AllocationRule("proportional", sample_size=6))
    assert result.allocation.quota() == {"region=A": 3, "region=B": 2, "region=C": 1}
    assert [(s.stratum, s.unit_id, s.rank) for s in result.selected] == [
        ("region=A", "U002", 1),
        ("region=A", "U001", 2),
        ("region=A", "U006", 3),
        ("region=B", "U020", 1),
        ("region=B", "U016", 2),
        ("region=C", "U023", 1),
    ]
    assert result.selection_sha256() == "f28b80dc45c92e7053c4a8987d903881a8076795b6fa3b69861be2687152af1f"
    b = {s.unit_id: s for s in result.selected if s.stratum == "region=B"}
    assert b["U020"].key == "1b97dd001996297cb66b9eb7ce1ed3ab8ea68bb4483bd8af8a4b3e842b2a0425"
    assert b["U020"].inclusion_probability == "1/4"  # 2 of 8


def test_risk_weighted_golden_selection() -> None:
    result = draw(golden_frame(), SEED, AllocationRule("risk_weighted", sample_size=6))
    assert [(s.stratum, s.unit_id) for s in result.selected] == [
        ("region=A", "U002"),
        ("region=A", "U001"),
        ("region=A", "U006"),
        ("region=B", "U019"),
        ("region=B", "U016"),
        ("region=C", "U022"),
    ]
    assert result.selection_sha256() == "3c28b76b127f1a63b00b514d9347e37e3cff461918aa1667fe9300ffb69875e0"


def test_weighted_rank_is_integer_exact() -> None:
    key = "ff" * 32
    assert weighted_rank(key, 1) == int(key, 16) << 64
    assert weighted_rank(key, 3) == (int(key, 16) << 64) // 3
    with pytest.raises(SamplingError):
        weighted_rank(key, 0)


def test_fixed_allocation_stratum_smaller_than_quota() -> None:
    result = draw(golden_frame(), SEED, AllocationRule("fixed", per_stratum=5))
    strata = {a.stratum: (a.allocated, a.shortfall) for a in result.allocation.strata}
    assert strata == {"region=A": (5, 0), "region=B": (5, 0), "region=C": (4, 1)}
    assert sorted(s.unit_id for s in result.selected if s.stratum == "region=C") == [
        "U021",
        "U022",
        "U023",
        "U024",
    ]
    assert "仅有4家企业，少于每层应抽的5家" in result.allocation.notes[0]
    assert result.selection_sha256() == "306fd55c25c9af83ee5404c2888d582dd9ae34f0a7bb13b373bfa22566cda8c0"


def test_draw_is_independent_of_frame_order_and_stable_prefix() -> None:
    units = golden_frame()
    a = draw(units, SEED, AllocationRule("proportional", sample_size=6))
    b = draw(list(reversed(units)), SEED, AllocationRule("proportional", sample_size=6))
    assert a.selected == b.selected
    # Bottom-k: a larger sample keeps every unit of the smaller one (within the same quota order).
    bigger = draw(units, SEED, AllocationRule("fixed", per_stratum=5))
    assert {s.unit_id for s in a.selected} <= {s.unit_id for s in bigger.selected}


def test_other_seed_other_sample() -> None:
    units = golden_frame()
    a = draw(units, SEED, AllocationRule("proportional", sample_size=6)).selected_ids()
    b = draw(
        units, derive_seed(FRAME_SHA256, "another number"), AllocationRule("proportional", sample_size=6)
    )
    assert a != b.selected_ids()


# ---- allocation edge cases ------------------------------------------------------------------------


def test_proportional_largest_remainder() -> None:
    result = allocate({"a": 5, "b": 3, "c": 2}, AllocationRule("proportional", sample_size=5))
    # exact shares 2.5, 1.5, 1.0 → floors 2, 1, 1 and one seat to the largest remainder (tie: "a" first)
    assert result.quota() == {"a": 3, "b": 1, "c": 1}
    assert result.total == 5
    assert [s.target for s in result.strata] == ["5/2", "3/2", "1"]


def test_risk_weighted_stratum_smaller_than_its_share_gives_the_rest_to_others() -> None:
    # Stratum "hot" holds most of the risk but only 2 enterprises: it gives both, the rest moves on.
    result = allocate(
        {"hot": 2, "cool": 10, "cold": 10},
        AllocationRule("risk_weighted", sample_size=8),
        {"hot": 90, "cool": 5, "cold": 5},
    )
    assert result.quota() == {"cold": 3, "cool": 3, "hot": 2}
    hot = next(s for s in result.strata if s.stratum == "hot")
    assert hot.shortfall == 6  # 8 × 90/100 = 7.2 → 8 asked, 2 available
    assert any("仅有2家企业" in note and "差额分配给其他层" in note for note in result.notes)


def test_minimum_per_stratum_and_small_strata() -> None:
    result = allocate(
        {"big": 100, "small": 3, "tiny": 1},
        AllocationRule("proportional", sample_size=10, minimum_per_stratum=2),
    )
    assert result.quota() == {"big": 7, "small": 2, "tiny": 1}
    tiny = next(s for s in result.strata if s.stratum == "tiny")
    assert tiny.shortfall == 1
    assert any("少于每层最少2家" in note for note in result.notes)


def test_sample_larger_than_frame_takes_everyone() -> None:
    result = allocate({"a": 2, "b": 1}, AllocationRule("proportional", sample_size=10))
    assert result.quota() == {"a": 2, "b": 1}
    assert "超过抽样框3家" in result.notes[0]


def test_impossible_minimums_and_bad_rules_are_refused() -> None:
    with pytest.raises(SamplingError, match="超过样本量"):
        allocate(
            {"a": 5, "b": 5, "c": 5}, AllocationRule("proportional", sample_size=4, minimum_per_stratum=2)
        )
    with pytest.raises(SamplingError, match="样本量须为正整数"):
        AllocationRule("proportional", sample_size=0)
    with pytest.raises(SamplingError, match="分配方式"):
        AllocationRule("random", sample_size=3)  # type: ignore[arg-type]
    with pytest.raises(SamplingError, match="抽样框为空"):
        allocate({}, AllocationRule("fixed", per_stratum=1))


def test_allocation_totals_never_exceed_strata() -> None:
    sizes = {f"s{i}": (i * 7) % 11 + 1 for i in range(9)}
    for n in range(1, sum(sizes.values()) + 3):
        for method in ("proportional", "risk_weighted"):
            result = allocate(
                sizes, AllocationRule(method, sample_size=n), {h: (i % 4) + 1 for i, h in enumerate(sizes)}
            )  # type: ignore[arg-type]
            assert result.total == min(n, sum(sizes.values()))
            assert all(0 <= s.allocated <= s.population for s in result.strata)
            assert all(Fraction(s.target) <= s.population for s in result.strata)


def test_strata_keys_and_bands() -> None:
    assert size_band(49, (50, 300)) == "<50"
    assert size_band(50, (300, 50)) == "50-299"
    assert size_band(300, (50, 300)) == ">=300"
    key = stratum_key({"region": "xj", "sector": "tea", "size": "50-299"}, ["region", "sector", "size"])
    assert key == "region=xj|sector=tea|size=50-299"
    assert describe_stratum(key, {"region=xj": "新街街道"}) == "地区：新街街道；行业：tea；规模：50-299人"
    assert risk_points(0, 0, 0) == 1 and risk_points(1, 2, 1) == 8


def test_duplicate_units_refused() -> None:
    with pytest.raises(SamplingError, match="重复"):
        frame_sha256([FrameUnit("X", "all"), FrameUnit("X", "all")])


# ---- replacements and inspectors ------------------------------------------------------------------


def test_replacement_is_next_key_of_the_same_stratum() -> None:
    units = golden_frame()
    stratum_b = [u for u in units if u.stratum == "region=B"]
    used = {"U020", "U016"}
    nxt = next_replacement(SEED, stratum_b, used, weighted=False)
    assert nxt is not None and nxt[1].unit_id == "U019"  # third smallest key in B (see sha256sum above)
    assert next_replacement(SEED, stratum_b, {u.unit_id for u in stratum_b}, weighted=False) is None


def test_inspector_pairs_golden_with_recusal() -> None:
    selected = draw(golden_frame(), SEED, AllocationRule("proportional", sample_size=6)).selected
    pairs = draw_inspectors(
        SEED, [(s.unit_id, s.key) for s in selected], ["a", "b", "c", "d"], {("a", "U001"), ("b", "U001")}
    )
    assert [(p.unit_id, p.inspectors) for p in pairs.pairs] == [
        ("U002", ("b", "d")),
        ("U001", ("c", "d")),
        ("U020", ("a", "c")),
        ("U006", ("a", "b")),
        ("U016", ("b", "d")),
        ("U023", ("a", "c")),
    ]
    assert set(pairs.recusals) == {("U001", "a"), ("U001", "b")}
    assert pairs.load() == {"a": 3, "b": 3, "c": 3, "d": 3}


def test_recusal_never_pairs_a_linked_inspector() -> None:
    units = [FrameUnit(f"E{n:02d}", "all") for n in range(40)]
    selected = draw(units, SEED, AllocationRule("proportional", sample_size=20)).selected
    links = {(i, s.unit_id) for s in selected for i in ("p", "q") if int(s.key[:2], 16) % 2}
    pairs = draw_inspectors(SEED, [(s.unit_id, s.key) for s in selected], ["p", "q", "r", "s", "t"], links)
    for pair in pairs.pairs:
        assert len(set(pair.inspectors)) == 2
        assert not any((i, pair.unit_id) in links for i in pair.inspectors)
    loads = pairs.load().values()
    assert max(loads) - min(loads) <= 4  # balanced, recusals permitting


def test_too_few_inspectors_after_recusal() -> None:
    with pytest.raises(SamplingError, match="回避后只有1名检查人员可选"):
        draw_inspectors(SEED, [("U1", "00")], ["a", "b"], {("a", "U1")})
    with pytest.raises(SamplingError, match="检查人员库只有1人"):
        draw_inspectors(SEED, [("U1", "00")], ["a"], set())


# ---- replay ---------------------------------------------------------------------------------------


def test_replay_matches_and_detects_a_changed_frame() -> None:
    units = golden_frame()
    rule = AllocationRule("proportional", sample_size=6)
    recorded = {s.unit_id: s.key for s in draw(units, SEED, rule).selected}
    ok = replay(
        units,
        recorded_frame_sha256=FRAME_SHA256,
        entropy="golden entropy",
        recorded_seed=SEED,
        rule=rule,
        recorded_selection=recorded,
        algorithm_version=1,
    )
    assert ok.matches

    changed = [*units[:-1], FrameUnit("U024", "region=B", 1)]  # one enterprise moved to another stratum
    bad = replay(
        changed,
        recorded_frame_sha256=FRAME_SHA256,
        entropy="golden entropy",
        recorded_seed=SEED,
        rule=rule,
        recorded_selection=recorded,
        algorithm_version=1,
    )
    assert not bad.frame_matches
    assert not bad.matches

    wrong_seed = replay(
        units,
        recorded_frame_sha256=FRAME_SHA256,
        entropy="a different number",
        recorded_seed=SEED,
        rule=rule,
        recorded_selection=recorded,
        algorithm_version=1,
    )
    assert not wrong_seed.matches and "随机种子" in wrong_seed.problems[0]
