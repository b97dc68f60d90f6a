"""Exact arithmetic for documents: WooCommerce's decimal strings in minor units, and parts that add up exactly."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..money import MoneyError, exponent

_DECIMAL = re.compile(r"^(-?)([0-9]+)(?:\.([0-9]+))?$")


def to_minor(value: str, currency: str) -> int:
    """A decimal string as WooCommerce stores it ("800", "199.2", "63.999999") in minor units.

    Digits beyond the currency's are rounded half away from zero, as WooCommerce rounds; integers only.
    """
    match = _DECIMAL.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise MoneyError(f"{value!r} is not a decimal amount")
    sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
    digits = exponent(currency)
    scaled = int(whole + frac)  # the value times 10**len(frac)
    shift = len(frac) - digits
    if shift <= 0:
        minor = scaled * 10 ** -shift
    else:
        minor, rest = divmod(scaled, 10**shift)
        minor += 1 if 2 * rest >= 10**shift else 0
    return -minor if sign and minor else minor


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split total over weights pro rata; the parts add up to total exactly.

    Each part is rounded down, and the minor units left go one each to the largest remainders (the earlier
    weight on a tie). Weights below zero get nothing. Raises ValueError when no weight is above zero.
    """
    positive = [max(w, 0) for w in weights]
    whole = sum(positive)
    if whole == 0:
        raise ValueError("nothing to allocate over")
    parts = [total * w // whole for w in positive]
    remainders = [total * w % whole for w in positive]
    for index in sorted(range(len(parts)), key=lambda i: (-remainders[i], i))[: total - sum(parts)]:
        parts[index] += 1
    return parts


def percent_text(percent: str, decimal_mark: str) -> str:
    """"25.0000" -> "25", "11.1100" -> "11,11" (with a decimal comma)."""
    whole, _, frac = percent.partition(".")
    frac = frac.rstrip("0")
    return f"{whole}{decimal_mark}{frac}" if frac else whole
