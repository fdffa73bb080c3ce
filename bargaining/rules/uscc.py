"""Unified social credit code (统一社会信用代码, GB 32100-2015).

Layout of the 18 characters:

- 1: registration-authority code (登记管理部门代码)
- 2: category code within that authority (机构类别代码)
- 3-8: administrative-division code of the registering office (GB/T 2260, digits)
- 9-17: subject identifier, normally the GB 11714 organisation code (主体标识码)
- 18: check digit over positions 1-17, modulus 31
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from bargaining.errors import ValidationError

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18

_VALUE = {char: index for index, char in enumerate(CHARSET)}
_CHARSET_HINT = "统一社会信用代码只使用数字和除I、O、Z、S、V以外的大写字母"

# Position 1. GB 32100-2015 Annex A fixes 1, 5, 9 and Y; the other codes were assigned to further
# registration authorities afterwards, and two different assignment lists circulate for them. Both
# lists are accepted so that no real code is rejected; a character outside both is certainly wrong.
REGISTRATION_AUTHORITIES: Mapping[str, str] = {
    "1": "机构编制",
    "5": "民政",
    "9": "工商（市场监管）",
    "Y": "其他",
}
_LATER_AUTHORITY_CODES = frozenset("234678ABCDEFGN")

# Position 2, only where GB 32100-2015 Annex A fixes the categories of the authority.
CATEGORIES: Mapping[str, Mapping[str, str]] = {
    "1": {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    "5": {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"},
    "9": {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"},
}


class InvalidCreditCode(ValidationError):
    """A unified social credit code that breaks GB 32100-2015."""

    code = "invalid_credit_code"


def _normalize(raw: str) -> str:
    # NFKC turns full-width input from a Chinese IME (９１４４…) into ASCII.
    return unicodedata.normalize("NFKC", raw).strip().upper()


def _check_length(code: str, expected: int, what: str) -> None:
    if not code:
        raise InvalidCreditCode(f"{what}不能为空", details={"length": 0})
    if len(code) != expected:
        raise InvalidCreditCode(
            f"{what}应为{expected}位，实际为{len(code)}位",
            details={"length": len(code), "expected_length": expected},
        )


def _check_charset(code: str) -> None:
    bad = [(position, char) for position, char in enumerate(code, start=1) if char not in _VALUE]
    if bad:
        listed = "；".join(f"第{position}位字符“{char}”不是有效字符" for position, char in bad)
        raise InvalidCreditCode(
            f"{listed}（{_CHARSET_HINT}）",
            details={"invalid": [{"position": position, "char": char} for position, char in bad]},
        )


def _compute_check_digit(first17: str) -> str:
    total = sum(_VALUE[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def check_digit(first17: str) -> str:
    """The 18th character for the first 17 (normalized like :func:`validate_credit_code`)."""
    first17 = _normalize(first17)
    _check_length(first17, LENGTH - 1, "统一社会信用代码前17位")
    _check_charset(first17)
    return _compute_check_digit(first17)


def _check_structure(code: str) -> None:
    authority, category = code[0], code[1]
    if authority not in REGISTRATION_AUTHORITIES and authority not in _LATER_AUTHORITY_CODES:
        raise InvalidCreditCode(
            f"第1位（登记管理部门代码）“{authority}”不是已分配的登记管理部门代码",
            details={"position": 1, "char": authority},
        )
    allowed = CATEGORIES.get(authority)
    if allowed is not None and category not in allowed:
        options = "、".join(f"{key}{name}" for key, name in allowed.items())
        raise InvalidCreditCode(
            f"第2位（机构类别代码）“{category}”不是{REGISTRATION_AUTHORITIES[authority]}登记的有效类别"
            f"（应为{options}）",
            details={"position": 2, "char": category},
        )
    for position in range(3, 9):
        char = code[position - 1]
        if not char.isdigit():
            raise InvalidCreditCode(
                f"第3至8位（登记管理机关行政区划码）应为数字，第{position}位为“{char}”",
                details={"position": position, "char": char},
            )


def validate_credit_code(code: str) -> str:
    """Return the normalized code, or raise :class:`InvalidCreditCode` saying exactly what is wrong."""
    normalized = _normalize(code)
    _check_length(normalized, LENGTH, "统一社会信用代码")
    _check_charset(normalized)
    _check_structure(normalized)
    expected = _compute_check_digit(normalized[:17])
    if normalized[17] != expected:
        raise InvalidCreditCode(
            f"校验码应为“{expected}”，实际为“{normalized[17]}”",
            details={"position": 18, "expected": expected, "found": normalized[17]},
        )
    return normalized


def complete_credit_code(first17: str) -> str:
    """Append the check digit to 17 characters (for data generators); the result is validated."""
    return validate_credit_code(_normalize(first17) + check_digit(first17))


_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organization_code_valid(code: str) -> bool:
    """Whether positions 9-17 satisfy the GB 11714 organisation-code check (modulus 11).

    Deliberately not part of :func:`validate_credit_code`: GB 32100 only says positions 9-17 are the
    subject identifier, and codes issued without a legacy organisation code (e.g. some individual
    businesses, 个体工商户) are not guaranteed to satisfy it. Use as a hint, never as a rejection.
    """
    normalized = _normalize(code)
    if len(normalized) != LENGTH:
        return False
    body, found = normalized[8:16], normalized[16]
    if not all(char.isdigit() or "A" <= char <= "Z" for char in body):
        return False
    # GB 11714 values: digits as themselves, letters A=10 ... Z=35.
    total = sum(
        (int(char) if char.isdigit() else ord(char) - 55) * w
        for char, w in zip(body, _ORG_WEIGHTS, strict=True)
    )
    remainder = 11 - total % 11
    expected = "X" if remainder == 10 else "0" if remainder == 11 else str(remainder)
    return found == expected
