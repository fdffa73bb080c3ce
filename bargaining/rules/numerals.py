"""Chinese numerals for documents: capital amounts (人民币大写) and dates (二〇二六年十一月二十六日).

Capital amounts follow the People's Bank of China's 《支付结算办法》 appendix
《正确填写票据和结算凭证的基本规定》:

- digits 零壹贰叁肆伍陆柒捌玖, units 拾佰仟万亿, 元角分; "人民币" directly in front, no gap;
- "整" after 元 (an amount with no 角 and no 分); nothing after 角 (the rule makes it optional, and
  the official example ¥1409.50 → 壹仟肆佰零玖元伍角 writes none); never after 分;
- a zero between non-zero digits, or a run of zeros, is written as one 零 (¥1409.50, ¥6007.14);
- where the 元 digit is 0 and 角 is not, the rule allows 零 or nothing; we always write it
  (¥1680.32 → 壹仟陆佰捌拾元零叁角贰分), and where the 万 digit is 0 and 仟 is not we write none
  (¥107000.53 → 壹拾万柒仟元零伍角叁分): both are the official examples' first variants;
- 角 = 0 and 分 ≠ 0 needs 零 after 元 (¥325.04 → 叁佰贰拾伍元零肆分);
- a leading 拾 is written 壹拾 (¥100000 → 壹拾万元整, not 拾万元整).

Amounts are ``Decimal`` (or ``int``/``str``), never ``float``, and are rounded half-up to the fen
before they are written, so 1.995 yuan is 贰元整.

Dates follow GB/T 15835-2011 §5.2.5: the year is read digit by digit with 〇 (U+3007) for zero,
month and day as counting numbers: 二〇二六年十一月二十六日.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CAPITAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_CAPITAL_UNITS = ("", "拾", "佰", "仟")
SMALL_DIGITS = "〇一二三四五六七八九"  # year digits: 〇 is U+3007 IDEOGRAPHIC NUMBER ZERO
_COUNT_DIGITS = "零一二三四五六七八九"
_COUNT_UNITS = ("", "十", "百", "千")
# 16 integer digits: up to 9999 9999 9999 9999 yuan (the 万亿 group is the largest we write).
MAX_AMOUNT = Decimal("9999999999999999.99")
_FEN = Decimal("0.01")


def to_fen(amount: Decimal | int | str) -> Decimal:
    """``amount`` as an exact Decimal rounded half-up to the fen (0.01 yuan)."""
    if isinstance(amount, float):
        raise TypeError("amounts must be Decimal, int or str, never float")
    if isinstance(amount, bool):
        raise TypeError("a bool is not an amount")
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {amount!r}")
    value = value.quantize(_FEN, rounding=ROUND_HALF_UP)
    if abs(value) > MAX_AMOUNT:
        raise ValueError(f"amount too large for capital numerals (max {MAX_AMOUNT}): {amount!r}")
    return value


def _group(n: int) -> str:
    """0 < n < 10000 in capitals, with one 零 for each inner run of zeros (1409 → 壹仟肆佰零玖)."""
    digits = f"{n:04d}"
    out: list[str] = []
    pending_zero = False
    for index, char in enumerate(digits):
        digit = int(char)
        if digit == 0:
            pending_zero = bool(out)  # zeros before the first digit are the caller's business
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(CAPITAL_DIGITS[digit] + _CAPITAL_UNITS[3 - index])
    return "".join(out)


def _integer_capitals(n: int) -> str:
    """0 < n < 10^16, by 4-digit groups (个, 万, 亿, 万亿).

    One 零 stands for the zeros between two written digits unless they are only the trailing zeros
    of a group whose group word (万, 亿) is written and the next group starts at its 仟 digit:
    107000 → 壹拾万柒仟, 100010 → 壹拾万零壹拾, 1000050000000 → 壹万亿零伍仟万.
    """
    groups: list[int] = []
    while n:
        n, group = divmod(n, 10000)
        groups.append(group)
    out: list[str] = []
    zeros_between = False
    for index in reversed(range(len(groups))):
        value = groups[index]
        if value == 0:
            zeros_between = bool(out)
            continue
        if out and (zeros_between or value < 1000):
            out.append("零")
        word = ("", "万", "亿", "万")[index]
        if index == 3 and groups[2] == 0:
            word = "万亿"  # the 亿 group is empty: 壹万亿
        out.append(_group(value) + word)
        zeros_between = False
    return "".join(out)


def amount_in_capitals(amount: Decimal | int | str) -> str:
    """Capital numerals without the 人民币 prefix: ``Decimal("1409.50")`` → ``壹仟肆佰零玖元伍角``."""
    value = to_fen(amount)
    sign = "负" if value < 0 else ""
    fen_total = int(abs(value) * 100)
    yuan_part, cents = divmod(fen_total, 100)
    jiao, fen = divmod(cents, 10)
    if fen_total == 0:
        return "零元整"
    text = _integer_capitals(yuan_part) + "元" if yuan_part else ""
    if jiao == 0 and fen == 0:
        return sign + text + "整"
    if jiao:
        if yuan_part and yuan_part % 10 == 0:
            text += "零"  # 元 digit 0, 角 not: 壹仟陆佰捌拾元零叁角贰分 (the rule's first variant)
        text += CAPITAL_DIGITS[jiao] + "角"
    elif yuan_part:
        text += "零"  # 角 is 0 and 分 is not: 叁佰贰拾伍元零肆分
    if fen:
        text += CAPITAL_DIGITS[fen] + "分"
    return sign + text


def rmb_capital(amount: Decimal | int | str) -> str:
    """``人民币`` + capital numerals: ``Decimal("1600")`` → ``人民币壹仟陆佰元整``."""
    return "人民币" + amount_in_capitals(amount)


def money(amount: Decimal | int | str) -> str:
    """Arabic amount with thousands separators and two decimals: ``5450`` → ``5,450.00``."""
    return f"{to_fen(amount):,.2f}"


def counting_number(n: int) -> str:
    """A counting number for article and list numbers, 0 ≤ n < 10000: 12 → 十二, 105 → 一百零五.

    Numbers 10–19 are written 十… (第十二条), as in statute texts; 110 is 一百一十.
    """
    if not 0 <= n < 10000:
        raise ValueError(f"counting_number supports 0..9999, got {n}")
    if n == 0:
        return "零"
    digits = f"{n:04d}".lstrip("0")
    out: list[str] = []
    pending_zero = False
    length = len(digits)
    for index, char in enumerate(digits):
        digit = int(char)
        unit = _COUNT_UNITS[length - 1 - index]
        if digit == 0:
            pending_zero = True
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        if digit == 1 and unit == "十" and not out:
            out.append("十")  # 十二, not 一十二, at the start
        else:
            out.append(_COUNT_DIGITS[digit] + unit)
    return "".join(out)


def year_in_chinese(year: int) -> str:
    """Year digits read one by one with 〇: 2026 → 二〇二六."""
    if year < 0:
        raise ValueError(f"negative year: {year}")
    return "".join(SMALL_DIGITS[int(c)] for c in str(year))


def date_in_chinese(day: date) -> str:
    """``date(2026, 11, 26)`` → ``二〇二六年十一月二十六日`` (GB/T 15835-2011 §5.2.5)."""
    return f"{year_in_chinese(day.year)}年{counting_number(day.month)}月{counting_number(day.day)}日"


def date_numeric(day: date) -> str:
    """``date(2026, 11, 26)`` → ``2026年11月26日`` (the 公文 style for forms and tables)."""
    return f"{day.year}年{day.month}月{day.day}日"


__all__ = [
    "CAPITAL_DIGITS",
    "MAX_AMOUNT",
    "SMALL_DIGITS",
    "amount_in_capitals",
    "counting_number",
    "date_in_chinese",
    "date_numeric",
    "money",
    "rmb_capital",
    "to_fen",
    "year_in_chinese",
]
