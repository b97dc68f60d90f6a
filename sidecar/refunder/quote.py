"""A proposed refund worked out before anyone confirms it: its amount, its lines with VAT, and every reason it
cannot go ahead (coded problems, the same as the refund itself would answer). Pure: the API gathers the
payment's balance and capabilities, the plugin shows the answer.

Items come as WooCommerce stores its order lines (quantity ordered, line total and tax as decimal strings,
how many were refunded before). A line's share is cumulative: the first k units of a line cost
round(total x k / n), so the shares of every refund of a line add up to the line exactly, whatever the order
and the sizes of the refunds. Net and tax are shared apart, and the amount is their sum: VAT included, as the
customer paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .bookkeeping.amounts import to_minor
from .capabilities import VIA_BANK_TRANSFER, VIA_PROVIDER, Capabilities
from .detection import REFUND_WINDOW_EXPIRED
from .errors import (
    AmountNotPositive,
    LineRefundNotSupported,
    NoItemsChosen,
    NothingRefundable,
    PartialRefundNotSupported,
    ProviderCannotRefund,
    QuantityExceedsOrdered,
    RefunderError,
)
from .money import Money
from .rules import Balance, RefundPolicy, refund_problems

FULL, AMOUNT, ITEMS = "full", "amount", "items"


@dataclass(frozen=True)
class Item:
    """An order line as WooCommerce stores it, and how many of its units to refund now."""

    item_id: str
    name: str
    quantity: int  # ordered
    total: str  # the line's total without tax, as stored ("800", "63.999999")
    total_tax: str  # the line's tax, as stored
    refund_quantity: int  # to refund now (0: not this line)
    refunded_quantity: int = 0  # refunded before


@dataclass(frozen=True)
class Line:
    item_id: str
    name: str
    quantity: int
    net: Money
    tax: Money

    @property
    def amount(self) -> Money:
        return self.net + self.tax


@dataclass(frozen=True)
class Proposal:
    refund: str  # full, amount or items
    amount: Money | None = None  # refund "amount"
    items: Sequence[Item] = ()  # refund "items"
    via: str | None = None  # provider or bank_transfer; None: the payment's default


@dataclass(frozen=True)
class Quote:
    via: str
    amount: Money
    lines: list[Line]
    remaining: Money  # refundable after this refund
    problems: list[RefunderError]  # empty: it may go ahead

    @property
    def needs_bank_reference(self) -> bool:
        return self.via == VIA_BANK_TRANSFER


def share(total: int, quantity: int, before: int, now: int) -> int:
    """The part of a line's `total` (minor units) for `now` of its `quantity` units, `before` refunded earlier."""
    return _first(total, before + now, quantity) - _first(total, before, quantity)


def _first(total: int, units: int, quantity: int) -> int:
    """What the first `units` of `quantity` cost: total x units / quantity, rounded half away from zero."""
    magnitude = (2 * abs(total) * units + quantity) // (2 * quantity)
    return -magnitude if total < 0 else magnitude


def lines(items: Sequence[Item], currency: str) -> tuple[list[Line], list[RefunderError]]:
    """The refunded lines (those with a quantity to refund), and what is wrong with the choice."""
    found: list[Line] = []
    problems: list[RefunderError] = []
    for item in items:
        if item.refund_quantity <= 0:
            continue
        left = item.quantity - item.refunded_quantity
        if item.refund_quantity > left:
            problems.append(QuantityExceedsOrdered(item=item.name, item_id=item.item_id, quantity=item.quantity,
                                                   refunded_quantity=item.refunded_quantity))
            continue
        net, tax = (share(to_minor(value, currency), item.quantity, item.refunded_quantity, item.refund_quantity)
                    for value in (item.total, item.total_tax))
        found.append(Line(item.item_id, item.name, item.refund_quantity, Money(net, currency), Money(tax, currency)))
    if not found and not problems:
        problems.append(NoItemsChosen())
    return found, problems


def quote(proposal: Proposal, *, balance: Balance, capabilities: Capabilities, provider_label: str,
          paid_at: datetime, now: datetime, policy: RefundPolicy) -> Quote:
    """What the proposed refund would be and every reason it cannot be, as the refund itself would check.

    `policy` is the provider's (its refund window, its limits); a bank transfer keeps only the balance rules.
    """
    currency = balance.captured.currency
    via = proposal.via or capabilities.default_via
    problems: list[RefunderError] = []
    if via == VIA_PROVIDER and capabilities.blocked is not None \
            and capabilities.blocked.code != REFUND_WINDOW_EXPIRED:  # the rules explain an expired window
        problems.append(ProviderCannotRefund(capabilities.blocked))
    through_provider = via == VIA_PROVIDER and capabilities.provider_refund
    found: list[Line] = []
    if proposal.refund == ITEMS:
        found, wrong = lines(proposal.items, currency)
        problems += wrong
        amount = sum((line.amount for line in found), Money.zero(currency))
        if through_provider and not capabilities.lines:
            problems.append(LineRefundNotSupported(provider=provider_label))
    elif proposal.refund == AMOUNT and proposal.amount is not None:
        amount = proposal.amount
    else:
        amount = balance.refundable
    if amount.currency == currency and amount.minor > 0 and amount < balance.refundable \
            and through_provider and not capabilities.partial:
        problems.append(PartialRefundNotSupported(provider=provider_label,
                                                  refundable=balance.refundable.as_object()))
    rules = refund_problems(balance=balance, amount=amount, paid_at=paid_at, now=now,
                            policy=policy if via == VIA_PROVIDER else RefundPolicy(), provider=provider_label)
    if amount.currency == currency and amount.minor <= 0 and balance.captured.minor > 0 \
            and balance.refundable.minor <= 0:  # nothing left: say so, not "more than zero"
        rules = [NothingRefundable(refunded=balance.refunded.as_object(), in_flight=balance.in_flight.as_object())
                 if isinstance(problem, AmountNotPositive) else problem for problem in rules]
    if proposal.refund == ITEMS and not found:
        rules = [problem for problem in rules if not isinstance(problem, AmountNotPositive)]  # said already
    remaining = balance.refundable - amount if amount.currency == currency else balance.refundable
    return Quote(via=via, amount=amount, lines=found, problems=problems + rules,
                 remaining=remaining if remaining.minor > 0 else Money.zero(currency))

