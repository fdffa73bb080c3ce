"""Every document kind, rendered from a real case and read back with pdftotext and pdffonts."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from bargaining.models import Agreement, Case, Document, DocumentRendering
from services import documents as docs
from services.documents import storage
from services.uow import unit_of_work

from .conftest import Library
from .helpers import TEA_PERIODS, pdftotext, rate_table

ENTERPRISE_KINDS = (
    "offer_letter",
    "response_letter",
    "minutes",
    "congress_resolution",
    "signed_agreement",
    "filing_form",
    "review_opinion",
    "disclosure_notice",
)
ALL_PDFS = (
    *ENTERPRISE_KINDS,
    "coordination_agreement",
    "sector_signed",
    "sector_filing",
    "adoption_signed",
    "adoption_resolution",
)
# Noto Serif CJK SC from WeasyPrint; the signature stamps' Noto Sans CJK SC subset from pyHanko.
ALLOWED_FONT = re.compile(r"^[A-Z]{6}\+(Noto-Serif-CJK-SC|NotoSansCJKsc-Regular-Identity-H)$")

EXPECTED: dict[str, list[str]] = {
    "offer_letter": [
        "工资集体协商要约书",
        "测试机械有限公司：",  # addressed to the employer: the workers made the offer
        "测试机械有限公司工会委员会（职工方）",
        "王芳（首席代表），工会主席；赵磊；孙丽",
        "年度工资调整幅度；劳动定额与计件单价",
        "二〇二五年十一月三日",  # the offer date, GB/T 15835 style
        "请于2025年11月24日前书面回应",  # 20 days from 11-03 end on Sunday 11-23 → Monday
        "第三十二条",
    ],
    "response_letter": [
        "工资集体协商回应书",
        "测试机械有限公司工会委员会：",
        "李强（首席代表）；周敏；吴军",
        "同意协商，确定首次协商会议时间。",
        "二〇二五年十一月十日",
    ],
    "minutes": [
        "工资集体协商会议记录",
        "第一次协商会议",
        "企业三楼会议室",
        "刘记录",
        "职工方提出增长10%，企业方提出8%。",
        "形成协议草案，提交职代会审议。",
        "工会主席",
        "企业方李强",
    ],
    "congress_resolution": [
        "职工代表大会决议",
        "应到代表60名，实到代表50名，出席率83.3%",
        "赞成45票，反对3票，弃权2票",
        "大会决定：通过《测试机械有限公司2025年度工资专项集体合同》（草案）",
        "二〇二五年十一月二十日",
    ],
    "signed_agreement": [
        "测试机械有限公司2025年度工资专项集体合同",
        "企业方：测试机械有限公司（统一社会信用代码：",
        "第一条合同期限本工资专项集体合同期限自二〇二六年一月一日起至二〇二六年十二月三十一日止。",
        "5,000.00元（人民币伍仟元整）",
        "5,450.00元（人民币伍仟肆佰伍拾元整）",
        "增长9%",
        "企业每月十五日前以货币形式足额支付",
        "第七条",
        "首席代表（签字）：李强",
        "首席代表（签字）：王芳",
        "签订日期：二〇二五年十一月二十二日",
        "该校验码与职代会审议通过的文本一致",
    ],
    "filing_form": [
        "集体合同审查申请表",
        "宜兴市人力资源和社会保障局：",
        "人民币伍仟肆佰伍拾元整",
        "附件清单",
        "工资专项集体合同文本3份",
        "职工代表大会决议1份（2025年11月20日，赞成45票）",
        "协商会议记录1份（第一次2025年11月15日）",
        "双方协商代表名单及首席代表身份证明",
        "企业方：李强；职工方：王芳",
        "3份（本地规定3份）",
    ],
    "review_opinion": [
        "审查意见书",
        "测试机械有限公司",
        "江苏省宜兴市测试路1号",
        "无异议。",
        "经审查，该集体合同主体合格、程序合法、内容合法，予以确认。",
        "收到文本日期2025年11月25日",
        "宜兴市人力资源和社会保障局（印章）",
        "二〇二五年十二月一日",
    ],
    "disclosure_notice": [
        "关于《测试机械有限公司2025年度工资专项集体合同》的公示",
        "5,450.00元（人民币伍仟肆佰伍拾元整）",
        "厂务公开栏张贴并在职工群公布",
        "公示期7天，自2025年12月3日至2025年12月9日",
    ],
    "coordination_agreement": [
        "协调处理协议书",
        "邻街电子有限公司",
        "企业方未在规定期限内书面回应要约。",
        "经协调，企业方同意于十日内开始协商。",
        "宜兴市人力资源和社会保障局",
        "第五十二条",
    ],
    "sector_signed": [
        "行业性工资集体协议",
        "茶叶行业企业方协商代表（代表附表所列企业）",
        "测试街道总工会",
        "附表茶叶采摘计件单价表",
        "茶叶采摘计件单价表（单位：元/斤，币种：人民币）",
        "单芽（芽头）",
        "一芽一叶",
        "一芽二叶",
        "本协议覆盖企业名单",
        "测试茶业0有限公司",
        "测试茶业2有限公司",
    ],
    "sector_filing": ["行业工会联合会和企业方代表的主体资格证明", "行业职工代表大会决议1份"],
    "adoption_signed": [
        "履约集体协议",
        "测试茶业0有限公司",
        "附表（行业协议，本企业适用）茶叶采摘计件单价表",
        "单芽（芽头）",
        "秋茶",
        "履行行业协议",
    ],
    "adoption_resolution": ["职工代表大会决议", "测试茶业0有限公司"],
}


@pytest.mark.parametrize("name", ALL_PDFS)
def test_text_of_every_document(library: Library, name: str) -> None:
    pdf = library.pdfs[name]
    missing = [phrase for phrase in EXPECTED[name] if re.sub(r"\s+", "", phrase) not in pdf.flat]
    assert not missing, f"{name}: missing {missing}\n--- text ---\n{pdf.text}"


@pytest.mark.parametrize("name", ALL_PDFS)
def test_page_numbers_on_every_page(library: Library, name: str) -> None:
    pdf = library.pdfs[name]
    total = pdf.pages
    for number in range(1, total + 1):
        assert f"第{number}页共{total}页" in pdf.page(number), f"{name} page {number}"
        assert "协商编号：" in pdf.page(number)  # running header on every page


@pytest.mark.parametrize("name", ALL_PDFS)
def test_only_embedded_simplified_chinese_fonts(library: Library, name: str) -> None:
    fonts = library.pdfs[name].fonts()
    assert fonts, name
    for font in fonts:
        assert ALLOWED_FONT.match(font["name"]), f"{name}: fallback font {font['line']}"
        assert (font["emb"], font["sub"], font["uni"]) == ("yes", "yes", "yes"), font["line"]
        family = font["name"].split("+", 1)[1]  # (the random subset prefix may spell anything)
        assert "JP" not in family and "KR" not in family and "TC" not in family


def test_piece_rate_table_rows_and_eleven_periods(library: Library) -> None:
    pdf = library.pdfs["sector_signed"]
    number = next(n for n in range(1, pdf.pages + 1) if "茶叶采摘计件单价表（单位" in pdf.page(n))
    page = pdftotext(pdf.path, first=number, layout=True)
    for _code, name, _start, _end in TEA_PERIODS:
        assert name in pdf.page(number), name
    table = rate_table()
    for row in table["rows"]:
        line = next(line for line in page.splitlines() if row["name"] in line)
        cells = line.split(row["name"], 1)[1].split()
        expected = [row["quota"]] + [f"{Decimal(table['cells'][row['code']][p[0]]):.2f}" for p in TEA_PERIODS]
        assert cells == expected, line  # grade, quota, then 11 periods from first to last
    assert "3月10日—3月16日" in pdf.page(number)
    assert "按江苏省一类月2660元/小时25元" in pdf.page(number)  # the floor the rates were checked against
    assert "一芽二叶不低于12.23元/斤" in pdf.page(number)


def test_document_rows_record_template_and_pdf(library: Library) -> None:
    with unit_of_work(library.db, write=False) as uow:
        s = uow.session
        case = s.scalar(select(Case).where(Case.number == library.enterprise))
        assert case is not None
        rows = list(s.scalars(select(Document).where(Document.case_id == case.id)))
        assert {d.kind for d in rows} >= set(ENTERPRISE_KINDS)
        for d in rows:
            assert d.template_name and d.template_version == "1.0.0" and len(d.template_hash or "") == 64
            assert d.storage_path and d.pdf_sha256
            assert storage.sha256(storage.get(d.storage_path)) == d.pdf_sha256
            rendering = s.scalar(select(DocumentRendering).where(DocumentRendering.document_id == d.id))
            assert rendering is not None and rendering.context["case"]["number"] == library.enterprise
        signed = next(d for d in rows if d.kind == "signed_agreement")
        agreement = s.scalar(select(Agreement).where(Agreement.case_id == case.id))
        assert agreement is not None and agreement.approved_text_hash
        assert (
            f"文本校验码（SHA-256）：{agreement.approved_text_hash}" in library.pdfs["signed_agreement"].flat
        )
        assert signed.template_name == "agreement_enterprise"


def test_second_request_returns_the_stored_file(library: Library) -> None:
    first = docs.render_document(library.db, library.world.instructor, library.enterprise, "offer_letter")
    assert first.reused and first.pdf == library.pdfs["offer_letter"].data
    again = docs.render_document(
        library.db, library.world.instructor, library.enterprise, "要约书", refresh=True
    )
    assert not again.reused
    assert again.sha256 == first.sha256  # deterministic: same template, same data, same bytes


def test_recorded_rendering_reproduces_byte_for_byte(library: Library) -> None:
    with unit_of_work(library.db, write=False) as uow:
        rendering_id = uow.session.scalar(
            select(DocumentRendering.id).where(DocumentRendering.kind == "congress_resolution").limit(1)
        )
    assert rendering_id is not None
    pdf, same = docs.reproduce(library.db, library.world.instructor, rendering_id)
    assert same and pdf.startswith(b"%PDF-")


def test_reused_font_configuration_and_stylesheet_change_no_byte(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rendering reuses one WeasyPrint font configuration per thread (warm Pango and HarfBuzz
    caches) and our parsed style.css; a document rendered with them is byte for byte the one
    WeasyPrint's defaults give (a fresh configuration, the stylesheet parsed again)."""
    import threading

    import weasyprint.css
    from weasyprint.text.fonts import FontConfiguration

    from services.documents import pdf, rendering, templating

    jobs = []
    with unit_of_work(library.db, write=False) as uow:
        for kind in ("response_letter", "signed_agreement", "filing_form"):
            record = uow.session.scalar(
                select(DocumentRendering)
                .where(DocumentRendering.kind == kind)
                .order_by(DocumentRendering.id)
                .limit(1)
            )
            assert record is not None
            jobs.append(rendering.RenderJob("t", record.kind, record.template_name, dict(record.context)))
    assert pdf.font_config() is pdf.font_config()  # this thread's, already used by the whole library
    other: list[object] = []
    thread = threading.Thread(target=lambda: other.append(pdf.font_config()))
    thread.start()
    thread.join()
    assert other[0] is not pdf.font_config()  # one per thread
    fetcher = pdf.fetcher_for(templating.templates_dir())
    url = (templating.templates_dir() / "style.css").resolve().as_uri()
    sheet = weasyprint.css.CSS(url=url, url_fetcher=fetcher, media_type="print", _check_mime_type=True)
    assert (
        weasyprint.css.CSS(url=url, url_fetcher=fetcher, media_type="print", _check_mime_type=True) is sheet
    )
    assert weasyprint.css.CSS(url=url, media_type="print") is not sheet  # another fetcher: parsed as ever
    warm = [rendering.run(job).pdf for job in jobs]
    monkeypatch.setattr(pdf, "font_config", FontConfiguration)  # a fresh one per document
    monkeypatch.setattr(weasyprint.css, "CSS", weasyprint.CSS)  # WeasyPrint's own stylesheet class
    fresh = [rendering.run(job).pdf for job in jobs]
    assert warm == fresh


def test_stylesheets_that_register_state_are_parsed_every_time() -> None:
    from services.documents import pdf

    assert not pdf._registers_state(b"@page { size: A4; @top-left { content: 'x' } } p { color: red }")
    for rule in (
        b"@font-face { font-family: x; src: local(x) }",
        b"@counter-style x { system: cyclic; symbols: a }",
        b"@import 'other.css';",
        b"@layer base { p { color: red } }",
        b"@media print { p { color: red } }",
    ):
        assert pdf._registers_state(rule + b" p { color: blue }"), rule


def test_other_federation_cannot_render(library: Library) -> None:
    from bargaining.errors import NotFound

    with pytest.raises(NotFound):
        docs.render_document(library.db, library.world.other_instructor, library.enterprise, "offer_letter")


def test_unknown_kind_and_missing_document_are_explained(library: Library) -> None:
    from bargaining.errors import NotFound, ValidationError

    with pytest.raises(ValidationError, match="未知的文书类型"):
        docs.render_document(library.db, library.world.instructor, library.enterprise, "letter")
    with pytest.raises(NotFound, match="尚无“协调处理协议书”"):
        docs.render_document(
            library.db, library.world.instructor, library.enterprise, "coordination_agreement"
        )
