"""Importing enterprise lists: the dry run lists every rejected row; nothing or only valid rows import."""

from __future__ import annotations

from sqlalchemy import func, select

from bargaining.models import Enterprise, Event
from bargaining.rules.uscc import complete_credit_code, validate_credit_code
from services.exchange.exporter import export_enterprises
from services.exchange.importer import import_enterprises
from services.uow import unit_of_work
from tests.support import build_world

from .helpers import build_tree, read_rows, write_csv, write_xlsx

HEADER = [
    "统一社会信用代码",
    "企业名称",
    "所属工会代码",
    "行业代码",
    "职工人数",
    "最低工资档次",
    "地址",
    "法定代表人",
    "工会名称",
    "工会主席",
]


def code(n: int) -> str:
    return complete_credit_code(f"91320282MA1{n:06d}")


def bad_check_digit(value: str) -> str:
    last = "0" if value[-1] != "0" else "1"
    return value[:-1] + last


def _count(db) -> int:
    with unit_of_work(db, write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(Enterprise)) or 0


def rows_with_every_problem(world) -> list[list[object]]:
    bad = bad_check_digit(code(3))
    return [
        HEADER,
        [code(1), "甲机械有限公司", "street", "tea", 120, 1, "宜兴市", "张三", "甲机械工会", "李四"],  # 2 ok
        [code(2), "乙电子有限公司", "street", "", "80", "", "", "", "", ""],  # 3 ok (defaults)
        [bad, "丙化工有限公司", "street", "", 10, 1, "", "", "", ""],  # 4 bad check digit
        [code(4), "丁陶瓷有限公司", "nowhere", "", 10, 1, "", "", "", ""],  # 5 unknown region
        [code(5), "戊纺织有限公司", "street", "", "abc", 1, "", "", "", ""],  # 6 bad number
        [code(6), "", "street", "", 10, 5, "", "", "", ""],  # 7 missing name, bad tier
        [code(1), "甲机械有限公司（重复）", "street", "", 10, 1, "", "", "", ""],  # 8 duplicate of row 2
        [
            world.enterprise_code,
            "测试机械有限公司",
            "street",
            "",
            120,
            1,
            "",
            "",
            "",
            "",
        ],  # 9 already registered
        [code(7), "己建材有限公司", "street", "coal", 10, 1, "", "", "", ""],  # 10 unknown sector
        [],  # blank line: ignored
        [code(8), "庚食品有限公司", "street", "茶叶", 30, 2, "", "", "", ""],  # 12 ok (sector by name)
    ]


EXPECTED = {
    4: ("统一社会信用代码", "校验码应为"),
    5: ("所属工会代码", "找不到该工会组织代码"),
    6: ("职工人数", "应为不小于0的整数"),
    7: ("企业名称", "缺少必填项“企业名称”"),
    8: ("统一社会信用代码", "与第2行重复"),
    9: ("统一社会信用代码", "已登记"),
    10: ("行业代码", "找不到该行业代码"),
}


def test_dry_run_lists_every_rejected_row_and_imports_nothing(db, tmp_path):
    w = build_world(db)
    before = _count(db)
    for path in (
        write_csv(tmp_path / "企业.csv", rows_with_every_problem(w)),
        write_csv(tmp_path / "企业-gbk.csv", rows_with_every_problem(w), encoding="gb18030"),
        write_xlsx(tmp_path / "企业.xlsx", rows_with_every_problem(w)),
    ):
        seen = []
        result = import_enterprises(
            db,
            w.instructor,
            path,
            dry_run=True,
            progress=lambda phase, done, total, seen=seen: seen.append((phase, done)),
        )
        assert result.total_rows == 10 and result.valid_rows == 3 and result.imported == 0
        by_row = {}
        for r in result.rejections:
            by_row.setdefault(r.row, []).append(r)
        assert set(by_row) == set(EXPECTED), path.name
        for row, (column, reason) in EXPECTED.items():
            assert any(r.column == column and reason in r.reason for r in by_row[row]), (
                path.name,
                row,
                by_row[row],
            )
        assert any(r.column == "最低工资档次" and "1至4" in r.reason for r in by_row[7])
        # The credit-code message is the rules module's own.
        try:
            validate_credit_code(bad_check_digit(code(3)))
        except Exception as exc:
            assert by_row[4][0].reason == exc.message  # type: ignore[attr-defined]
        assert seen and seen[-1] == ("校验", 10)
        assert _count(db) == before

    # Not a dry run, but rejected rows: still nothing is imported.
    path = tmp_path / "企业.xlsx"
    result = import_enterprises(db, w.instructor, path)
    assert result.imported == 0 and result.rejected_rows == 7 and _count(db) == before
    assert "未导入任何数据" in result.summary

    # --valid-only: the three valid rows, in one transaction, with one event.
    result = import_enterprises(db, w.instructor, path, valid_only=True)
    assert result.imported == 3 and result.rejected_rows == 7 and _count(db) == before + 3
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        e = s.scalar(select(Enterprise).where(Enterprise.credit_code == code(8)))
        assert e is not None and e.min_wage_tier == 2 and e.sector_id is not None and e.headcount == 30
        assert s.scalar(select(Enterprise.min_wage_tier).where(Enterprise.credit_code == code(2))) == 1
        event = s.scalar(select(Event).where(Event.trigger == "import_enterprises"))
        assert event is not None and event.payload["imported"] == 3 and event.actor_name == "张指导员"
    # Importing the same file again: the valid rows are now duplicates of the database.
    again = import_enterprises(db, w.instructor, path, dry_run=True)
    assert {r.row for r in again.rejections if "已登记" in r.reason} == {2, 3, 9, 12}


def test_region_out_of_reach_and_file_problems(db, tmp_path):
    w = build_world(db)
    path = write_csv(
        tmp_path / "e.csv",
        [
            HEADER,
            [code(1), "甲有限公司", "other", "", 1, 1, "", "", "", ""],
            [code(2), "乙有限公司", "city", "", 1, 1, "", "", "", ""],
        ],
    )
    result = import_enterprises(db, w.instructor, path, dry_run=True)  # a street instructor
    assert [(r.row, r.reason) for r in result.rejections] == [
        (2, "所属工会不在您的管辖范围内"),
        (3, "所属工会不在您的管辖范围内"),
    ]
    assert import_enterprises(db, w.admin, path, dry_run=True).rejections == []

    import pytest

    from bargaining.errors import ValidationError

    missing = write_csv(tmp_path / "m.csv", [["企业名称", "职工人数"], ["甲", 1]])
    with pytest.raises(ValidationError, match="缺少必填列：统一社会信用代码、所属工会代码"):
        import_enterprises(db, w.admin, missing, dry_run=True)
    with pytest.raises(ValidationError, match="不支持的文件类型"):
        import_enterprises(db, w.admin, tmp_path / "e.xls", dry_run=True)
    numeric = write_xlsx(tmp_path / "n.xlsx", [HEADER, [913202820000000000, "甲", "street", "", 1, 1]])
    rejected = import_enterprises(db, w.admin, numeric, dry_run=True).rejections
    assert rejected[0].column == "统一社会信用代码" and "文本格式" in rejected[0].reason
    # Headers with full-width brackets, a required mark and an unknown column are understood.
    odd = write_csv(
        tmp_path / "o.csv",
        [
            ["统一社会信用代码*", " 企业名称 ", "所属工会代码", "职工人数", "备注"],
            [code(9), "甲有限公司", "street", "12", "x"],
        ],
    )
    result = import_enterprises(db, w.admin, odd)
    assert result.imported == 1 and result.unknown_headers == ["备注"]


def test_export_import_export_round_trips(db, other_db, tmp_path):
    w = build_world(db)
    rows = rows_with_every_problem(w)
    import_enterprises(db, w.admin, write_csv(tmp_path / "in.csv", rows), valid_only=True)
    build_tree(other_db)
    with unit_of_work(other_db, write=False) as uow:
        from services.identity import actor_by_username

        admin_b = actor_by_username(uow.session, "admin")
    for suffix in (".xlsx", ".csv"):
        first = tmp_path / f"a{suffix}"
        assert export_enterprises(db, w.admin, first) == 8  # five of the world, three imported
        if suffix == ".csv":
            assert first.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM for Excel
        result = import_enterprises(other_db, admin_b, first, valid_only=suffix == ".csv")
        if suffix == ".xlsx":
            assert result.imported == 8 and not result.rejections
        second = tmp_path / f"b{suffix}"
        export_enterprises(other_db, admin_b, second)
        assert read_rows(second) == read_rows(first)
        assert read_rows(first)[0] == HEADER
    # A region: the street only.
    street = tmp_path / "street.csv"
    assert export_enterprises(db, w.admin, street, region="street") == 7
