"""Representatives: rejected rows with reasons, and export → import → export round-trips."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from bargaining.models import Representative
from services import cases as uc
from services.exchange.exporter import export_representatives
from services.exchange.importer import import_representatives
from services.uow import unit_of_work
from tests.support import add_reps, at, build_world, walk

from .helpers import read_rows, write_csv, write_xlsx

DAY = date(2025, 11, 3)
HEADER = [
    "协商编号",
    "统一社会信用代码",
    "代表方",
    "姓名",
    "身份标识",
    "职务",
    "首席代表",
    "外聘专业人员",
    "一线职工",
]


def _count(db) -> int:
    with unit_of_work(db, write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(Representative)) or 0


def _world_with_case(db):
    w = build_world(db)
    case = uc.create_case(db, w.instructor, kind="enterprise", enterprise=w.enterprise_code, now=at(DAY))
    return w, case["number"]


def test_export_import_export_round_trips(db, other_db, tmp_path):
    w, number = _world_with_case(db)
    add_reps(w, number, now=at(DAY))
    uc.add_representative(db, w.instructor, number, side="worker", name="赵律师", person_key="ZL-01",
                          position="律师", outsider=True, now=at(DAY))  # fmt: skip
    first = tmp_path / "代表.xlsx"
    assert export_representatives(db, w.admin, first) == 7
    w2, number2 = _world_with_case(other_db)  # built the same way: the same case number
    assert number2 == number
    result = import_representatives(other_db, w2.instructor, first, now=at(DAY))
    assert result.imported == 7 and not result.rejections
    second = tmp_path / "代表-b.xlsx"
    export_representatives(other_db, w2.admin, second)
    assert read_rows(second) == read_rows(first)
    assert read_rows(first)[0] == HEADER
    # The imported representatives satisfy the offer's checks like ones entered by hand.
    uc.fire_action(other_db, w2.instructor, number, "send_offer", values={"from_side": "worker", "subjects": "工资"},
                   now=at(DAY))  # fmt: skip


def test_dry_run_lists_every_rejected_row(db, tmp_path):
    w, number = _world_with_case(db)
    add_reps(w, number, per_side=1, now=at(DAY))  # worker0 / employer0 already there
    done = uc.create_case(db, w.instructor, kind="enterprise", enterprise=w.tea_codes[1], now=at(DAY))
    walk(w, done["number"], "negotiating", start=DAY)  # reps may still change while negotiating
    rows = [
        HEADER,
        [number, "", "职工方", "王芳", "", "工会主席", "是", "否", "否"],  # 2 ok
        [
            "",
            w.enterprise_code,
            "企业方",
            "李总",
            "",
            "总经理",
            "是",
            "",
            "",
        ],  # 3 ok, case found by credit code
        [number, "", "职工方", "王芳", "", "", "", "", ""],  # 4 duplicate of row 2
        [number, "", "企业方", "worker0", "worker-0", "", "", "", ""],  # 5 already a worker rep (database)
        ["2025-E9999999", "", "职工方", "张三", "", "", "", "", ""],  # 6 unknown case
        ["", w.tea_codes[2], "职工方", "张三", "", "", "", "", ""],  # 7 enterprise without a case in progress
        [number, "", "双方", "", "", "", "也许", "", ""],  # 8 bad side, missing name, bad yes/no
        ["", "", "职工方", "孙七", "", "", "", "", ""],  # 9 neither case nor enterprise
        [done["number"], "", "职工方", "周八", "", "", "", "", ""],  # 10 ok (negotiating)
    ]
    before = _count(db)
    for path in (
        write_csv(tmp_path / "r.csv", rows, encoding="gb18030"),
        write_xlsx(tmp_path / "r.xlsx", rows),
    ):
        result = import_representatives(db, w.instructor, path, dry_run=True)
        reasons = {}
        for r in result.rejections:
            reasons.setdefault(r.row, []).append(r.reason)
        assert set(reasons) == {4, 5, 6, 7, 8, 9}, reasons
        assert reasons[4] == ["该协商代表与第2行重复"]
        assert reasons[5] == ["同一人不能同时担任双方代表（数据库中已登记为另一方代表）"]
        assert reasons[6] == ["找不到该协商编号，或您无权查看"]
        assert reasons[7] == ["该企业没有筹备或协商中的协商，请填写协商编号"]
        assert set(reasons[8]) == {"应为职工方或企业方", "缺少必填项“姓名”", "应填“是”或“否”"}
        assert reasons[9] == ["请填写协商编号或统一社会信用代码"]
        assert result.valid_rows == 3 and _count(db) == before
    assert import_representatives(db, w.instructor, path).imported == 0 and _count(db) == before
    assert import_representatives(db, w.instructor, path, valid_only=True).imported == 3
    assert _count(db) == before + 3
    # A case past negotiation no longer takes representatives.
    other = tmp_path / "late.csv"
    uc.set_agreement_terms(db, w.instructor, done["number"], {"term_start": "2026-01-01", "term_end": "2026-12-31",
                           "avg_wage_after": "5000"}, now=at(DAY))  # fmt: skip
    uc.fire_action(db, w.instructor, done["number"], "record_round", values={"chair_side": "worker", "minutes": "纪要"},
                   now=at(DAY))  # fmt: skip
    uc.fire_action(db, w.instructor, done["number"], "submit_draft", now=at(DAY))
    write_csv(other, [HEADER, [done["number"], "", "职工方", "吴九", "", "", "", "", ""]])
    late = import_representatives(db, w.instructor, other, dry_run=True)
    assert [r.reason for r in late.rejections] == ["协商当前阶段（待职代会审议）不能变更协商代表"]
