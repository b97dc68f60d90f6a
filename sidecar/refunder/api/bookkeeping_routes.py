"""Signed bookkeeping endpoints: credit notes of a refund, their PDFs, the customer's link, the journal."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from ..bookkeeping.journal import to_csv, totals
from ..bookkeeping.models import CreditNote
from ..bookkeeping.service import CreditNotes
from ..money import exponent
from . import bookkeeping_schemas as s
from .inputs import StrictParser
from .routes import SIGNED

bookkeeping = Blueprint("bookkeeping", __name__, url_prefix="/v1",
                        description="Credit notes (kreditnota) and the refund journal.")
bookkeeping.ARGUMENTS_PARSER = StrictParser()

PDF = {"200": {"description": "The stored PDF, always the same bytes (SHA-256 in X-Content-SHA256).",
               "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}


def notes() -> CreditNotes:
    return current_app.extensions["refunder_notes"]


def note_out(note: CreditNote) -> dict[str, Any]:
    return {"id": note.id, "kind": note.kind, "number": note.number, "series": note.series,
            "issued_at": note.issued_at, "gross": {"value": note.gross_minor, "currency": note.currency,
                                                    "exponent": exponent(note.currency)},
            "cancels_id": note.cancels_id, "sha256": note.pdf_sha256, "customer_token": notes().token(note)}


def pdf_response(note: CreditNote) -> Response:
    data, digest = notes().pdf(note)
    word = ("kreditnota" if note.kind == "credit_note" else "annullering") if note.content.get(
        "language") == "nb" else ("credit-note" if note.kind == "credit_note" else "cancellation")
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{word}-{note.number}.pdf"', "X-Content-SHA256": digest})


@bookkeeping.route("/refunds/<string:refund_id>/credit-notes")
class RefundCreditNotes(MethodView):
    @bookkeeping.doc(security=SIGNED)
    @bookkeeping.response(200, s.CreditNoteListSchema)
    def get(self, refund_id: str) -> dict[str, Any]:
        """Documents issued for a refund: its credit note, and the cancelling document if it failed later."""
        return {"credit_notes": [note_out(n) for n in notes().of_refund(refund_id)]}


@bookkeeping.route("/refunds/<string:refund_id>/credit-note.pdf")
class RefundCreditNotePdf(MethodView):
    @bookkeeping.doc(security=SIGNED, responses=PDF)
    def get(self, refund_id: str) -> Response:
        """The refund's credit note as PDF."""
        return pdf_response(notes().of_kind(refund_id, "credit_note"))


@bookkeeping.route("/credit-notes/<string:note_id>.pdf")
class CreditNotePdf(MethodView):
    @bookkeeping.doc(security=SIGNED, responses=PDF)
    def get(self, note_id: str) -> Response:
        """Any issued document as PDF (credit note or cancellation), e.g. from the journal."""
        return pdf_response(notes().get(note_id))


@bookkeeping.route("/customer-credit-note")
class CustomerCreditNote(MethodView):
    @bookkeeping.doc(security=SIGNED, responses=PDF)
    @bookkeeping.arguments(s.TokenQuerySchema, location="query")
    def get(self, query: dict[str, str]) -> Response:
        """The document a customer's link names, if the link is genuine and not expired (403 / 410 otherwise).

        WordPress serves the customer and relays the token; the sidecar, which made it, checks it.
        """
        return pdf_response(notes().by_token(query["token"]))


@bookkeeping.route("/journal")
class Journal(MethodView):
    @bookkeeping.doc(security=SIGNED, responses={"200": {"description": "Journal as JSON or CSV", "content": {
        "application/json": {"schema": s.JournalSchema}, "text/csv": {"schema": {"type": "string"}}}}})
    @bookkeeping.arguments(s.JournalQuerySchema, location="query")
    @bookkeeping.response(200, s.JournalSchema)
    def get(self, query: dict[str, Any]) -> Any:
        """Refunds of a period across providers, by date, with their documents; totals per provider and VAT rate.

        format=csv: Norwegian (lang=nb: ';', decimal comma, UTF-8 with BOM) or English (lang=en).
        """
        rows = notes().journal(query["start"], query["end"], query["timezone"])
        if query["format"] == "csv":
            word = "refusjonsjournal" if query["lang"] == "nb" else "refund-journal"
            name = f"{word}-{query['start']}-{query['end']}"
            return Response(to_csv(rows, query["lang"]).encode("utf-8"), mimetype="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
        sums = totals(rows)
        labels = notes().labels
        return {
            "rows": [{**row.__dict__, "exponent": exponent(row.currency),
                      "by_rate": {p: {"net": n, "vat": v} for p, (n, v) in row.by_rate.items()}} for row in rows],
            "by_provider": [{"provider": p, "provider_label": labels.get(p, p), "currency": c,
                             "exponent": exponent(c), "gross": g} for (p, c), g in sorted(sums.by_provider.items())],
            "by_rate": [{"rate": r, "currency": c, "exponent": exponent(c), "net": n, "vat": v, "gross": n + v}
                        for (r, c), (n, v) in sorted(sums.by_rate.items(), reverse=True)],
        }
