"""Jurisdiction rule sets: every number of the bargaining procedure with its legal basis.

The national 《集体合同规定》 (2004) is the default; provincial and municipal regulations override it.
Where a local regulation says nothing, the national rule applies and keeps its national citation;
Hangzhou's gaps are filled from the Zhejiang regulation, which its own Art 1 and Art 44 refer to.
Article numbers were read from the regulation texts (LawRefBook/Laws copies) or from
shared/reference/law-and-practice.md; where neither gives one, the citation names the regulation
without an article and a note says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from types import MappingProxyType
from typing import Literal, get_args

from bargaining.errors import ValidationError
from bargaining.rules.periods import Period

PassRule = Literal["at_least_half", "more_than_half"]
DisclosureTiming = Literal["after_signing", "after_in_force"]
# How a sector (行业性) agreement is approved: by a sector worker congress, or by each bound enterprise.
SectorApproval = Literal["sector_congress", "each_enterprise"]
DeadlineKind = Literal[
    "response", "negotiation_cap", "filing", "review", "disclosure", "renewal", "rep_vacancy", "dispute"
]
DEADLINE_KINDS: tuple[DeadlineKind, ...] = get_args(DeadlineKind)

DEADLINE_LABELS: Mapping[DeadlineKind, str] = MappingProxyType(
    {
        "response": "书面回应要约",
        "negotiation_cap": "协商期限",
        "filing": "报送审查",
        "review": "审查（逾期未提异议即行生效）",
        "disclosure": "公布（公示）",
        "renewal": "续签提出期",
        "rep_vacancy": "协商代表缺额补足",
        "dispute": "争议协调处理",
    }
)


@dataclass(frozen=True)
class TimedRule:
    """A period and its citation. ``statutory=False``: a practice default where the law only says
    "promptly" (及时); ``basis`` then says so."""

    period: Period
    basis: str
    statutory: bool = True


@dataclass(frozen=True)
class RepresentativeRule:
    """Negotiation representatives per side (协商代表)."""

    min_per_side: int
    max_per_side: int | None
    min_per_side_large: int | None
    large_headcount: int | None  # None where "large" is not a headcount (规模以上企业 is a statistical class)
    front_line_min_share: Fraction | None  # of the worker side
    outsider_max_share: Fraction  # outside experts (外聘专业人员) per side
    basis: str


@dataclass(frozen=True)
class CongressRule:
    """Worker-congress vote: ``quorum`` of all representatives present; the for-votes are counted
    against ALL representatives. "半数以上" includes exactly half (at_least_half); "过半数" does not."""

    quorum: Fraction
    pass_rule: PassRule
    basis: str


@dataclass(frozen=True)
class RuleSet:
    code: str
    name: str
    source: str
    response: TimedRule
    negotiation_cap: TimedRule | None
    negotiation_cap_from: Literal["offer", "response"] | None
    representatives: RepresentativeRule
    congress: CongressRule
    filing: TimedRule  # counted from signing, or from disclosure where disclosure comes first
    filing_copies: int
    review: TimedRule
    disclosure: TimedRule
    disclosure_timing: DisclosureTiming
    renewal_window: TimedRule
    rep_vacancy: TimedRule
    dispute: TimedRule
    dispute_extension: TimedRule
    notes: tuple[str, ...]
    falls_back_to: str | None  # borrows another set's numbers wholesale until its own are confirmed
    # Sector agreements: the approval routes allowed, and whether the agreement binds only the
    # enterprises that accepted (sealed) it.
    sector_approval: tuple[SectorApproval, ...] = ("sector_congress",)
    sector_binds_only_accepting: bool = False
    sector_approval_basis: str = "《中华人民共和国劳动合同法》第五十三条、第五十四条：行业性、区域性集体合同；草案提交行业（区域）职工代表大会讨论通过"


def _days(n: int, basis: str, *, statutory: bool = True) -> TimedRule:
    return TimedRule(Period(n, "calendar_days"), basis, statutory)


def _working_days(n: int, basis: str) -> TimedRule:
    return TimedRule(Period(n, "working_days"), basis)


def _months(n: int, basis: str) -> TimedRule:
    return TimedRule(Period(n, "months"), basis)


ONE_THIRD = Fraction(1, 3)
TWO_THIRDS = Fraction(2, 3)

# --- National: 《集体合同规定》 -------------------------------------------------------------------
_JT = "《集体合同规定》（劳动和社会保障部令第22号，2004）"

NATIONAL = RuleSet(
    code="national",
    name="国家规定",
    source="《集体合同规定》（劳动和社会保障部令第22号，2004年5月1日施行）",
    response=_days(20, f"{_JT}第三十二条：收到集体协商要求之日起20日内书面回应"),
    negotiation_cap=None,
    negotiation_cap_from=None,
    representatives=RepresentativeRule(
        min_per_side=3,
        max_per_side=None,
        min_per_side_large=None,
        large_headcount=None,
        front_line_min_share=None,
        outsider_max_share=ONE_THIRD,
        basis=f"{_JT}第十九条（双方人数对等，每方至少3人，各确定1名首席代表）、"
        "第二十三条（外聘专业人员不超过本方代表三分之一，首席代表不得由非本单位人员代理）、"
        "第二十四条（双方代表不得相互兼任）",
    ),
    congress=CongressRule(
        quorum=TWO_THIRDS,
        pass_rule="at_least_half",
        basis=f"{_JT}第三十六条：三分之二以上职工代表出席，全体职工代表半数以上同意",
    ),
    filing=_days(10, f"{_JT}第四十二条：双方首席代表签字之日起10日内由用人单位报送，一式三份"),
    filing_copies=3,
    review=_days(
        15,
        f"{_JT}第四十五条、第四十七条；《中华人民共和国劳动合同法》第五十四条："
        "劳动保障行政部门收到文本之日起15日内未提出异议的，即行生效",
    ),
    disclosure=_days(
        10,
        f"{_JT}第四十八条只要求生效后由协商代表“及时”向本方全体人员公布，未规定天数；"
        "10日为本系统的实务默认值，不是法定期限",
        statutory=False,
    ),
    disclosure_timing="after_in_force",
    renewal_window=_months(3, f"{_JT}第三十八条：期满前3个月内，任何一方均可提出重新签订或续订"),
    rep_vacancy=_days(15, f"{_JT}第三十一条：协商代表缺额应在15日内补足"),
    dispute=_days(30, f"{_JT}第五十二条：协调处理应自受理之日起30日内结束"),
    dispute_extension=_days(15, f"{_JT}第五十二条：期满未结束的可延长，延长不超过15日"),
    notes=(),
    falls_back_to=None,
)

# --- Shandong: 山东省企业工资集体协商条例 ----------------------------------------------------------
_SD = "《山东省企业工资集体协商条例》（2016）"

SHANDONG = RuleSet(
    code="shandong",
    name="山东省",
    source="《山东省企业工资集体协商条例》（2016年11月26日通过，2017年1月1日施行）",
    response=_days(10, f"{_SD}第二十一条：自收到要约之日起10日内答复"),
    negotiation_cap=_days(
        60,
        f"{_SD}第二十八条：协商期限60日，自接受要约的一方答复同意协商之日起，"
        "至双方首席协商代表签字盖章之日止；不可抗力中止期间不计入",
    ),
    negotiation_cap_from="response",
    representatives=RepresentativeRule(
        min_per_side=3,
        max_per_side=None,
        min_per_side_large=None,
        large_headcount=None,
        front_line_min_share=ONE_THIRD,
        outsider_max_share=ONE_THIRD,
        basis=f"{_SD}第七条（人数对等，每方至少3人，职工方一线岗位职工代表不低于三分之一）、"
        f"第十条（不得相互兼任）；外聘代表比例依{_JT}第二十三条",
    ),
    congress=CongressRule(
        quorum=TWO_THIRDS,
        pass_rule="more_than_half",
        basis=f"{_SD}第二十七条：经全体职工代表或者全体职工过半数通过；出席人数依{_JT}第三十六条",
    ),
    filing=_days(
        10,
        f"{_SD}第二十九条：自工资专项集体合同订立之日起10日内报送；份数本条例未规定，依{_JT}第四十二条一式三份",
    ),
    filing_copies=3,
    review=_days(15, f"{_SD}第三十条：收到文本之日起15日内未提出异议的，即行生效"),
    disclosure=_days(7, f"{_SD}第三十一条：自合同生效之日起7日内向本方全体成员公布"),
    disclosure_timing="after_in_force",
    renewal_window=NATIONAL.renewal_window,
    rep_vacancy=NATIONAL.rep_vacancy,
    dispute=_days(30, f"{_SD}第四十五条：自受理申请之日起30日内处理完毕"),
    dispute_extension=_days(15, f"{_SD}第四十五条：争议复杂的，经批准可延长15日"),
    notes=(
        "续签提出期本条例未规定，适用《集体合同规定》第三十八条（期满前3个月）",
        "协商代表缺额本条例第十四条只要求“及时”产生，补足期限适用《集体合同规定》第三十一条（15日）",
        "第十条：工会工作人员不得担任企业方代表；企业负责人、出资人及其近亲属不得担任职工方代表（需人工核对）",
        "第十二条：本企业以外的律师等专业人员可书面委托为协商顾问",
        "第十一条：协商代表确定后5日内在本企业公布；第二十三条：协商开始10日前提供资料",
    ),
    falls_back_to=None,
    sector_approval=("sector_congress", "each_enterprise"),
    sector_binds_only_accepting=True,
    sector_approval_basis=f"{_SD}第三十五条、第三十六条：职工代表大会或各企业职工代表大会通过后，工会和各企业盖章确认；只约束盖章确认的企业",
)

# --- Zhejiang: 浙江省集体合同条例 ------------------------------------------------------------------
_ZJ = "《浙江省集体合同条例》（2010年修订）"
_LARGE_NOTE = (
    "“规模以上企业”每方不少于5人：规模以上按统计口径认定，不是职工人数标准，需标明企业是否为规模以上企业"
)
_EQUAL_NOTE = "本条例规定企业方代表不得多于职工方；《集体合同规定》第十九条要求人数对等，本系统按对等校验"

ZHEJIANG = RuleSet(
    code="zhejiang",
    name="浙江省",
    source="《浙江省集体合同条例》（2010年11月25日修订，2011年1月1日施行）",
    response=_working_days(10, f"{_ZJ}第七条：收到书面要求之日起10个工作日内书面答复"),
    negotiation_cap=None,
    negotiation_cap_from=None,
    representatives=RepresentativeRule(
        min_per_side=3,
        max_per_side=None,
        min_per_side_large=5,
        large_headcount=None,
        front_line_min_share=None,
        outsider_max_share=ONE_THIRD,
        basis=f"{_ZJ}第十条：每方不少于3人，规模以上企业每方不少于5人，企业方不得多于职工方；"
        "外聘专业人员不超过本方代表三分之一；不得兼任双方代表",
    ),
    congress=CongressRule(
        quorum=TWO_THIRDS,
        pass_rule="more_than_half",
        basis=f"{_ZJ}第二十四条：三分之二以上职工代表出席，经职工代表大会全体代表过半数同意",
    ),
    filing=_days(10, f"{_ZJ}第三十四条：自双方首席代表签字之日起10日内，一式五份及说明报送"),
    filing_copies=5,
    review=_days(15, f"{_ZJ}第三十四条：收到文本之日起15日内未提出异议的，即行生效"),
    disclosure=_working_days(5, f"{_ZJ}第三十五条：自集体合同生效之日起5个工作日内向全体职工公布"),
    disclosure_timing="after_in_force",
    renewal_window=_days(90, f"{_ZJ}第三十条：期满前90日内，任何一方均可提出重新签订或续订"),
    rep_vacancy=NATIONAL.rep_vacancy,
    dispute=_days(30, f"{_ZJ}第三十九条：自受理之日起30日内结束协调处理"),
    dispute_extension=_days(15, f"{_ZJ}第三十九条：争议复杂需要延期的，最长不超过15日"),
    notes=(
        _LARGE_NOTE,
        _EQUAL_NOTE,
        "第二十四条：草案应在15个工作日内提交职代会；未通过的修改草案应在5个工作日内再次提交",
        "第十六条：协商会议7日前通知议题和代表名单",
        "协商代表补缺期限本条例未规定，适用《集体合同规定》第三十一条（15日）",
    ),
    falls_back_to=None,
    sector_approval=("sector_congress", "each_enterprise"),
    sector_binds_only_accepting=False,
    sector_approval_basis=f"{_ZJ}第二十九条：行业性集体合同草案由行业职工代表大会或者各企业职工代表大会过半数通过",
)

# --- Hangzhou: 杭州市企业工资集体协商条例 -----------------------------------------------------------
_HZ = "《杭州市企业工资集体协商条例》（2014）"

HANGZHOU = RuleSet(
    code="hangzhou",
    name="杭州市",
    source="《杭州市企业工资集体协商条例》（2014年5月1日施行）；本条例未规定的事项适用《浙江省集体合同条例》（2010年修订）",
    response=_working_days(10, f"{_HZ}第二十四条：自收到要约书之日起10个工作日内书面答复"),
    negotiation_cap=_days(60, f"{_HZ}第二十九条：自一方发出要约之日起60日内完成协商"),
    negotiation_cap_from="offer",
    representatives=RepresentativeRule(
        min_per_side=3,
        max_per_side=9,
        min_per_side_large=5,
        large_headcount=None,
        front_line_min_share=None,
        outsider_max_share=ONE_THIRD,
        basis=f"{_HZ}第十六条：每方3至9名，规模以上企业每方不少于5名，企业方不得多于职工方；"
        f"第十七条：外聘人员不超过本方协商代表三分之一；不得兼任依{_ZJ}第十条",
    ),
    congress=CongressRule(
        quorum=TWO_THIRDS,
        pass_rule="more_than_half",
        basis=f"{_HZ}第二十八条：三分之二以上职工代表出席，经职工代表大会全体代表过半数同意",
    ),
    filing=_days(
        10,
        f"{_HZ}第四十条：自双方首席代表签字之日起10日内报送；份数依{_ZJ}第三十四条一式五份",
    ),
    filing_copies=5,
    review=_days(15, f"{_HZ}第四十条：收到之日起15日内未提出异议的，即行生效"),
    disclosure=_working_days(5, f"{_HZ}第四十一条：自生效之日起5个工作日内向全体职工公布"),
    disclosure_timing="after_in_force",
    renewal_window=_days(90, f"{_HZ}第二十三条：期满前90日内，任何一方均可提出重新签订或续订"),
    rep_vacancy=NATIONAL.rep_vacancy,
    dispute=replace(ZHEJIANG.dispute, basis=f"{_HZ}第四十四条适用{_ZJ}第三十九条：自受理之日起30日内结束"),
    dispute_extension=replace(
        ZHEJIANG.dispute_extension, basis=f"{_HZ}第四十四条适用{_ZJ}第三十九条：延长最长不超过15日"
    ),
    notes=(
        "协商期限自要约“发出”之日起算（第二十九条），不是自收到之日",
        "第二十七条：中止协商累计不得超过30日；第四十七条：无正当理由未在60日内完成协商的可处罚款",
        _LARGE_NOTE,
        _EQUAL_NOTE,
        "第二十五条：协商会议7个工作日前提供资料；第二十八条：草案15个工作日内提交职代会",
        "协商代表补缺期限未规定，适用《集体合同规定》第三十一条（15日）",
    ),
    falls_back_to=None,
    sector_approval=("sector_congress", "each_enterprise"),
    sector_binds_only_accepting=False,
    sector_approval_basis=f"{_HZ}第三十三条：行业、区域职工代表大会或者各企业职工代表大会过半数通过",
)

# --- Henan: 河南省企业工资集体协商条例 ------------------------------------------------------------
_HN = "《河南省企业工资集体协商条例》（2013）"

HENAN = RuleSet(
    code="henan",
    name="河南省",
    source="《河南省企业工资集体协商条例》（2013年11月29日通过，2014年1月1日施行）",
    response=_working_days(10, f"{_HN}第二十一条：自收到要约书之日起10个工作日内给予答复"),
    negotiation_cap=_months(
        2,
        f"{_HN}第二十六条：工资集体协商期限为被要约方收到要约之日起两个月；不可抗力中止期间不计入",
    ),
    negotiation_cap_from="offer",
    representatives=RepresentativeRule(
        min_per_side=3,
        max_per_side=None,
        min_per_side_large=None,
        large_headcount=None,
        front_line_min_share=ONE_THIRD,
        outsider_max_share=ONE_THIRD,
        basis=f"{_HN}第十二条（人数对等，每方3人以上）、第八条（职工方一线岗位职工代表不低于三分之一）、"
        f"第十一条（外聘专业人员不超过本方代表数三分之一）；不得兼任依{_JT}第二十四条",
    ),
    congress=CongressRule(
        quorum=TWO_THIRDS,
        pass_rule="at_least_half",
        basis=f"{_HN}第二十七条只规定草案提交职工（代表）大会讨论通过；出席和表决比例依{_JT}第三十六条",
    ),
    filing=TimedRule(
        Period(5, "working_days"),
        f"{_HN}第二十八条：自签订之日起5个工作日内报送；份数本条例未规定，依{_JT}第四十二条一式三份",
    ),
    filing_copies=3,
    review=_days(15, f"{_HN}第二十九条：收到之日起15日内未提出异议的，即行生效"),
    disclosure=_days(5, f"{_HN}第三十条：自生效之日起5日内以适当方式向全体职工公布"),
    disclosure_timing="after_in_force",
    renewal_window=_months(2, f"{_HN}第三十一条：期满前两个月内，双方应当重新协商签订"),
    rep_vacancy=NATIONAL.rep_vacancy,
    dispute=_days(30, f"{_HN}第三十八条：应在30日内完成协调处理"),
    dispute_extension=_days(15, f"{_HN}第三十八条：争议复杂需要延期的，延长不得超过15日"),
    notes=(
        "第八条要求职工方一线岗位职工代表不低于三分之一（domain.md 表格只写“≥3”），已按条文编码",
        "第三十七条：协商期满未达成一致的，可自期满之日起15日内申请协调处理，逾期本次协商终止",
        "第三十八条：劳动行政部门收到申请后5个工作日内开始协调",
        "第十三条：协商代表产生后3个工作日内公布；第二十三条：协商会议5个工作日前提供资料",
        "第八条：女职工或残疾职工达到10%以上的，应有相应比例的代表；缺额补选期限未规定，适用《集体合同规定》第三十一条",
        "第十四条：工会工作人员不得担任企业方代表；企业负责人、出资人、人力资源部门负责人及其亲属不得担任职工方代表（需人工核对）",
    ),
    falls_back_to=None,
)

# --- Shanghai: 上海市集体合同条例 ------------------------------------------------------------------
_SH = "《上海市集体合同条例》"

SHANGHAI = RuleSet(
    code="shanghai",
    name="上海市",
    source="《上海市集体合同条例》（2007年8月16日通过，2015年6月18日修正）",
    response=_days(15, f"{_SH}第十五条：收到集体协商建议书之日起15日内书面答复"),
    negotiation_cap=None,
    negotiation_cap_from=None,
    representatives=RepresentativeRule(
        min_per_side=3,
        max_per_side=None,
        min_per_side_large=None,
        large_headcount=None,
        front_line_min_share=None,
        outsider_max_share=ONE_THIRD,
        basis=f"{_SH}第六条：每方不少于3人，企业方不得多于职工方；外聘代表比例和不得兼任依{_JT}第二十三条、第二十四条",
    ),
    congress=CongressRule(
        quorum=TWO_THIRDS,
        pass_rule="at_least_half",
        basis=f"{_SH}：经全体职工代表半数以上同意（条文序号待核）；出席人数依{_JT}第三十六条",
    ),
    filing=_days(
        10,
        f"{_SH}第二十三条：企业自收到职工方首席代表书面告知（职代会通过情况）之日起10日内报送；"
        f"本系统以“公布”节点表示该书面告知，报送期限自该节点起算；份数依{_JT}第四十二条一式三份",
    ),
    filing_copies=3,
    review=NATIONAL.review,
    disclosure=_days(
        10,
        f"{_SH}第二十二条：首席代表签署草案、职代会表决后，由职工方首席代表书面告知企业，条例未规定天数；"
        "10日为本系统的实务默认值，不是法定期限",
        statutory=False,
    ),
    disclosure_timing="after_signing",
    renewal_window=NATIONAL.renewal_window,
    rep_vacancy=NATIONAL.rep_vacancy,
    dispute=NATIONAL.dispute,
    dispute_extension=NATIONAL.dispute_extension,
    notes=(
        "本系统把职代会通过后职工方首席代表的书面告知建模为签字后的“公布”节点，报送期限自该节点起算",
        "全体职工代表“半数以上”同意的条文序号未能核实，暂不标注条号",
        "条文序号依2007年文本和研究资料（第六、十五、二十二、二十三条），2015年修正后的序号待核",
        "第六条：企业方代表不得多于职工方；《集体合同规定》第十九条要求人数对等，本系统按对等校验",
        "第十七条：同意协商之日起15日内确定协商代表",
        "公布天数、续签提出期、争议处理期限本条例未规定（或未核实），适用国家规定",
    ),
    falls_back_to=None,
    sector_approval=("each_enterprise",),
    sector_binds_only_accepting=True,
    sector_approval_basis=f"{_SH}第二十八条、第三十条、第三十二条：草案须经各企业法定代表人认可，再由认可企业的职工（代表）过半数通过；只约束认可的企业",
)

# --- Chongqing: 重庆市集体合同条例 -----------------------------------------------------------------
_CQ = "《重庆市集体合同条例》（2016年修订）"

CHONGQING = RuleSet(
    code="chongqing",
    name="重庆市",
    source="《重庆市集体合同条例》（2016年11月24日修订，2017年1月1日施行）",
    response=_days(20, f"{_CQ}第十九条：自收到协商要求之日起20日内书面答复"),
    negotiation_cap=None,
    negotiation_cap_from=None,
    representatives=RepresentativeRule(
        min_per_side=3,
        max_per_side=15,
        min_per_side_large=None,
        large_headcount=None,
        front_line_min_share=None,
        outsider_max_share=ONE_THIRD,
        basis=f"{_CQ}第八条：每方3至15人，各确定1名首席代表，职工方不得少于用人单位方，不得相互兼任；"
        f"第十一条：外聘协商代表不超过本方三分之一；首席代表不得由非本单位人员代理依{_JT}第二十三条",
    ),
    congress=CongressRule(
        quorum=TWO_THIRDS,
        pass_rule="at_least_half",
        basis=f"{_CQ}第二十六条：三分之二以上职工（代表）出席，全体职工（代表）半数以上同意",
    ),
    filing=_days(10, f"{_CQ}第二十八条：自双方首席代表签字之日起10日内，文本及有关资料一式三份报送"),
    filing_copies=3,
    review=_days(15, f"{_CQ}第二十八条：收到文本之日起15日内未提出书面异议的，即行生效"),
    disclosure=_days(10, f"{_CQ}第二十九条：自集体合同生效之日起10日内，以书面形式向全体职工公布"),
    disclosure_timing="after_in_force",
    renewal_window=_months(3, f"{_CQ}第三十三条：期满前3个月内，可以提出重新签订或者续订"),
    rep_vacancy=NATIONAL.rep_vacancy,
    dispute=_days(60, f"{_CQ}第四十八条：自受理之日起60日内处理结束"),
    dispute_extension=_days(30, f"{_CQ}第四十八条：有特殊情况的，经批准可以延长30日"),
    notes=(
        "争议协调处理期限为60日，可延长30日（第四十八条），不同于国家规定的30日加15日",
        "第十五条：协商代表空缺应在下一次协商会议召开前补足；本系统同时按《集体合同规定》第三十一条15日提醒",
        "第八条：职工方代表不得少于用人单位方；《集体合同规定》第十九条要求人数对等，本系统按对等校验",
        "第十条：女职工占五分之一以上应有女代表；劳务派遣工超过5%应有派遣工代表",
        "第二十条：协商会议10日前提供资料；第二十二条：中止一般不超过30日",
    ),
    falls_back_to=None,
)

# --- Jiangsu: 《江苏省集体协商条例》 (2023), day counts unconfirmed ----------------------------------
JIANGSU = replace(
    NATIONAL,
    code="jiangsu",
    name="江苏省",
    source="《江苏省集体协商条例》（2023年1月12日通过，2023年5月1日施行）；天数待确认，暂按《集体合同规定》（2004）执行",
    notes=(
        "《江苏省集体协商条例》（2023）天数待确认，暂按国家规定执行",
        "该条例设普通程序、简易程序、应急程序；签订集体合同或减少职工权益的须用普通程序",
    ),
    falls_back_to="national",
)

DEFAULT_JURISDICTION = "national"

RULE_SETS: Mapping[str, RuleSet] = MappingProxyType(
    {
        rule_set.code: rule_set
        for rule_set in (NATIONAL, SHANDONG, ZHEJIANG, HANGZHOU, HENAN, SHANGHAI, CHONGQING, JIANGSU)
    }
)


def _options() -> str:
    return "、".join(f"{code}（{rule_set.name}）" for code, rule_set in RULE_SETS.items())


def get_rule_set(code: str) -> RuleSet:
    """The rule set for a jurisdiction code; :class:`ValidationError` listing the valid codes."""
    rule_set = RULE_SETS.get(code.strip().lower())
    if rule_set is None:
        raise ValidationError(
            f"未知的地区规则“{code}”，可选：{_options()}",
            code="unknown_jurisdiction",
            details={"valid": list(RULE_SETS)},
        )
    return rule_set


def _attribute(kind: DeadlineKind) -> str:
    return "renewal_window" if kind == "renewal" else kind


def deadline_kind(kind: str) -> DeadlineKind:
    """``kind`` as a :data:`DeadlineKind`; :class:`ValidationError` listing the valid kinds."""
    for valid in DEADLINE_KINDS:
        if valid == kind:
            return valid
    listed = "、".join(f"{k}（{DEADLINE_LABELS[k]}）" for k in DEADLINE_KINDS)
    raise ValidationError(
        f"未知的期限类型“{kind}”，可选：{listed}",
        code="unknown_deadline_kind",
        details={"valid": list(DEADLINE_KINDS)},
    )


def timed_rule(rule_set: RuleSet, kind: str) -> TimedRule:
    """The rule for one deadline kind. An unknown kind, or a kind the jurisdiction does not set
    (a negotiation cap where the law has none), raises :class:`ValidationError`."""
    valid = deadline_kind(kind)
    rule: TimedRule | None = getattr(rule_set, _attribute(valid))
    if rule is None:
        raise ValidationError(
            f"{rule_set.name}未规定{DEADLINE_LABELS[valid]}（{rule_set.source}）",
            code="no_such_deadline",
        )
    return rule


def timed_rules(rule_set: RuleSet) -> dict[DeadlineKind, TimedRule]:
    """Every deadline kind the jurisdiction sets, in procedure order."""
    rules: dict[DeadlineKind, TimedRule] = {}
    for kind in DEADLINE_KINDS:
        rule: TimedRule | None = getattr(rule_set, _attribute(kind))
        if rule is not None:
            rules[kind] = rule
    return rules
