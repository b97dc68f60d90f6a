"""Credit notes on real WordPress + WooCommerce: refund a taxed order from the order screen; the customer's
refunded-order e-mail carries the numbered credit note as PDF (the bytes the sidecar stored), says how much,
through what and when; the customer's link works and an altered one does not; the journal lists it."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from refunder import signing
from tests.wp.conftest import SECRET, WordPress
from tests.wp.test_admin_http import login, nonce

SHOP = """
update_option('refunder_legal_name', 'Fjordsalong AS');
update_option('refunder_organisation_number', '923456789');
update_option('refunder_vat_registered', 'yes');
update_option('refunder_foretaksregisteret', 'yes');
update_option('woocommerce_store_address', 'Strandgata 12');
update_option('woocommerce_store_postcode', '5013');
update_option('woocommerce_store_city', 'Bergen');
update_option('woocommerce_calc_taxes', 'yes');
"""

# A haircut at 25 % VAT and a concert ticket at 12 %, paid (1 500,00 kr) at the sidecar's simulator.
ORDER = """
$rate = fn($percent, $name, $priority) => WC_Tax::_insert_tax_rate(array('tax_rate_country' => 'NO',
  'tax_rate' => $percent, 'tax_rate_name' => $name, 'tax_rate_priority' => $priority, 'tax_rate_compound' => 0,
  'tax_rate_shipping' => 1, 'tax_rate_order' => $priority, 'tax_rate_class' => ''));
$high = $rate('25.0000', 'MVA', 1); $low = $rate('12.0000', 'MVA lav sats', 2);
$order = wc_create_order();
foreach (array(array('Hårklipp, herre', '800.00', $high, '200.00'),
               array('Konsertbillett, jazzkveld', '446.428571', $low, '53.571429')) as $l) {
  $item = new WC_Order_Item_Product(); $item->set_name($l[0]); $item->set_quantity(1);
  $item->set_subtotal($l[1]); $item->set_total($l[1]);
  $item->set_taxes(array('total' => array($l[2] => $l[3]), 'subtotal' => array($l[2] => $l[3])));
  $order->add_item($item);
}
$order->set_billing_first_name('Ola'); $order->set_billing_last_name('Nordmann');
$order->set_billing_address_1('Storgata 1'); $order->set_billing_postcode('0155'); $order->set_billing_city('Oslo');
$order->set_billing_country('NO'); $order->set_billing_email('ola.nordmann@example.com');
$order->set_currency('NOK'); $order->set_payment_method('vipps'); $order->set_payment_method_title('Vipps');
$order->update_taxes(); $order->set_total('1500.00'); $order->set_date_paid(time());
$order->update_meta_data('_test_simulated_reference', 'wp-credit-note-0001');
$order->set_status('processing'); $order->save();
$ids = array_keys($order->get_items());
echo json_encode(array('order' => $order->get_id(), 'items' => $ids));
"""


@pytest.fixture(scope="module")
def real_woocommerce(wordpress: WordPress) -> WordPress:
    if wordpress.eval("echo WC()->version;").endswith("-double"):
        pytest.skip("WooCommerce's e-mails need a real WooCommerce (WC_SRC, or ../shared/wordpress)")
    wordpress.eval(SHOP)
    return wordpress


def sidecar(wp: WordPress, target: str) -> requests.Response:
    headers = signing.signed_headers(SECRET, "GET", target, b"", int(time.time()))
    return requests.get(wp.sidecar_url + target, headers=headers, timeout=30)


def mails(wp: WordPress) -> list[dict[str, Any]]:
    path = wp.directory / "mail.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "note.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(text.replace("\u00a0", " ").split())


def refund(wp: WordPress, admin: requests.Session, order_id: int, **fields: Any) -> dict[str, Any]:
    page_nonce = nonce(admin.get(wp.order_screen(order_id), timeout=30).text)
    ajax = f"{wp.url}/wp-admin/admin-ajax.php"
    base = {"order_id": order_id, "nonce": page_nonce}
    review = admin.post(ajax, data={"action": "refunder_review", **base, **fields}, timeout=30).json()
    assert review["success"], review
    done = admin.post(ajax, data={"action": "refunder_confirm", **base, "token": review["data"]["token"]},
                      timeout=60).json()
    assert done["success"] and done["data"]["status"] == "refunded", done
    return dict(done["data"])


def test_refunded_order_email_carries_the_credit_note(real_woocommerce: WordPress, tmp_path: Path) -> None:
    wp = real_woocommerce
    created = json.loads(wp.eval(ORDER))
    order_id, ticket = created["order"], created["items"][1]
    admin = login(wp, "admin")
    sent_before = len(mails(wp))

    done = refund(wp, admin, order_id, mode="items", **{f"qty[{ticket}]": "1"}, reason="Konserten er avlyst")
    notes = sidecar(wp, f"/v1/refunds/{done['id']}/credit-notes").json()["credit_notes"]
    assert [n["kind"] for n in notes] == ["credit_note"]
    number = notes[0]["number"]
    stored = sidecar(wp, f"/v1/refunds/{done['id']}/credit-note.pdf")

    email = [m for m in mails(wp)[sent_before:] if m["to"] == "ola.nordmann@example.com"]
    assert len(email) == 1, [m["subject"] for m in mails(wp)[sent_before:]]
    assert email[0]["attachment_digests"] == [
        {"name": f"credit-note-{number}.pdf", "sha256": hashlib.sha256(stored.content).hexdigest()}]
    message = html.unescape(re.sub(r"<[^>]+>", " ", email[0]["message"])).replace("\u00a0", " ")
    message = " ".join(message.split())
    assert "We have refunded 500,00 kr to you through Simulated card provider." in message
    assert "The money is on its way back to you." in message  # the simulator has no payout times of its own
    assert "Reason: Konserten er avlyst" in message
    assert f"Credit note no. {number} is attached to this e-mail." in message

    text = pdf_text(stored.content, tmp_path)
    for field in ("CREDIT NOTE", f"Number {number}", "Fjordsalong AS", "Strandgata 12", "5013 Bergen",
                  "Org. no. 923 456 789 MVA", "Foretaksregisteret", "Ola Nordmann", "Storgata 1", "0155 Oslo",
                  f"Order {order_id}", "Konsertbillett, jazzkveld 1 12 % 446.43 53.57 500.00",
                  "12 % MVA lav sats 446.43 53.57 500.00", "Total credited NOK 500.00", "Originally paid with Vipps",
                  "Reason Konserten er avlyst"):
        assert field in text, field

    # the customer's own link: the document for the genuine one, a plain page for an altered one
    link = html.unescape(re.search(r'href="([^"]*refunder-credit-note=[^"]+)"', email[0]["message"]).group(1))
    anonymous = requests.get(link, timeout=30)
    assert anonymous.status_code == 200 and anonymous.headers["Content-Type"] == "application/pdf"
    assert anonymous.content == stored.content
    altered = requests.get(link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB"), timeout=30)
    assert altered.status_code == 403 and b"%PDF" not in altered.content and "not valid" in altered.text

    # staff: the order's Refunder box links to the note; the journal lists it and exports it for Excel
    box = admin.get(wp.order_screen(order_id), timeout=30).text
    download = html.unescape(re.search(r'class="refunder-credit-note" href="([^"]+)"', box).group(1))
    assert admin.get(download, timeout=30).content == stored.content
    journal = admin.get(f"{wp.url}/wp-admin/admin.php?page=refunder-journal", timeout=30).text
    assert "Refund journal" in journal and "Ola Nordmann" in journal
    export = html.unescape(re.search(r'class="button refunder-journal-csv-nb" href="([^"]+)"', journal).group(1))
    rows = list(csv.DictReader(io.StringIO(admin.get(export, timeout=30).content.decode("utf-8-sig")),
                               delimiter=";"))
    mine = [r for r in rows if r["Nummer"] == str(number) and r["Ordre"] == str(order_id)]
    assert [(r["Ordre"], r["Brutto"], r["Netto 12 %"], r["Mva 12 %"], r["Årsak"]) for r in mine] == [
        (str(order_id), "500,00", "446,43", "53,57", "Konserten er avlyst")]
    assert wp.php_problems() == []


def test_an_internal_reason_stays_out_of_the_customers_email(real_woocommerce: WordPress) -> None:
    wp = real_woocommerce
    order_id = json.loads(wp.eval(ORDER.replace("wp-credit-note-0001", "wp-credit-note-0002")))["order"]
    admin = login(wp, "admin")
    sent_before = len(mails(wp))
    refund(wp, admin, order_id, mode="amount", amount="100", reason="Kunden var frekk i kassa", reason_internal="1")
    email = [m for m in mails(wp)[sent_before:] if m["to"] == "ola.nordmann@example.com"]
    assert len(email) == 1 and len(email[0]["attachment_digests"]) == 1
    assert "frekk" not in email[0]["message"] and "We have refunded 100,00" in email[0]["message"].replace(
        "\u00a0", " ")
    assert wp.php_problems() == []
