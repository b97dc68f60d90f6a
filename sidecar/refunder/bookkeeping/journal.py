"""The refund journal: every refund of a period, by date, with its document, and totals (pure)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..money import exponent
from .amounts import percent_text

KIND_WORDS = {
    "nb": {"credit_note": "Kreditnota", "cancellation": "Annullering", "refund": "Refusjon uten kreditnota"},
    "en": {"credit_note": "Credit note", "cancellation": "Cancellation", "refund": "Refund without credit note"},
}
STATUS_WORDS = {"nb": {"refunded": "tilbakebetalt", "failed": "feilet", "processing": "under behandling",
                       "pending": "venter", "unknown": "sjekkes"},
                "en": {"refunded": "refunded", "failed": "failed", "processing": "processing", "pending": "pending",
                       "unknown": "being checked"}}
HEADERS = {
    "nb": ["Dato", "Nummer", "Dokument", "Ordre", "Kunde", "Valuta", "Brutto", "Netto", "Mva", "Leverandør",
           "Referanse", "Saksbehandler", "Årsak", "Status"],
    "en": ["Date", "Number", "Document", "Order", "Customer", "Currency", "Gross", "Net", "VAT", "Provider",
           "Reference", "Staff", "Reason", "Status"],
}


@dataclass(frozen=True)
class Row:
    date: str  # ISO date in the shop's time zone
    number: int | None
    kind: str  # credit_note, cancellation, refund (no document)
    order: str  # the number customers see
    order_id: str  # WooCommerce's order id
    customer: str
    currency: str
    gross: int
    net: int | None
    vat: int | None
    by_rate: dict[str, tuple[int, int]]  # percent -> (net, vat)
    provider: str
    provider_label: str
    reference: str
    staff: str
    reason: str
    reason_internal: bool
    status: str
    refund_id: str
    note_id: str | None

    @property
    def counts(self) -> bool:
        """Whether the row is money paid back (or, a cancellation, taken back into the books)."""
        return self.kind != "refund" or self.status == "refunded"


@dataclass
class Totals:
    by_provider: dict[tuple[str, str], int] = field(default_factory=dict)  # (provider, currency) -> gross
    by_rate: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # (percent, currency) -> [net, vat]


def totals(rows: Iterable[Row]) -> Totals:
    result = Totals()
    for row in rows:
        if not row.counts:
            continue
        key = (row.provider, row.currency)
        result.by_provider[key] = result.by_provider.get(key, 0) + row.gross
        for percent, (net, vat) in row.by_rate.items():
            entry = result.by_rate.setdefault((percent, row.currency), [0, 0])
            entry[0] += net
            entry[1] += vat
    return result


def rates(rows: Iterable[Row]) -> list[str]:
    """The VAT rates that occur, highest first."""
    found = {percent for row in rows for percent in row.by_rate}
    return sorted(found, key=Decimal, reverse=True)


def decimal(minor: int | None, currency: str, lang: str) -> str:
    """Plain decimal for spreadsheets: "1250,00" (nb) or "1250.00" (en), no thousands separators."""
    if minor is None:
        return ""
    digits = exponent(currency)
    whole, frac = divmod(abs(minor), 10**digits)
    mark = "," if lang == "nb" else "."
    return f"{'-' if minor < 0 else ''}{whole}" + (f"{mark}{frac:0{digits}d}" if digits else "")


def to_csv(rows: list[Row], lang: str) -> str:
    """Norwegian: ';' and decimal comma, dates dd.mm.yyyy; English: ',' and decimal point, ISO dates.

    Both start with a UTF-8 byte order mark, so Excel reads æ, ø and å.
    """
    lang = "nb" if lang == "nb" else "en"
    per_rate = rates(rows)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if lang == "nb" else ",", lineterminator="\r\n")
    rate_words = ("Netto", "Mva") if lang == "nb" else ("Net", "VAT")
    mark = "," if lang == "nb" else "."
    head = HEADERS[lang]
    writer.writerow(head[:9] + [f"{w} {percent_text(p, mark)} %" for p in per_rate for w in rate_words] + head[9:])
    for row in rows:
        date = ".".join(reversed(row.date.split("-"))) if lang == "nb" else row.date
        reason = row.reason + ((" (intern)" if lang == "nb" else " (internal)") if row.reason_internal else "")
        money = [decimal(row.gross, row.currency, lang), decimal(row.net, row.currency, lang),
                 decimal(row.vat, row.currency, lang)]
        split: list[Any] = []
        for percent in per_rate:
            net, vat = row.by_rate.get(percent, (None, None))
            split += [decimal(net, row.currency, lang), decimal(vat, row.currency, lang)]
        writer.writerow([date, row.number or "", KIND_WORDS[lang][row.kind], row.order, row.customer, row.currency,
                         *money, *split, row.provider_label, row.reference, row.staff, reason,
                         STATUS_WORDS[lang].get(row.status, row.status)])
    return "\ufeff" + out.getvalue()
