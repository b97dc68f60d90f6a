"""A document's PDF: its frozen content through an HTML/CSS template (Jinja2), laid out by WeasyPrint."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..money import exponent
from .amounts import percent_text

TEMPLATES = Path(__file__).with_name("templates")

TEXTS: dict[str, dict[str, str]] = {
    "nb": {
        "credit_note": "Kreditnota", "cancellation": "Annullering av kreditnota", "number": "Nummer",
        "date": "Dato", "order": "Ordre", "order_date": "Ordredato", "invoice": "Faktura/kvittering",
        "customer": "Kunde", "seller": "Selger", "org": "Org.nr.", "register": "Foretaksregisteret",
        "description": "Beskrivelse", "quantity": "Antall", "rate": "Mva-sats", "net": "Netto",
        "vat": "Mva", "gross": "Brutto", "vat_summary": "Merverdiavgift per sats", "basis": "Grunnlag",
        "total_net": "Sum eksklusiv mva", "total_vat": "Sum mva", "total": "Totalt kreditert",
        "total_cancelled": "Totalt annullert", "refund": "Tilbakebetaling", "refund_date": "Registrert",
        "paid_back_by": "Tilbakebetalt via", "refund_via": "Refusjon via", "payment_method": "Opprinnelig betalt med",
        "provider_reference": "Transaksjonsreferanse", "bank_reference": "Overføringsreferanse",
        "reason": "Årsak", "refund_id": "Refusjons-ID",
        "intro": "Kreditnota for ordre {order} av {date}. Beløpet er betalt tilbake til kunden.",
        "intro_cancellation": ("Dette dokumentet annullerer kreditnota nr. {number} av {date}. Tilbakebetalingen "
                               "ble avvist etter at kreditnotaen ble utstedt, så beløpet er ikke betalt tilbake. "
                               "Beløpene nedenfor reverserer kreditnotaen."),
        "pro_rata_line": "Forholdsmessig kreditering av ordre {order}",
        "pro_rata_note": ("Beløpet er fordelt forholdsmessig på ordrens mva-satser etter hva som ble betalt "
                          "med hver sats."),
        "original": "Opprinnelig salg", "page": "Side", "of": "av", "currency": "Beløp i",
        "issued_by": "Dokumentet er utstedt elektronisk og er gyldig uten signatur.",
    },
    "en": {
        "credit_note": "Credit note", "cancellation": "Cancellation of credit note", "number": "Number",
        "date": "Date", "order": "Order", "order_date": "Order date", "invoice": "Invoice/receipt",
        "customer": "Customer", "seller": "Seller", "org": "Org. no.", "register": "Foretaksregisteret",
        "description": "Description", "quantity": "Qty", "rate": "VAT rate", "net": "Net",
        "vat": "VAT", "gross": "Gross", "vat_summary": "VAT by rate", "basis": "Basis",
        "total_net": "Total excluding VAT", "total_vat": "Total VAT", "total": "Total credited",
        "total_cancelled": "Total cancelled", "refund": "Refund", "refund_date": "Recorded",
        "paid_back_by": "Paid back through", "refund_via": "Refund through", "payment_method": "Originally paid with",
        "provider_reference": "Transaction reference", "bank_reference": "Transfer reference",
        "reason": "Reason", "refund_id": "Refund ID",
        "intro": "Credit note for order {order} of {date}. The amount has been paid back to the customer.",
        "intro_cancellation": ("This document cancels credit note no. {number} of {date}. The refund was "
                               "declined after the credit note was issued, so the amount was not paid back. "
                               "The amounts below reverse the credit note."),
        "pro_rata_line": "Pro rata credit of order {order}",
        "pro_rata_note": "The amount is split over the order's VAT rates in proportion to what was paid at each.",
        "original": "Original sale", "page": "Page", "of": "of", "currency": "Amounts in",
        "issued_by": "This document was issued electronically and is valid without a signature.",
    },
}

_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)


def amount_text(minor: int, currency: str, lang: str) -> str:
    """1250000 NOK -> "12 500,00" (nb, with no-break spaces) or "12,500.00" (en)."""
    digits = exponent(currency)
    whole, frac = divmod(abs(minor), 10**digits)
    group = "\u00a0" if lang == "nb" else ","
    grouped = f"{whole:,}".replace(",", group)
    decimals = (("," if lang == "nb" else ".") + f"{frac:0{digits}d}") if digits else ""
    return f"{'−' if minor < 0 else ''}{grouped}{decimals}"


def date_text(iso: str | None, lang: str, zone: str) -> str:
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(_zone(zone))
    return moment.strftime("%d.%m.%Y" if lang == "nb" else "%Y-%m-%d")


def org_number_text(number: str | None) -> str:
    digits = "".join(ch for ch in str(number or "") if ch.isdigit())
    return " ".join(digits[i:i + 3] for i in range(0, len(digits), 3)) if len(digits) == 9 else str(number or "")


def html(content: Mapping[str, Any], provider_label: str) -> str:
    lang = content["language"] if content["language"] in TEXTS else "en"
    t = TEXTS[lang]
    zone = str(content.get("order", {}).get("timezone") or "Europe/Oslo")
    currency = content["currency"]
    cancels = content.get("cancels")
    order_number = content["order"].get("number", "")
    return _env.get_template("credit_note.html").render(
        c=content, t=t, lang=lang, provider_label=provider_label,
        money=lambda minor: amount_text(int(minor), currency, lang),
        date=lambda iso: date_text(iso, lang, zone),
        percent=lambda p: percent_text(str(p), "," if lang == "nb" else ".") + " %",
        org=org_number_text,
        title=t["cancellation"] if cancels else t["credit_note"],
        intro=(t["intro_cancellation"].format(number=cancels["number"],
                                               date=date_text(cancels["issued_at"], lang, zone))
               if cancels else t["intro"].format(order=order_number,
                                                 date=date_text(content["order"].get("date"), lang, zone))),
        pro_rata_line=t["pro_rata_line"].format(order=order_number),
    )


def pdf(content: Mapping[str, Any], provider_label: str) -> bytes:
    from weasyprint import HTML  # imported when a document is rendered: it loads Pango

    return bytes(HTML(string=html(content, provider_label), base_url=str(TEMPLATES)).write_pdf())


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
