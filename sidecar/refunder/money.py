"""Money as integer minor units plus an ISO 4217 currency; never floats."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .currencies import EXPONENTS

MAX_MINOR = 10**15  # far above any booking, far below a 64-bit column

_DECIMAL = re.compile(r"^(0|[1-9][0-9]*)(?:\.([0-9]+))?$")


class MoneyError(ValueError):
    """An amount or currency that cannot be money."""


class InexactAmount(MoneyError):
    """A decimal amount with more (non-zero) digits than its currency has: "12.345" NOK."""

    def __init__(self, amount: str, currency: str) -> None:
        self.amount, self.currency, self.exponent = amount, currency, exponent(currency)
        super().__init__(f"{amount!r} is not an exact amount in {currency} ({self.exponent} decimals)")


def exponent(currency: str) -> int:
    """Number of minor-unit digits of an ISO 4217 currency (NOK 2, JPY 0, KWD 3)."""
    try:
        return EXPONENTS[currency]
    except KeyError:
        raise MoneyError(f"{currency!r} is not an ISO 4217 currency code") from None


@dataclass(frozen=True, order=False)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.minor) is not int:
            raise MoneyError("money must be a whole number of minor units")
        exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, value: str, currency: str) -> Money:
        """Read a decimal string such as "10.00" exactly; more digits than the currency has are refused."""
        digits = exponent(currency)
        refused = f"{value!r} is not an amount in {currency}"
        whole, frac = _parts(value, refused)
        if len(frac) > digits:
            raise MoneyError(refused)
        return cls._of(whole, frac, digits, currency)

    @classmethod
    def exact(cls, value: str, currency: str) -> Money:
        """A decimal string as WooCommerce writes it ("1500.00" JPY, "12.5" NOK), read with the currency's
        ISO 4217 digits: digits beyond them may only be zeros (InexactAmount otherwise)."""
        digits = exponent(currency)
        whole, frac = _parts(value, f"{value!r} is not a decimal amount")
        if frac[digits:].strip("0"):
            raise InexactAmount(value, currency)
        return cls._of(whole, frac[:digits], digits, currency)

    @classmethod
    def _of(cls, whole: str, frac: str, digits: int, currency: str) -> Money:
        """Minor units from a decimal's whole and fraction digits (the fraction at most `digits` long)."""
        return cls(int(whole) * 10**digits + int(frac.ljust(digits, "0") or "0"), currency)

    def decimal_string(self) -> str:
        """Exact decimal form with the currency's digits: 1000 NOK minor -> "10.00"."""
        digits = exponent(self.currency)
        sign = "-" if self.minor < 0 else ""
        whole, frac = divmod(abs(self.minor), 10**digits)
        return f"{sign}{whole}.{frac:0{digits}d}" if digits else f"{sign}{whole}"

    def as_object(self) -> dict[str, Any]:
        """As the API shows money: minor units, currency and its exponent (no reader needs a currency table)."""
        return {"value": self.minor, "currency": self.currency, "exponent": exponent(self.currency)}

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("money only combines with money")
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def __str__(self) -> str:
        return f"{self.decimal_string()} {self.currency}"


def _parts(value: object, refusal: str) -> tuple[str, str]:
    """A decimal string's whole and fraction digits ("12.5" -> "12", "5"); MoneyError(refusal) otherwise."""
    match = _DECIMAL.match(value) if isinstance(value, str) else None
    if not match:
        raise MoneyError(refusal)
    return match.group(1), match.group(2) or ""
