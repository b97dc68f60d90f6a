"""What can be done with a payment now: refund through its provider or not (and why), partly, by lines,
and by bank transfer. Pure: the service gathers the facts, the plugin shows the answer.

A refund paid back by bank transfer is always possible: staff have sent the money, and the books must say
so. It is recorded against the same payment's balance, so provider refunds and bank transfers together
never exceed what was captured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .detection import (
    MODE_UNKNOWN,
    NO_PROVIDER,
    PROVIDER_NOT_ENABLED,
    PROVIDER_REFUSED_PERMANENTLY,
    REFUND_WINDOW_EXPIRED,
    Block,
    Mode,
)
from .messages import reason

VIA_PROVIDER = "provider"
VIA_BANK_TRANSFER = "bank_transfer"


@dataclass(frozen=True)
class ProviderTraits:
    """What the service knows about a payment's provider; None when it is not enabled in this sidecar."""

    label: str
    sends_money: bool
    modes: bool
    partial: bool
    lines: bool


@dataclass(frozen=True)
class LastFailure:
    """The newest refund sent through the provider, if it failed for a reason that will not go away."""

    code: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Capabilities:
    provider_refund: bool
    blocked: Block | None  # why the provider cannot refund it (None when it can)
    partial: bool
    lines: bool
    bank_transfer: bool  # always: see the module docstring
    default_via: str  # what a refund without `via` does
    needs_bank_reference: bool  # the default way needs the transfer's reference


def capabilities(*, provider_name: str, provider: ProviderTraits | None, payment_block: Block | None, mode: Mode,
                 deadline: datetime | None, now: datetime, permanent_failure: LastFailure | None) -> Capabilities:
    blocked = _blocked(provider_name, provider, payment_block, mode, deadline, now, permanent_failure)
    through_provider = blocked is None
    bank_default = provider is None or not provider.sends_money
    return Capabilities(
        provider_refund=through_provider, blocked=blocked,
        partial=provider.partial if provider and through_provider else True,
        lines=provider.lines if provider and through_provider else True,
        bank_transfer=True, default_via=VIA_BANK_TRANSFER if bank_default else VIA_PROVIDER,
        needs_bank_reference=bank_default)


def _blocked(provider_name: str, provider: ProviderTraits | None, payment_block: Block | None, mode: Mode,
             deadline: datetime | None, now: datetime, permanent_failure: LastFailure | None) -> Block | None:
    if payment_block is not None:
        return payment_block
    if provider is None:
        return Block(PROVIDER_NOT_ENABLED, {"provider": provider_name})
    if not provider.sends_money:
        return Block(NO_PROVIDER, {"gateway": provider.label})
    if provider.modes and mode is Mode.UNKNOWN:
        return Block(MODE_UNKNOWN, {"provider": provider.label})
    if deadline is not None and now > deadline:
        return Block(REFUND_WINDOW_EXPIRED, {"provider": provider.label, "deadline": deadline.isoformat()})
    if permanent_failure is not None:
        return Block(PROVIDER_REFUSED_PERMANENTLY, {
            "provider": provider.label, "failure_code": permanent_failure.code,
            "failure": reason(permanent_failure.code, permanent_failure.params)})
    return None
