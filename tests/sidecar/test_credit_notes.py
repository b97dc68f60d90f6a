"""Credit notes: what the PDF says (pdftotext), stored once, cancelled by a new document, customer links, journal."""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import subprocess
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from refunder.bookkeeping import issue, render
from refunder.bookkeeping.models import CreditNote
from refunder.ledger.audit import SYSTEM
from refunder.money import Money
from refunder.outcomes import apply_result
from refunder.providers.base import ProviderResult
from refunder.providers.simulator import SimulatorProvider
from refunder.rules import RefundStatus
from tests.conftest import SignedClient
from tests.sidecar.helpers import ACTOR, ORDER, refund_body


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / f"{hashlib.sha256(data).hexdigest()[:8]}.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(text.replace("\u00a0", " ").split())


def pay(api: SignedClient, settings: Any, clock: Any, reference: str, *, document: dict[str, Any] | None = ORDER,
        order_id: str = "1042") -> str:
    SimulatorProvider(settings.section("simulator")["path"], clock).add_payment(
        reference, Money(200000, "NOK"), clock() - timedelta(days=2))
    body = {"provider": "simulator", "reference": reference, "order_id": order_id,
            "captured": {"value": 200000, "currency": "NOK"}, "paid_at": "2026-11-20T10:00:00+00:00",
            "actor": ACTOR, **({"document": document} if document is not None else {})}
    answer = api.post("/v1/payments", body)
    assert answer.status_code == 200, answer.json
    return str(answer.json["id"])


def refund(api: SignedClient, payment_id: str, key: str, value: int, **extra: Any) -> dict[str, Any]:
    answer = api.post(f"/v1/payments/{payment_id}/refunds", refund_body(value, **extra),
                      headers={"Idempotency-Key": key})
    assert answer.status_code == 201, answer.json
    return dict(answer.json)


def test_partial_refund_of_a_norwegian_order_carries_every_required_field(
        api: SignedClient, settings: Any, clock: Any, tmp_path: Path) -> None:
    payment_id = pay(api, settings, clock, "sim-cn-1")
    ticket = [{"item_id": "12", "name": "Konsertbillett, jazzkveld", "quantity": 1, "amount": 50000}]
    first = refund(api, payment_id, "cn-key-1", 50000, lines=ticket, reason="Konserten er avlyst")
    assert first["status"] == "refunded"
    answer = api.get(f"/v1/refunds/{first['id']}/credit-note.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.headers["X-Content-SHA256"] == hashlib.sha256(answer.data).hexdigest()
    text = pdf_text(answer.data, tmp_path)
    for field in (
        "KREDITNOTA", "Nummer 1", "Dato 22.11.2026",  # own number, date of issue (bokføringsforskriften § 5-1-1)
        "Fjordsalong AS", "Strandgata 12", "5013 Bergen", "Org.nr. 923 456 789 MVA", "Foretaksregisteret",  # seller
        "Ola Nordmann", "Storgata 1", "0155 Oslo",  # buyer
        "Ordre 1042", "Ordredato 20.11.2026", "Faktura/kvittering K-2026-0042",  # the original sale
        "Konsertbillett, jazzkveld 1 12 % 446,43 53,57 500,00",  # what is credited: quantity, rate, net, VAT, gross
        "12 % MVA lav sats 446,43 53,57 500,00", "Totalt kreditert NOK 500,00",  # VAT per rate, total
        "Tilbakebetalt via Simulated card provider", "Opprinnelig betalt med Vipps",  # how the money went back
        f"Transaksjonsreferanse {first['provider_reference']}", "Årsak Konserten er avlyst",
    ):
        assert field in text, field

    second = refund(api, payment_id, "cn-key-2", 60000, reason="Salongen stengte tidlig")
    text = pdf_text(api.get(f"/v1/refunds/{second['id']}/credit-note.pdf").data, tmp_path)
    for field in ("Nummer 2", "Forholdsmessig kreditering av ordre 1042 25 % 240,00 60,00 300,00",
                  "Forholdsmessig kreditering av ordre 1042 12 % 267,86 32,14 300,00",
                  "fordelt forholdsmessig på ordrens mva-satser", "25 % MVA 240,00 60,00 300,00",
                  "Sum eksklusiv mva 507,86", "Sum mva 92,14", "Totalt kreditert NOK 600,00"):
        assert field in text, field


def test_an_english_shop_gets_a_credit_note_in_english(api: SignedClient, settings: Any, clock: Any,
                                                       tmp_path: Path) -> None:
    payment_id = pay(api, settings, clock, "sim-cn-en", document={**ORDER, "language": "en_GB"})
    done = refund(api, payment_id, "cn-key-en", 200000)
    text = pdf_text(api.get(f"/v1/refunds/{done['id']}/credit-note.pdf").data, tmp_path)
    for field in ("CREDIT NOTE", "Number 1", "Date 2026-11-22", "Org. no. 923 456 789 MVA",
                  "Hårklipp, herre 1 25 % 800.00 200.00 1,000.00",
                  "Konsertbillett, jazzkveld 2 12 % 892.86 107.14 1,000.00",
                  "Total credited NOK 2,000.00", "Paid back through Simulated card provider"):
        assert field in text, field


def test_the_pdf_is_rendered_once_and_served_as_stored(api: SignedClient, settings: Any, clock: Any, app: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    payment_id = pay(api, settings, clock, "sim-cn-once")
    done = refund(api, payment_id, "cn-key-once", 10000)
    first = api.get(f"/v1/refunds/{done['id']}/credit-note.pdf")

    def never(*_: Any) -> bytes:
        raise AssertionError("rendered again")

    monkeypatch.setattr(render, "pdf", never)
    again = api.get(f"/v1/refunds/{done['id']}/credit-note.pdf")
    assert again.data == first.data and again.headers["X-Content-SHA256"] == first.headers["X-Content-SHA256"]
    listed = api.get(f"/v1/refunds/{done['id']}/credit-notes").json["credit_notes"]
    assert [(n["kind"], n["number"], n["sha256"]) for n in listed] == [
        ("credit_note", 1, hashlib.sha256(first.data).hexdigest())]


def test_a_refund_that_fails_after_being_refunded_gets_a_cancelling_document(
        api: SignedClient, settings: Any, clock: Any, app: Any, tmp_path: Path, caplog: Any) -> None:
    payment_id = pay(api, settings, clock, "sim-cn-bounce")
    done = refund(api, payment_id, "cn-key-bounce", 25000)
    original = api.get(f"/v1/refunds/{done['id']}/credit-note.pdf").data
    clock.advance(days=3)
    bounced = ProviderResult(RefundStatus.FAILED, failure_code="card_declined",
                             failure_params={"provider": "Simulator"}, confirmed=True)  # the provider's own record
    apply_result(app.extensions["refunder"], done["id"], bounced, SYSTEM)
    notes = api.get(f"/v1/refunds/{done['id']}/credit-notes").json["credit_notes"]
    assert [(n["kind"], n["number"], n["gross"]["value"]) for n in notes] == [
        ("credit_note", 1, 25000), ("cancellation", 2, -25000)]
    assert notes[1]["cancels_id"] == notes[0]["id"]
    assert api.get(f"/v1/refunds/{done['id']}/credit-note.pdf").data == original  # never edited
    text = pdf_text(api.get(f"/v1/credit-notes/{notes[1]['id']}.pdf").data, tmp_path)
    for field in ("ANNULLERING AV KREDITNOTA", "Nummer 2", "Dato 25.11.2026", "Kreditnota 1 (22.11.2026)",
                  "annullerer kreditnota nr. 1 av 22.11.2026", "Totalt annullert NOK −250,00"):
        assert field in text, field
    # The provider's record says refunded after all: the refund has its credit note already, so nothing is issued
    # (and nothing is tried and refused by the one-note-per-refund rule).
    apply_result(app.extensions["refunder"], done["id"], ProviderResult(RefundStatus.REFUNDED, confirmed=True), SYSTEM)
    assert api.get(f"/v1/refunds/{done['id']}").json["status"] == "refunded"
    again = api.get(f"/v1/refunds/{done['id']}/credit-notes").json["credit_notes"]
    assert [(n["kind"], n["number"]) for n in again] == [("credit_note", 1), ("cancellation", 2)]
    assert "no document issued" not in caplog.text


def test_an_internal_reason_stays_off_the_credit_note(api: SignedClient, settings: Any, clock: Any,
                                                      tmp_path: Path) -> None:
    payment_id = pay(api, settings, clock, "sim-cn-internal")
    done = refund(api, payment_id, "cn-key-internal", 10000, reason="Kunden var uhøflig", reason_internal=True)
    assert done["reason_internal"] is True
    text = pdf_text(api.get(f"/v1/refunds/{done['id']}/credit-note.pdf").data, tmp_path)
    assert "uhøflig" not in text and "Årsak" not in text
    rows = api.get("/v1/journal?from=2026-11-22&to=2026-11-22").json["rows"]
    assert [(r["reason"], r["reason_internal"]) for r in rows] == [("Kunden var uhøflig", True)]


def test_payments_without_the_orders_details_get_no_credit_note(api: SignedClient, settings: Any,
                                                                clock: Any) -> None:
    payment_id = pay(api, settings, clock, "sim-cn-none", document=None)
    done = refund(api, payment_id, "cn-key-none", 10000)
    assert api.get(f"/v1/refunds/{done['id']}/credit-notes").json["credit_notes"] == []
    missing = api.get(f"/v1/refunds/{done['id']}/credit-note.pdf")
    assert missing.status_code == 404 and missing.json["code"] == "credit_note_not_issued"
    rows = api.get("/v1/journal?from=2026-11-22&to=2026-11-22").json["rows"]
    assert [(r["kind"], r["number"], r["gross"]) for r in rows] == [("refund", None, 10000)]


def test_the_customers_link_works_until_it_expires_and_never_when_altered(
        api: SignedClient, settings: Any, clock: Any) -> None:
    payment_id = pay(api, settings, clock, "sim-cn-link")
    done = refund(api, payment_id, "cn-key-link", 10000)
    token = api.get(f"/v1/refunds/{done['id']}/credit-notes").json["credit_notes"][0]["customer_token"]
    good = api.get(f"/v1/customer-credit-note?token={token}")
    assert good.status_code == 200 and good.data.startswith(b"%PDF")
    altered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    bad = api.get(f"/v1/customer-credit-note?token={altered}")
    assert bad.status_code == 403 and bad.json["code"] == "link_invalid" and b"%PDF" not in bad.data
    clock.advance(days=91)
    expired = api.get(f"/v1/customer-credit-note?token={token}")
    assert expired.status_code == 410 and expired.json["code"] == "link_expired"


def test_the_journal_csv_opens_in_a_norwegian_spreadsheet(api: SignedClient, settings: Any, clock: Any) -> None:
    first = pay(api, settings, clock, "sim-cn-j1")
    refund(api, first, "cn-key-j1", 50000, lines=[{"item_id": "12", "name": "Konsertbillett, jazzkveld",
                                                    "quantity": 1, "amount": 50000}], reason="Avlyst; beklager")
    second = pay(api, settings, clock, "sim-cn-j2", order_id="1043",
                 document={**ORDER, "order": {**ORDER["order"], "number": "1043"}})
    refund(api, second, "cn-key-j2", 125050)
    answer = api.get("/v1/journal?from=2026-11-01&to=2026-11-30&format=csv&lang=nb")
    assert answer.mimetype == "text/csv" and answer.data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(answer.data.decode("utf-8-sig")), delimiter=";"))
    assert [(r["Nummer"], r["Dokument"], r["Ordre"], r["Brutto"], r["Dato"]) for r in rows] == [
        ("1", "Kreditnota", "1042", "500,00", "22.11.2026"), ("2", "Kreditnota", "1043", "1250,50", "22.11.2026")]
    assert rows[0]["Årsak"] == "Avlyst; beklager" and rows[0]["Status"] == "tilbakebetalt"

    def amount(text: str) -> Decimal:
        return Decimal(text.replace(",", ".")) if text else Decimal(0)

    for row in rows:  # net + VAT per rate add up to the gross, read with a decimal comma
        assert amount(row["Netto 25 %"]) + amount(row["Mva 25 %"]) + amount(row["Netto 12 %"]) + amount(
            row["Mva 12 %"]) == amount(row["Brutto"]) == amount(row["Netto"]) + amount(row["Mva"])
    assert sum(amount(r["Brutto"]) for r in rows) == Decimal("1750.50")

    english = api.get("/v1/journal?from=2026-11-01&to=2026-11-30&format=csv&lang=en").data.decode("utf-8-sig")
    rows_en = list(csv.DictReader(io.StringIO(english)))
    assert [(r["Number"], r["Gross"], r["Date"], r["Status"]) for r in rows_en] == [
        ("1", "500.00", "2026-11-22", "refunded"), ("2", "1250.50", "2026-11-22", "refunded")]

    totals = api.get("/v1/journal?from=2026-11-01&to=2026-11-30").json
    assert totals["by_provider"] == [{"provider": "simulator", "provider_label": "Simulated card provider",
                                      "currency": "NOK", "exponent": 2, "gross": 175050}]
    assert {(t["rate"], t["net"] + t["vat"]) for t in totals["by_rate"]} == {("25", 62525), ("12", 112525)}
    assert {t["exponent"] for t in totals["by_rate"]} == {r["exponent"] for r in totals["rows"]} == {2}


def test_an_unusual_snapshot_never_blocks_the_refund(api: SignedClient, settings: Any, clock: Any, db: Any) -> None:
    odd = copy.deepcopy(ORDER)
    odd["lines"] = [{"item_id": "1", "name": "Free gift", "total": "0", "taxes": {}},
                    {"item_id": "2", "name": "Discount", "kind": "fee", "total": "-50.00", "taxes": {"1": "-12.50"}}]
    payment_id = pay(api, settings, clock, "sim-cn-odd", document=odd)
    done = refund(api, payment_id, "cn-key-odd", 10000)
    assert done["status"] == "refunded"
    with db.transaction() as s:
        note = s.scalars(select(CreditNote).where(CreditNote.refund_id == done["id"])).one()
    assert note.number == 1 and note.gross_minor == 10000


@pytest.mark.parametrize("failing", ["content", "statement"])
def test_a_document_that_cannot_be_issued_leaves_the_refund_recorded_and_its_number_unused(
        api: SignedClient, settings: Any, clock: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any,
        failing: str) -> None:
    """Issuing fails after the series' number was taken: in Python while writing the note, or in the ledger (on
    PostgreSQL a failed statement aborts the whole transaction unless it is rolled back to before issuing)."""
    def fail_once(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.undo()
        if failing == "content":
            raise ValueError("a snapshot the credit note cannot show")
        s = args[0]
        s.connection().exec_driver_sql("SELECT no_such_column FROM credit_notes")

    monkeypatch.setattr(issue.document if failing == "content" else issue, "credit_note" if failing == "content"
                        else "_add", fail_once)
    payment_id = pay(api, settings, clock, f"sim-cn-fail-{failing}")
    first = refund(api, payment_id, f"cn-key-fail-{failing}-1", 10000)
    assert first["status"] == "refunded"
    assert api.get(f"/v1/refunds/{first['id']}").json["status"] == "refunded"
    assert api.get(f"/v1/refunds/{first['id']}/credit-notes").json["credit_notes"] == []
    assert "no document issued" in caplog.text
    second = refund(api, payment_id, f"cn-key-fail-{failing}-2", 5000)
    notes = api.get(f"/v1/refunds/{second['id']}/credit-notes").json["credit_notes"]
    assert [(n["kind"], n["number"]) for n in notes] == [("credit_note", 1)]  # the failed one's number, unused
