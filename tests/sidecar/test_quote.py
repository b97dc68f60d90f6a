"""A refund quote: the amount, lines with VAT and every reason a proposed refund cannot go ahead."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refunder.capabilities import Capabilities
from refunder.detection import Block
from refunder.money import Money
from refunder.quote import Item, Proposal, quote, share
from refunder.rules import Balance, RefundPolicy
from tests.sidecar.helpers import refund_body, register

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CAN = Capabilities(provider_refund=True, blocked=None, partial=True, lines=True, bank_transfer=True,
                   default_via="provider", needs_bank_reference=False)


def nok(minor: int) -> Money:
    return Money(minor, "NOK")


def balance(captured: int, refunded: int = 0, in_flight: int = 0) -> Balance:
    return Balance(captured=nok(captured), refunded=nok(refunded), in_flight=nok(in_flight))


NO_LIMITS = RefundPolicy()


def priced(proposal: Proposal, *, held: Balance | None = None, can: Capabilities = CAN,
           policy: RefundPolicy = NO_LIMITS) -> Any:
    return quote(proposal, balance=held or balance(150000), capabilities=can, provider_label="Vipps MobilePay",
                 paid_at=NOW - timedelta(days=2), now=NOW, policy=policy)


def codes(found: Any) -> list[str]:
    return [problem.code for problem in found.problems]


# --- the maths -----------------------------------------------------------------------------------

@given(total=st.integers(-10**12, 10**12), quantity=st.integers(1, 60), data=st.data())
def test_the_shares_of_every_refund_of_a_line_add_up_to_the_line(total: int, quantity: int, data: Any) -> None:
    """However a line's units are refunded, in how many refunds of whatever sizes, the parts add up exactly."""
    parts: list[int] = []
    before = 0
    while before < quantity:
        now = data.draw(st.integers(1, quantity - before))
        parts.append(share(total, quantity, before, now))
        before += now
    assert sum(parts) == total
    assert all(part * total >= 0 for part in parts)  # never the wrong way
    assert share(total, quantity, 0, quantity) == total


@given(total=st.integers(0, 10**12), quantity=st.integers(1, 60), units=st.integers(0, 59))
def test_more_units_never_cost_less(total: int, quantity: int, units: int) -> None:
    units = min(units, quantity - 1)
    assert share(total, quantity, 0, units) <= share(total, quantity, 0, units + 1)
    assert abs(share(total, quantity, 0, units) * quantity - total * units) <= quantity  # rounded, not more


decimal = st.builds(lambda whole, frac: f"{whole}.{frac}", st.integers(0, 10**7),
                    st.text("0123456789", min_size=0, max_size=6).map(lambda f: f or "0"))


@given(lines=st.lists(st.tuples(decimal, decimal, st.integers(1, 20), st.integers(0, 20)), min_size=1,
                      max_size=8))
def test_a_quote_of_items_is_its_lines_with_vat_as_the_customer_paid(lines: list[tuple[str, str, int, int]]) -> None:
    items = [Item(str(i), f"Item {i}", quantity, total, tax, min(wanted, quantity))
             for i, (total, tax, quantity, wanted) in enumerate(lines)]
    found = priced(Proposal("items", items=items), held=balance(10**15))
    assert found.amount == sum((line.amount for line in found.lines), nok(0))
    for line in found.lines:
        assert line.amount == line.net + line.tax
    if not any(item.refund_quantity for item in items):
        assert codes(found) == ["no_items_chosen"]


def test_woocommerce_decimals_are_rounded_as_woocommerce_rounds_them() -> None:
    item = Item("41", "Haircut", 3, "59.999999", "15.005", 3)
    [line] = priced(Proposal("items", items=[item])).lines
    assert (line.net, line.tax, line.amount) == (nok(6000), nok(1501), nok(7501))
    first = priced(Proposal("items", items=[replace(item, refund_quantity=1)])).lines[0]
    rest = priced(Proposal("items", items=[replace(item, refund_quantity=2, refunded_quantity=1)])).lines[0]
    assert (first.net, first.tax) == (nok(2000), nok(500)) and first.amount + rest.amount == line.amount


# --- why not -------------------------------------------------------------------------------------

def test_a_refund_that_may_go_ahead_has_no_problems() -> None:
    found = priced(Proposal("amount", amount=nok(25000)))
    assert (found.amount, found.remaining, found.problems, found.via) == (nok(25000), nok(125000), [], "provider")
    assert not found.needs_bank_reference


def test_every_reason_is_given_not_only_the_first() -> None:
    expired = RefundPolicy(window=timedelta(days=1))
    found = priced(Proposal("amount", amount=nok(200000)), held=balance(150000, refunded=50000), policy=expired)
    assert codes(found) == ["refund_window_expired", "exceeds_refundable"]
    assert found.problems[1].params["refundable"] == {"value": 100000, "currency": "NOK", "exponent": 2}
    assert priced(Proposal("amount", amount=nok(200000), via="bank_transfer"), policy=expired).needs_bank_reference
    assert codes(priced(Proposal("amount", amount=nok(1000), via="bank_transfer"), policy=expired)) == []


def test_items_beyond_what_is_left_of_a_line() -> None:
    items = [Item("41", "Haircut", 2, "800", "200", 2, refunded_quantity=1), Item("42", "Wash", 1, "400", "100", 1)]
    found = priced(Proposal("items", items=items))
    assert codes(found) == ["quantity_exceeds_ordered"] and found.amount == nok(50000)
    assert found.problems[0].params == {"item": "Haircut", "item_id": "41", "quantity": 2, "refunded_quantity": 1}


def test_what_the_provider_cannot_do() -> None:
    whole_only = replace(CAN, partial=False, lines=False)
    assert codes(priced(Proposal("amount", amount=nok(100)), can=whole_only)) == ["partial_refund_not_supported"]
    assert codes(priced(Proposal("full"), can=whole_only)) == []
    items = [Item("41", "Haircut", 1, "1200", "300", 1)]
    assert codes(priced(Proposal("items", items=items), can=whole_only)) == ["line_refund_not_supported"]
    blocked = replace(CAN, provider_refund=False, blocked=Block("not_captured", {"provider": "Stripe"}),
                      default_via="bank_transfer", needs_bank_reference=True)
    refused = priced(Proposal("full", via="provider"), can=blocked)
    assert codes(refused) == ["provider_cannot_refund"]
    assert refused.problems[0].params["reason"] == {"code": "not_captured", "params": {"provider": "Stripe"}}
    assert codes(priced(Proposal("full"), can=blocked)) == [] and priced(Proposal("full"), can=blocked).via == \
        "bank_transfer"


def test_nothing_left_is_said_as_such() -> None:
    found = priced(Proposal("full"), held=balance(150000, refunded=100000, in_flight=50000))
    assert codes(found) == ["nothing_refundable"]
    assert found.problems[0].message == ("Nothing is left to refund on this payment: 1000.00 NOK already refunded, "
                                         "500.00 NOK being refunded.")


# --- the call ------------------------------------------------------------------------------------

@pytest.fixture
def payment(api: Any, app: Any, clock: Any) -> dict[str, Any]:
    app.extensions["refunder"].providers["simulator"].add_payment("sim-quote", Money(150000, "NOK"), clock())
    return register(api, "simulator", "sim-quote", 150000)


ITEMS = [{"item_id": "41", "name": "Haircut", "quantity": 1, "total": "800.00", "total_tax": "200.00",
          "refund_quantity": 1},
         {"item_id": "42", "name": "Hair wash", "quantity": 2, "total": "400", "total_tax": "100",
          "refund_quantity": 1}]


def test_the_quote_call_answers_lines_balance_and_what_the_provider_supports(api: Any, payment: dict[str, Any]) -> None:
    events = api.get(f"/v1/payments/{payment['id']}/events").json["events"]
    answer = api.post(f"/v1/payments/{payment['id']}/quote", {"refund": "items", "items": ITEMS})
    assert answer.status_code == 200, answer.json
    found = answer.json
    money = lambda minor: {"value": minor, "currency": "NOK", "exponent": 2}  # noqa: E731
    assert found["amount"] == money(125000) and found["remaining"] == money(25000)
    assert found["lines"] == [
        {"item_id": "41", "name": "Haircut", "quantity": 1, "amount": money(100000), "net": money(80000),
         "tax": money(20000)},
        {"item_id": "42", "name": "Hair wash", "quantity": 1, "amount": money(25000), "net": money(20000),
         "tax": money(5000)}]
    assert (found["allowed"], found["problems"], found["via"], found["provider_label"]) == (
        True, [], "provider", "Simulated card provider")
    assert found["partial_refund"] and found["line_refund"] and not found["needs_bank_reference"]
    assert found["refund_window_open"] and found["refund_deadline"]
    assert api.get(f"/v1/payments/{payment['id']}/events").json["events"] == events  # nothing recorded


def test_the_quote_call_says_why_not_as_the_refund_would(api: Any, payment: dict[str, Any]) -> None:
    target = f"/v1/payments/{payment['id']}"
    quoted = api.post(f"{target}/quote", {"refund": "amount", "amount": {"value": 200000, "currency": "NOK"}}).json
    refused = api.post(f"{target}/refunds", refund_body(200000), headers={"Idempotency-Key": "quote-key-001"}).json
    [problem] = quoted["problems"]
    assert not quoted["allowed"] and problem == {key: refused[key] for key in problem}
    assert problem["status"] == 422 and problem["code"] == "exceeds_refundable"


def test_a_quote_needs_what_it_is_asked_to_price(api: Any, payment: dict[str, Any]) -> None:
    target = f"/v1/payments/{payment['id']}/quote"
    assert api.post(target, {"refund": "amount"}).status_code == 422
    assert api.post(target, {"refund": "items", "items": []}).status_code == 422
    wrong = {"refund": "amount", "amount": {"value": 100, "currency": "NOK", "exponent": 0}}
    assert api.post(target, wrong).json["errors"] == {"amount": {"exponent": ["NOK has 2 minor-unit digits."]}}
    assert api.post("/v1/payments/pay_none/quote", {"refund": "full"}).json["code"] == "payment_not_found"
