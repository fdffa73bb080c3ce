from __future__ import annotations

import pytest

from bargaining.errors import ValidationError
from bargaining.rules.uscc import (
    CHARSET,
    WEIGHTS,
    InvalidCreditCode,
    check_digit,
    complete_credit_code,
    organization_code_valid,
    validate_credit_code,
)

# Published codes of well-known companies. Each passes both the GB 32100 check digit and the
# GB 11714 organisation-code check, which a misremembered code would almost never do.
REAL_CODES = {
    "华为技术有限公司": "914403001922038216",
    "深圳市腾讯计算机系统有限公司": "9144030071526726XG",
    "阿里巴巴（中国）有限公司": "91330100716105852F",
    "比亚迪股份有限公司": "91440300192317458F",
    "中兴通讯股份有限公司": "9144030027939873X7",
    "北京百度网讯科技有限公司": "91110000802100433B",
    "小米科技有限责任公司": "91110108551385082Q",
    "美的集团股份有限公司": "91440606722473344C",
    "珠海格力电器股份有限公司": "91440400192548256N",
    "中国工商银行股份有限公司": "91100000100003962T",
}


def test_charset_and_weights_follow_the_standard() -> None:
    assert len(CHARSET) == 31
    assert not set("IOZSV") & set(CHARSET)
    # Weight i is 3^(i-1) mod 31.
    assert tuple(pow(3, i, 31) for i in range(17)) == WEIGHTS


@pytest.mark.parametrize(("company", "code"), REAL_CODES.items())
def test_real_codes_validate(company: str, code: str) -> None:
    assert validate_credit_code(code) == code
    assert check_digit(code[:17]) == code[17]
    assert complete_credit_code(code[:17]) == code
    assert organization_code_valid(code), company


def test_normalizes_whitespace_case_and_full_width() -> None:
    assert validate_credit_code("  9144030071526726xg\n") == "9144030071526726XG"
    assert validate_credit_code("９１４４０３００１９２２０３８２１６") == "914403001922038216"


def test_is_a_validation_error_with_stable_code() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_credit_code("123")
    assert isinstance(caught.value, InvalidCreditCode)
    assert caught.value.code == "invalid_credit_code"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "统一社会信用代码不能为空"),
        ("   ", "统一社会信用代码不能为空"),
        ("91440300192203821", "统一社会信用代码应为18位，实际为17位"),
        ("9144030019220382160", "统一社会信用代码应为18位，实际为19位"),
    ],
)
def test_wrong_length_says_the_actual_length(raw: str, message: str) -> None:
    with pytest.raises(InvalidCreditCode) as caught:
        validate_credit_code(raw)
    assert caught.value.message == message


def test_invalid_character_names_character_and_position() -> None:
    with pytest.raises(InvalidCreditCode) as caught:
        validate_credit_code("9144I3001922038216")
    assert caught.value.message.startswith("第5位字符“I”不是有效字符")
    assert caught.value.details == {"invalid": [{"position": 5, "char": "I"}]}


def test_every_invalid_character_is_listed() -> None:
    with pytest.raises(InvalidCreditCode) as caught:
        validate_credit_code("91440300192203821O".replace("9", "S", 1))
    message = caught.value.message
    assert "第1位字符“S”不是有效字符" in message
    assert "第18位字符“O”不是有效字符" in message


def test_wrong_check_digit_says_expected_and_found() -> None:
    with pytest.raises(InvalidCreditCode) as caught:
        validate_credit_code("914403001922038217")
    assert caught.value.message == "校验码应为“6”，实际为“7”"
    assert caught.value.details["expected"] == "6"


def test_single_character_typo_is_caught_by_the_check_digit() -> None:
    code = REAL_CODES["华为技术有限公司"]
    typo = code[:10] + ("3" if code[10] != "3" else "4") + code[11:]
    with pytest.raises(InvalidCreditCode, match="校验码应为"):
        validate_credit_code(typo)


def test_unassigned_registration_authority_is_rejected() -> None:
    code = complete_credit_code_unchecked("H1440300192203821")
    with pytest.raises(InvalidCreditCode) as caught:
        validate_credit_code(code)
    assert caught.value.message == "第1位（登记管理部门代码）“H”不是已分配的登记管理部门代码"


def test_wrong_category_for_the_authority_is_rejected() -> None:
    code = complete_credit_code_unchecked("94440300192203821")
    with pytest.raises(InvalidCreditCode) as caught:
        validate_credit_code(code)
    assert "第2位（机构类别代码）“4”" in caught.value.message
    assert "1企业、2个体工商户、3农民专业合作社" in caught.value.message


@pytest.mark.parametrize(
    "first17", ["12110000000000001", "51440300MJ0000001", "92320000MA0000001", "81110000MC0000001"]
)
def test_other_authorities_and_categories_are_accepted(first17: str) -> None:
    # Government body, social organisation, individual business, trade union (8 = 工会).
    code = complete_credit_code(first17)
    assert validate_credit_code(code) == code


def test_division_code_must_be_digits() -> None:
    code = complete_credit_code_unchecked("9144A300192203821")
    with pytest.raises(InvalidCreditCode) as caught:
        validate_credit_code(code)
    assert caught.value.message == "第3至8位（登记管理机关行政区划码）应为数字，第5位为“A”"


def test_check_digit_rejects_bad_input() -> None:
    with pytest.raises(InvalidCreditCode, match="前17位应为17位，实际为18位"):
        check_digit("914403001922038216")
    with pytest.raises(InvalidCreditCode, match="第17位字符“Z”"):
        check_digit("9144030019220382Z")


def test_check_digit_zero_case() -> None:
    # A sum that is a multiple of 31 gives check digit "0" (not "31").
    assert check_digit("0" * 17) == "0"


def test_complete_credit_code_validates_the_result() -> None:
    with pytest.raises(InvalidCreditCode):
        complete_credit_code("H1440300192203821")


def test_organization_code_check_is_a_separate_hint() -> None:
    code = REAL_CODES["华为技术有限公司"]
    broken = complete_credit_code(code[:16] + "9")  # valid USCC, wrong GB 11714 digit
    assert validate_credit_code(broken) == broken
    assert not organization_code_valid(broken)
    assert not organization_code_valid("short")


def complete_credit_code_unchecked(first17: str) -> str:
    """Append the check digit without the structural checks, to build codes that fail only them."""
    return first17 + check_digit(first17)
