"""The columns of the exchange files: Chinese headers, the same for import and export.

A file's first non-empty row is its header row. Headers are matched after NFKC normalisation
(full-width brackets and ％ become ASCII), ignoring spaces and a trailing ``*`` (the mark of a
required column in templates); listed aliases are accepted too. Columns may come in any order;
unknown columns are reported and ignored. ``bargaining import columns KIND`` prints this list.

Enterprises (``enterprises``, 企业名录):

| header | required | content |
|---|---|---|
| 统一社会信用代码 | yes | 18 characters, GB 32100-2015 check digit; as text (a number cell loses digits) |
| 企业名称 | yes | up to 200 characters |
| 所属工会代码 | yes | code of the union federation (org unit) the enterprise belongs to, within yours |
| 行业代码 | no | sector code (e.g. tea) or sector name (茶叶) |
| 职工人数 | yes | whole number ≥ 0 |
| 最低工资档次 | no | 1–4 (default 1) |
| 地址, 法定代表人, 工会名称, 工会主席 | no | text |

Representatives (``representatives``, 协商代表): 协商编号 or 统一社会信用代码 (the enterprise's case
in preparation or negotiation), 代表方 (职工方/企业方), 姓名, 身份标识 (default: the name), 职务,
首席代表, 外聘专业人员, 一线职工 (是/否).

Existing agreements (``cases``, 既有集体合同): 统一社会信用代码, 协议名称, 协商类别 (新签/续签),
签字日期, 合同期限起, 合同期限止, 协商前月平均工资, 协商后月平均工资, 工资增幅（%）, 工资支付日,
要约日期, 回应日期, 职代会通过日期, 公示日期, 报送审查日期, 审查意见日期, 生效日期, 指导员;
协商编号 is written by export and ignored by import.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

Kind = str  # text | credit_code | int | decimal | date | bool | choice


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: Kind = "text"
    required: bool = False
    aliases: tuple[str, ...] = ()
    help: str = ""
    max_length: int | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (stored value, label in the file)
    export_only: bool = False  # written by export, ignored by import


def normalize_header(text: object) -> str:
    value = unicodedata.normalize("NFKC", str(text or ""))
    return "".join(value.split()).rstrip("*").strip()


SIDES = (("worker", "职工方"), ("employer", "企业方"))
ROUNDS = (("new", "新签"), ("renewal", "续签"))

ENTERPRISE_COLUMNS: tuple[Column, ...] = (
    Column(
        "credit_code",
        "统一社会信用代码",
        "credit_code",
        True,
        ("信用代码", "社会信用代码"),
        "18位，请以文本格式填写",
    ),
    Column("name", "企业名称", required=True, aliases=("单位名称",), max_length=200),
    Column(
        "org_unit", "所属工会代码", required=True, aliases=("工会组织代码", "所属工会"), help="工会组织代码"
    ),
    Column("sector", "行业代码", aliases=("行业",), help="行业代码或行业名称，可空"),
    Column("headcount", "职工人数", "int", True, ("职工数",), "不小于0的整数"),
    Column("min_wage_tier", "最低工资档次", "int", aliases=("最低工资标准档次",), help="1至4，默认1"),
    Column("address", "地址", max_length=300, aliases=("企业地址",)),
    Column("legal_representative", "法定代表人", max_length=100),
    Column("union_name", "工会名称", max_length=200),
    Column("union_chair", "工会主席", max_length=100),
)

REPRESENTATIVE_COLUMNS: tuple[Column, ...] = (
    Column("case", "协商编号", help="与统一社会信用代码二选一"),
    Column(
        "credit_code", "统一社会信用代码", "credit_code", aliases=("信用代码",), help="企业筹备或协商中的协商"
    ),
    Column("side", "代表方", "choice", True, choices=SIDES),
    Column("name", "姓名", required=True, max_length=100),
    Column("person_key", "身份标识", aliases=("身份证号", "工号"), max_length=100, help="默认为姓名"),
    Column("position", "职务", max_length=100),
    Column("chief", "首席代表", "bool"),
    Column("outsider", "外聘专业人员", "bool", aliases=("外聘",)),
    Column("front_line", "一线职工", "bool"),
)

# The stage dates of an existing agreement, with the workflow trigger each one stands for.
STAGE_DATE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("offer_on", "要约日期", "send_offer"),
    ("response_on", "回应日期", "record_response"),
    ("congress_on", "职代会通过日期", "record_congress_vote"),
    ("disclosed_on", "公示日期", "disclose"),
    ("filed_on", "报送审查日期", "file_for_review"),
    ("opinion_on", "审查意见日期", "record_review_opinion"),
)

CASE_COLUMNS: tuple[Column, ...] = (
    Column("credit_code", "统一社会信用代码", "credit_code", True, ("信用代码",)),
    Column("title", "协议名称", max_length=300, help="默认为“企业名称+年度+工资专项集体合同”"),
    Column("round", "协商类别", "choice", choices=ROUNDS, help="新签或续签，默认新签"),
    Column("signed_on", "签字日期", "date", True),
    Column("term_start", "合同期限起", "date", True),
    Column("term_end", "合同期限止", "date", True),
    Column("avg_wage_before", "协商前月平均工资", "decimal", aliases=("协商前平均工资",)),
    Column("avg_wage_after", "协商后月平均工资", "decimal", aliases=("协商后平均工资",)),
    Column(
        "increase_pct", "工资增幅(%)", "decimal", aliases=("工资增幅", "增幅(%)"), help="不填则按工资计算"
    ),
    Column("payment_day", "工资支付日", "int", help="1至31"),
    *(Column(key, header, "date") for key, header, _trigger in STAGE_DATE_COLUMNS),
    Column("in_force_on", "生效日期", "date", help="不填则取审查意见日期，再不填取合同期限起"),
    Column("instructor", "指导员", help="指导员用户名，可空"),
    Column("number", "协商编号", export_only=True, help="导出时填写，导入时忽略"),
)

COLUMN_SETS: dict[str, tuple[Column, ...]] = {
    "enterprises": ENTERPRISE_COLUMNS,
    "representatives": REPRESENTATIVE_COLUMNS,
    "cases": CASE_COLUMNS,
}
KIND_LABELS = {"enterprises": "企业", "representatives": "协商代表", "cases": "既有集体合同"}


def describe(kind: str) -> list[str]:
    """Lines describing a file kind's columns (for ``bargaining import columns``)."""
    lines = []
    for c in COLUMN_SETS[kind]:
        mark = "（必填）" if c.required else ""
        extra = f"；也可写作：{'、'.join(c.aliases)}" if c.aliases else ""
        choice = f"；可填：{'、'.join(label for _v, label in c.choices)}" if c.choices else ""
        lines.append(f"{c.header}{mark}{('：' + c.help) if c.help else ''}{choice}{extra}")
    return lines
