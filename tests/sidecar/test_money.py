from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refunder.currencies import EXPONENTS
from refunder.money import Money, MoneyError, exponent


@pytest.mark.parametrize("currency,digits", [("NOK", 2), ("EUR", 2), ("JPY", 0), ("ISK", 0), ("KWD", 3), ("CLF", 4)])
def test_exponents_follow_iso_4217(currency: str, digits: int) -> None:
    assert exponent(currency) == digits


@pytest.mark.parametrize("minor,currency,text", [
    (1000, "NOK", "10.00"), (5, "NOK", "0.05"), (0, "EUR", "0.00"), (-250, "SEK", "-2.50"),
    (1500, "JPY", "1500"), (1234, "KWD", "1.234"),
])
def test_decimal_string_is_exact(minor: int, currency: str, text: str) -> None:
    assert Money(minor, currency).decimal_string() == text


@pytest.mark.parametrize("text,currency,minor", [
    ("10.00", "NOK", 1000), ("10", "NOK", 1000), ("0.5", "EUR", 50), ("1500", "JPY", 1500), ("1.234", "KWD", 1234),
])
def test_parse_reads_decimal_strings(text: str, currency: str, minor: int) -> None:
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize("text,currency", [
    ("10.001", "NOK"), ("1.5", "JPY"), ("-1.00", "NOK"), ("1e3", "NOK"), ("", "NOK"), ("01.00", "NOK"), (" 1", "NOK"),
])
def test_parse_refuses_what_is_not_an_exact_amount(text: str, currency: str) -> None:
    with pytest.raises(MoneyError):
        Money.parse(text, currency)


@pytest.mark.parametrize("minor", [10.0, 10.5, "10", True, None])
def test_money_refuses_anything_but_an_int(minor: object) -> None:
    with pytest.raises(MoneyError):
        Money(minor, "NOK")  # type: ignore[arg-type]


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(MoneyError, match="ISO 4217"):
        Money(100, "XYZ")


def test_currencies_never_mix() -> None:
    with pytest.raises(MoneyError):
        Money(100, "NOK") + Money(100, "SEK")
    with pytest.raises(MoneyError):
        _ = Money(100, "NOK") < Money(100, "SEK")


def test_arithmetic_and_order() -> None:
    assert Money(1000, "NOK") - Money(250, "NOK") == Money(750, "NOK")
    assert Money(1, "NOK") < Money(2, "NOK") <= Money(2, "NOK")
    assert str(Money(75000, "NOK")) == "750.00 NOK"


@given(st.integers(min_value=0, max_value=10**15), st.sampled_from(sorted(EXPONENTS)))
def test_decimal_string_round_trips(minor: int, currency: str) -> None:
    assert Money.parse(Money(minor, currency).decimal_string(), currency) == Money(minor, currency)
