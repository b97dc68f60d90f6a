"""What a credit note says, worked out from the order snapshot and the refund (pure: no I/O, no clock).

Amounts are minor units. Refunded items are credited from their own net and tax as WooCommerce stored them;
a refund of an amount is split over the order's VAT rates pro rata to what was paid at each rate (and within
a rate into net and VAT the same way), so every part adds up exactly to what was paid back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .amounts import allocate, to_minor

NO_TAX = "0"  # the rate key of lines without tax


@dataclass(frozen=True)
class RefundFacts:
    """The refund as the document needs it."""

    id: str
    amount: int
    currency: str
    lines: Sequence[Mapping[str, Any]]  # refunded items: item_id, name, quantity, amount (tax included)
    reason: str | None  # None when staff kept it internal
    created_at: str
    provider: str
    provider_reference: str | None
    bank_reference: str | None


@dataclass(frozen=True)
class _Line:
    item_id: str
    name: str
    quantity: int
    rate: str  # where the line's net belongs
    net: int
    taxes: dict[str, int]

    @property
    def gross(self) -> int:
        return self.net + sum(self.taxes.values())


def language(locale: str | None) -> str:
    """nb for Norwegian shops (nb_NO, nn_NO, no), en otherwise."""
    return "nb" if (locale or "").split("_")[0].lower() in ("nb", "nn", "no") else "en"


def series_of(snapshot: Mapping[str, Any]) -> str:
    """One gapless series per seller: its organisation number (digits only), or "default"."""
    digits = "".join(ch for ch in str(snapshot.get("seller", {}).get("organisation_number") or "") if ch.isdigit())
    return digits or "default"


def credit_note(snapshot: Mapping[str, Any], refund: RefundFacts, *, number: int, series: str,
                issued_at: str) -> dict[str, Any]:
    """Everything the credit note shows, frozen when it is issued."""
    currency = refund.currency
    rates = {key: {"percent": str(rate.get("percent", "0")), "label": str(rate.get("label", ""))}
             for key, rate in (snapshot.get("tax_rates") or {}).items()}
    rates.setdefault(NO_TAX, {"percent": "0", "label": ""})
    order_lines = [_order_line(line, currency) for line in snapshot.get("lines") or []]
    lines, pro_rata = _credited(order_lines, refund)
    vat: dict[str, dict[str, int]] = {}
    for line in lines:
        for rate, (net, tax) in line.pop("_parts").items():
            entry = vat.setdefault(rate, {"net": 0, "vat": 0})
            entry["net"] += net
            entry["vat"] += tax
    totals = {"net": sum(v["net"] for v in vat.values()), "vat": sum(v["vat"] for v in vat.values())}
    totals["gross"] = totals["net"] + totals["vat"]
    if totals["gross"] != refund.amount:  # the parts are allocated from the amount, so this is a bug
        raise AssertionError(f"credit note parts add up to {totals['gross']}, not {refund.amount}")
    return {
        "kind": "credit_note", "number": number, "series": series, "issued_at": issued_at,
        "language": language(snapshot.get("language")), "currency": currency,
        "seller": dict(snapshot.get("seller") or {}), "buyer": dict(snapshot.get("buyer") or {}),
        "order": dict(snapshot.get("order") or {}),
        "refund": {"id": refund.id, "date": refund.created_at, "provider": refund.provider,
                   "provider_reference": refund.provider_reference, "bank_reference": refund.bank_reference,
                   "reason": refund.reason},
        "lines": lines, "pro_rata": pro_rata,
        "vat": [{"rate": rate, **rates.get(rate, {"percent": "0", "label": ""}), **amounts,
                 "gross": amounts["net"] + amounts["vat"]}
                for rate, amounts in sorted(vat.items(), key=lambda kv: _percent_key(rates, kv[0]), reverse=True)],
        "totals": totals,
        "order_lines": [{"name": line.name, "quantity": line.quantity, "gross": line.gross} for line in order_lines],
        "cancels": None,
    }


def cancellation(original: Mapping[str, Any], *, number: int, original_id: str, issued_at: str) -> dict[str, Any]:
    """The document that cancels a credit note whose refund failed after all: its amounts reversed."""
    def negate(row: Mapping[str, Any]) -> dict[str, Any]:
        return {k: -v if k in ("net", "vat", "gross") and isinstance(v, int) else v for k, v in row.items()}

    return {
        **original, "kind": "cancellation", "number": number, "issued_at": issued_at,
        "lines": [negate(line) for line in original["lines"]], "vat": [negate(row) for row in original["vat"]],
        "totals": negate(original["totals"]),
        "cancels": {"id": original_id, "number": original["number"], "issued_at": original["issued_at"]},
    }


def _order_line(line: Mapping[str, Any], currency: str) -> _Line:
    taxes = {str(rate): to_minor(str(amount), currency) for rate, amount in (line.get("taxes") or {}).items()}
    taxes = {rate: amount for rate, amount in taxes.items() if amount}
    main = max(taxes, key=lambda r: abs(taxes[r])) if taxes else NO_TAX
    return _Line(item_id=str(line.get("item_id", "")), name=str(line.get("name", "")),
                 quantity=int(line.get("quantity") or 1), rate=main,
                 net=to_minor(str(line.get("total", "0")), currency), taxes=taxes)


def _credited(order: list[_Line], refund: RefundFacts) -> tuple[list[dict[str, Any]], bool]:
    """The credited lines, each with its parts per rate (net, vat) in "_parts"; and whether split pro rata."""
    by_id = {line.item_id: line for line in order}
    if refund.lines:
        lines = []
        for item in refund.lines:
            known = by_id.get(str(item["item_id"]))
            amount = int(item["amount"])
            parts = _split_line(known, amount) if known is not None else _split_pro_rata(order, amount)
            lines.append(_row(str(item["name"]), int(item["quantity"]), parts, pro_rata=known is None))
        return lines, any(line["pro_rata"] for line in lines)
    if order and refund.amount == sum(line.gross for line in order):  # everything: each line in full
        return [_row(line.name, line.quantity, _own_parts(line)) for line in order], False
    return [_row(None, None, {rate: parts}, pro_rata=True)
            for rate, parts in _split_pro_rata(order, refund.amount).items()], True


def _row(name: str | None, quantity: int | None, parts: dict[str, tuple[int, int]], *,
         pro_rata: bool = False) -> dict[str, Any]:
    net, vat = sum(p[0] for p in parts.values()), sum(p[1] for p in parts.values())
    main = max(parts, key=lambda r: parts[r][0] + parts[r][1]) if parts else NO_TAX
    return {"description": name, "quantity": quantity, "rate": main, "net": net, "vat": vat, "gross": net + vat,
            "pro_rata": pro_rata, "_parts": parts}


def _own_parts(line: _Line) -> dict[str, tuple[int, int]]:
    parts: dict[str, tuple[int, int]] = {line.rate: (line.net, 0)}
    for rate, tax in line.taxes.items():
        net, vat = parts.get(rate, (0, 0))
        parts[rate] = (net, vat + tax)
    return parts


def _split_line(line: _Line, amount: int) -> dict[str, tuple[int, int]]:
    """A refunded item's amount over its own net and taxes, pro rata to what WooCommerce stored."""
    rates = list(line.taxes)
    try:
        shares = allocate(amount, [line.net, *(line.taxes[r] for r in rates)])
    except ValueError:  # a free item: all net
        return {line.rate: (amount, 0)}
    parts: dict[str, tuple[int, int]] = {line.rate: (shares[0], 0)}
    for rate, tax in zip(rates, shares[1:], strict=True):
        net, vat = parts.get(rate, (0, 0))
        parts[rate] = (net, vat + tax)
    return parts


def _split_pro_rata(order: list[_Line], amount: int) -> dict[str, tuple[int, int]]:
    """An amount over the order's rates by what was paid at each, then within each rate into net and VAT."""
    nets: dict[str, int] = {}
    taxes: dict[str, int] = {}
    for line in order:
        nets[line.rate] = nets.get(line.rate, 0) + line.net
        for rate, tax in line.taxes.items():
            taxes[rate] = taxes.get(rate, 0) + tax
    rates = sorted(set(nets) | set(taxes))
    gross = [nets.get(r, 0) + taxes.get(r, 0) for r in rates]
    if sum(max(g, 0) for g in gross) == 0:
        return {NO_TAX: (amount, 0)}
    parts = {}
    for rate, share in zip(rates, allocate(amount, gross), strict=True):
        if share:
            net, vat = allocate(share, [nets.get(rate, 0), taxes.get(rate, 0)])
            parts[rate] = (net, vat)
    return parts


def _percent_key(rates: Mapping[str, Mapping[str, str]], rate: str) -> tuple[int, ...]:
    whole, _, frac = rates.get(rate, {}).get("percent", "0").partition(".")
    return (int(whole or 0), int((frac + "0000")[:4] or 0))
