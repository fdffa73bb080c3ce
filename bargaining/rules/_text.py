"""Small Chinese-text helpers shared by the rules modules (private)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

_DIGITS = "零一二三四五六七八九"


def small_number_cn(n: int) -> str:
    """Chinese numeral for 0..99 (enough for the fractions and counts used in rule texts)."""
    if not 0 <= n <= 99:
        raise ValueError(f"small_number_cn supports 0..99, got {n}")
    if n < 10:
        return _DIGITS[n]
    tens, units = divmod(n, 10)
    head = "" if tens == 1 else _DIGITS[tens]
    return head + "十" + (_DIGITS[units] if units else "")


def fraction_cn(value: Fraction) -> str:
    """``Fraction(2, 3)`` -> ``三分之二``; ``Fraction(1, 2)`` -> ``二分之一``."""
    return f"{small_number_cn(value.denominator)}分之{small_number_cn(value.numerator)}"


def yuan(amount: Decimal | Fraction) -> str:
    """Money for display, rounded half-up to the fen (display only, never for comparisons)."""
    if isinstance(amount, Fraction):
        amount = Decimal(amount.numerator) / Decimal(amount.denominator)
    return str(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def plain(amount: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: ``Decimal('8.50')`` -> ``8.5``."""
    return format(amount.normalize(), "f")
