"""Helpers for the tests of WooCommerce's books: signed sidecar calls, simulated orders, and what WooCommerce
recorded (refunds, refunded total, the customer's refund e-mails)."""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from refunder import signing
from tests.wp.conftest import SECRET, WordPress
from tests.wp.test_admin_http import nonce


def sidecar(wp: WordPress, method: str, target: str, body: Any = None, key: str | None = None) -> Any:
    """A signed call to the site's sidecar; returns the decoded answer (asserting a 2xx)."""
    data = b"" if body is None else json.dumps(body).encode()
    headers = signing.signed_headers(SECRET, method, target, data, int(time.time()), idempotency_key=key)
    answer = requests.request(method, wp.sidecar_url + target, data=data, headers=headers, timeout=60)
    assert answer.ok, answer.text
    return answer.json()


def simulated_order(wp: WordPress, reference: str, email: str, total: str = "1500.00") -> int:
    """A paid order whose payment the sidecar's simulator holds (reference), mailed to email."""
    return int(wp.eval(
        f"echo refunder_test_create_order(array('total' => '{total}', 'email' => '{email}', "
        f"'meta' => array('_test_simulated_reference' => '{reference}'), "
        f"'items' => array(array('Haircut', 1, '{total}'))));"))


def books(wp: WordPress, order_id: int) -> dict[str, Any]:
    """What WooCommerce recorded on the order, read in a fresh process: refunds, refunded total, status."""
    return dict(json.loads(wp.eval(
        f"$o = wc_get_order({order_id}); echo wp_json_encode(array("
        "'refunds' => array_map(fn($r) => array('id' => $r->get_id(), "
        "'amount' => wc_format_decimal($r->get_amount(), 2), "
        "'reason' => $r->get_reason(), 'refunder' => (string) $r->get_meta('_refunder_refund_id'), "
        "'provider_refund' => (string) $r->get_meta('_refunder_provider_refund_id')), $o->get_refunds()), "
        "'refunded' => wc_format_decimal($o->get_total_refunded(), 2), 'status' => $o->get_status()));")))


def notes(wp: WordPress, order_id: int) -> str:
    """The order's notes, newest first, one a line (non-breaking spaces as plain ones)."""
    return wp.eval(f"echo implode(\"\\n\", wp_list_pluck(wc_get_order_notes(array('order_id' => {order_id})), "
                   "'content'));").replace("\u00a0", " ")


def refund_mails(wp: WordPress, email: str) -> int:
    """The customer's refunded-order e-mails (full or partial) sent to email."""
    path = wp.directory / "mail.jsonl"
    sent = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return sum(1 for m in sent if m["to"] == email and "refunded" in m["subject"].lower())


def panel_nonce(wp: WordPress, session: requests.Session, order_id: int) -> str:
    return nonce(session.get(wp.order_screen(order_id), timeout=60).text)


def ajax(wp: WordPress, session: requests.Session, action: str, **fields: Any) -> dict[str, Any]:
    answer = session.post(f"{wp.url}/wp-admin/admin-ajax.php", data={"action": action, **fields}, timeout=120)
    return dict(answer.json())
