"""Refunder's books beside the real gateway plugins (../shared/wordpress), each switched on for its test:

- Vipps MobilePay 6.0.5: an order set to Refunded or Cancelled while a Refunder refund is processing, or while
  its WooCommerce record has failed, sends no refund to Vipps (its handlers would pay "total − WooCommerce's
  refunded total" again); a Refunder refund of the whole captured amount lets Vipps release the uncaptured
  reservation, and refunds nothing.
- WooCommerce Stripe Gateway 8.8.0: its signed webhooks posted to /?wc-api=wc_stripe as Stripe sends them; one
  WooCommerce refund per Stripe refund whichever comes first, and its failed-refund handler deletes only the
  refund of the Stripe refund that failed.

The refunds themselves go through the sidecar's simulator (the order names it with _test_simulated_reference):
the simulator's refund id stands for the provider's (Stripe's re_…), as the plugins never see the money move.
Outbound HTTP is logged; a "provider call" is any request the site made to the provider's host.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.wp.books import books, notes, sidecar
from tests.wp.conftest import WordPress

PRELUDE = r"""
function t_service_refund($refund_id) {  // the service's answer about one refund
  return Refunder_Client::configured()->call('GET', '/v1/refunds/' . $refund_id);
}
function t_refund_at_service($order_id, $minor) {  // a refund made at the sidecar that WordPress has not heard of
  $client = Refunder_Client::configured();
  $payment = Refunder_Payments::summary(wc_get_order($order_id), $client);
  return $client->call('POST', '/v1/payments/' . $payment['id'] . '/refunds', array('amount' => array('value' => $minor,
    'currency' => 'NOK'), 'reason' => 'Cancelled', 'actor' => array('id' => '1', 'name' => 'admin')),
    array('Idempotency-Key' => wp_generate_uuid4()));
}
"""


def php(wp: WordPress, code: str) -> Any:
    """Run PHP (with the prelude) in a new WordPress process; its output as JSON."""
    return json.loads(wp.eval(PRELUDE + code))


def provider_calls(wp: WordPress, since: int, host: str) -> list[tuple[str, str]]:
    return [(c["method"], urlsplit(c["url"]).path) for c in wp.outbound()[since:]
            if urlsplit(c["url"]).hostname == host]


# --- Vipps ------------------------------------------------------------------------------------------------

VIPPS = "https://api.vipps.no/"
VIPPS_SETUP = """
update_option('woocommerce_vipps_settings', array('enabled' => 'yes', 'merchantSerialNumber' => '123456',
  'clientId' => 'cid', 'secret' => 'sec', 'Ocp_Apim_Key_eCommerce' => 'sub', 'country' => 'NO',
  'payment_method_name' => 'Vipps', 'orderprefix' => 'Woo', 'result_status' => 'processing'));
update_option('woo-vipps-configured', 1);
echo '1';
"""
VIPPS_ORDER = """
$id = refunder_test_create_order(array('total' => '%(total)s', 'payment_method' => 'vipps',
  'payment_method_title' => 'Vipps', 'email' => '%(email)s',
  'meta' => array('_test_simulated_reference' => '%(reference)s'),
  'items' => array(array('Booking', 1, '%(total)s'))));
$o = wc_get_order($id); $ref = 'Woo' . $id;
foreach (array('_vipps_api' => 'epayment', '_vipps_prefix' => 'Woo', '_vipps_orderid' => $ref,
  '_vipps_status' => 'AUTHORIZED', '_vipps_amount' => %(authorized)d, '_vipps_currency' => 'NOK',
  '_vipps_captured' => %(captured)d, '_vipps_capture_remaining' => %(authorized)d - %(captured)d,
  '_vipps_refund_remaining' => %(captured)d, '_vipps_refunded' => 0) as $k => $v) {
  $o->update_meta_data($k, $v);  // as the Vipps plugin writes them (VippsApi, WC_Gateway_Vipps)
}
$o->set_transaction_id($ref); $o->save();
echo json_encode($id);
"""


def vipps_payment(authorized: int, captured: int) -> str:
    """Vipps' answer to GET epayment/v1/payments/{reference}."""
    money = lambda v: {"currency": "NOK", "value": v}  # noqa: E731
    return json.dumps({"reference": "Woo", "state": "AUTHORIZED", "amount": money(authorized),
                       "aggregate": {"authorizedAmount": money(authorized), "capturedAmount": money(captured),
                                     "refundedAmount": money(0), "cancelledAmount": money(0)},
                       "paymentMethod": {"type": "WALLET"}, "pspReference": "psp-1"})


@pytest.fixture
def vipps(wordpress: WordPress) -> Any:
    with wordpress.plugin("woo-vipps"):
        php(wordpress, VIPPS_SETUP)
        wordpress.answer_http(VIPPS + "accessToken/get", 200, json.dumps({
            "access_token": "tok", "token_type": "Bearer", "expires_in": 86400,
            "expires_on": int(time.time()) + 86400}))
        wordpress.answer_http(VIPPS + "epayment/v1/payments/", 200, vipps_payment(10050, 10050))
        yield wordpress
        wordpress.eval(  # configured (its keys are cached a day), it calls Vipps on every admin page
            "delete_option('woocommerce_vipps_settings'); delete_option('woo-vipps-configured'); "
            "delete_option('_woo_vipps_webhooks'); delete_transient('_vipps_keyset'); "
            "delete_transient('_vipps_app_token_123456'); delete_option('refunder_test_http_answers');")


def vipps_order(wp: WordPress, reference: str, total: str = "100.50", authorized: int = 10050,
                captured: int = 10050) -> int:
    return int(php(wp, VIPPS_ORDER % {"total": total, "reference": reference, "authorized": authorized,
                                      "captured": captured, "email": f"{reference}@example.com"}))


@pytest.mark.parametrize("status", ["refunded", "cancelled"])
@pytest.mark.parametrize("state", ["processing", "record failed"])
def test_vipps_never_pays_again_while_refunders_money_is_not_in_the_books(vipps: WordPress, status: str,
                                                                          state: str) -> None:
    wp = vipps
    n = {("refunded", "processing"): 0, ("cancelled", "processing"): 1, ("refunded", "record failed"): 2,
         ("cancelled", "record failed"): 3}[(status, state)]
    reference = f"wp-books-{20 + n:04d}" + ("-async" if state == "processing" else "")
    order_id = vipps_order(wp, reference)
    refund = php(wp, f"""
      $refund = t_refund_at_service({order_id}, 3000);
      if ('{state}' === 'record failed') {{  // the WooCommerce record fails (injected), and is not due again yet
        add_action('woocommerce_create_refund', function ($r, $a) {{
          if (!empty($a['refunder_refund_id'])) throw new Exception('Injected'); }}, 20, 2);
      }}
      echo json_encode(Refunder_Books::remember({order_id}, $refund));""")
    assert (refund["status"], refund["record_state"]) == (
        ("processing", "none") if state == "processing" else ("refunded", "failed"))
    before = len(wp.outbound())

    php(wp, f"echo json_encode(wc_get_order({order_id})->update_status('{status}', 'Staff', true));")

    calls = provider_calls(wp, before, "api.vipps.no")
    assert [c for c in calls if c[0] == "POST" and c[1].endswith("/refund")] == []
    recorded = books(wp, order_id)
    assert recorded["refunds"] == []
    assert "Refunder stopped WooCommerce from refunding 100,50" in notes(wp, order_id)
    assert wp.php_problems() == []


def test_a_full_refunder_refund_lets_vipps_release_the_reservation_and_refunds_nothing(vipps: WordPress) -> None:
    """Authorized 150,00, captured 100,50 (the order): Refunder refunds 100,50; the order becomes Refunded, Vipps
    cancels the uncaptured 49,50 (wanted: the customer's reservation is released) and refunds nothing."""
    wp = vipps
    wp.answer_http(VIPPS + "epayment/v1/payments/", 200, vipps_payment(15000, 10050))
    order_id = vipps_order(wp, "wp-books-0024", authorized=15000, captured=10050)
    before = len(wp.outbound())
    entry = remember_at_service(wp, order_id, 10050)
    assert (entry["status"], entry["record_state"]) == ("refunded", "recorded")
    posts = [c for c in provider_calls(wp, before, "api.vipps.no") if c[0] == "POST" and "/payments/" in c[1]]
    assert posts == [("POST", f"/epayment/v1/payments/Woo{order_id}/cancel")]
    assert books(wp, order_id)["status"] == "refunded" and len(books(wp, order_id)["refunds"]) == 1
    wp.eval("$a = get_option('refunder_test_http_answers'); unset($a['" + VIPPS + "epayment/v1/payments/']);"
            " update_option('refunder_test_http_answers', $a);")
    assert wp.php_problems() == []


# --- Stripe -----------------------------------------------------------------------------------------------

WEBHOOK_SECRET = "whsec_refunder_test"
STRIPE = "https://api.stripe.com/v1/"
STRIPE_SETUP = f"""
update_option('woocommerce_stripe_settings', array('enabled' => 'yes', 'testmode' => 'no', 'secret_key' => 'sk_live_x',
  'publishable_key' => 'pk_live_x', 'webhook_secret' => '{WEBHOOK_SECRET}', 'capture' => 'yes',
  'upe_checkout_experience_enabled' => 'yes', 'upe_checkout_experience_accepted_payments' => array('card')));
echo '1';
"""
STRIPE_ORDER = """
$id = refunder_test_create_order(array('total' => '100.50', 'payment_method' => 'stripe',
  'email' => 'stripe-%(reference)s@example.com', 'meta' => array('_test_simulated_reference' => '%(reference)s'),
  'items' => array(array('Booking', 1, '100.50'))));
$o = wc_get_order($id); $o->set_status('pending'); $o->save();
$gw = WC()->payment_gateways()->payment_gateways()['stripe'];
$gw->set_payment_method_title_for_order(wc_get_order($id), 'card');  // the plugin's own code paths, no network
if (class_exists('WC_Stripe_Order_Helper')) {  // Stripe 10 moved it there (WC_Stripe_Helper's is gone)
  WC_Stripe_Order_Helper::get_instance()->add_payment_intent_to_order('pi_' . $id, wc_get_order($id));
} else {
  WC_Stripe_Helper::add_payment_intent_to_order('pi_' . $id, wc_get_order($id));
}
$gw->process_response((object) array('id' => 'ch_' . $id, 'object' => 'charge', 'captured' => true,
  'status' => 'succeeded', 'amount' => 10050, 'currency' => 'nok', 'livemode' => true, 'payment_intent' => 'pi_' . $id),
  wc_get_order($id));
echo json_encode($id);
"""


@pytest.fixture
def stripe(wordpress: WordPress) -> Any:
    with wordpress.plugin("woocommerce-gateway-stripe"):
        php(wordpress, STRIPE_SETUP)
        yield wordpress
        wordpress.eval("delete_option('woocommerce_stripe_settings');")


def stripe_order(wp: WordPress, reference: str) -> int:
    order_id = int(php(wp, STRIPE_ORDER % {"reference": reference}))
    assert wp.eval(f"echo wc_get_order({order_id})->get_meta('_stripe_charge_captured');") == "yes"
    return order_id


def stripe_webhook(wp: WordPress, kind: str, obj: dict[str, Any]) -> None:
    """A webhook as Stripe sends it, signed with the endpoint's secret."""
    body = json.dumps({"id": f"evt_{time.time_ns()}", "object": "event", "type": kind, "created": int(time.time()),
                       "livemode": True, "api_version": "2024-06-20", "data": {"object": obj}})
    stamp = str(int(time.time()))
    signature = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
    answer = requests.post(f"{wp.url}/?wc-api=wc_stripe", data=body, timeout=60, headers={
        "Content-Type": "application/json", "Stripe-Signature": f"t={stamp},v1={signature}"})
    assert answer.status_code == 200, answer.text[:500]


def charge_refunded(wp: WordPress, order_id: int, refunds: list[tuple[str, int]]) -> None:
    """Stripe's charge.refunded as the plugin's webhook endpoint gets it (API version 2024-06-20): the event's charge
    lists no refunds, so the plugin fetches the charge with them expanded, the newest first, and books that one."""
    refunded = sum(amount for _, amount in refunds)
    charge = {"id": f"ch_{order_id}", "object": "charge", "amount": 10050, "amount_refunded": refunded,
              "currency": "nok", "captured": True, "refunded": refunded >= 10050}
    listed = [{"id": refund_id, "object": "refund", "amount": amount, "charge": f"ch_{order_id}", "currency": "nok",
               "status": "succeeded", "balance_transaction": None} for refund_id, amount in refunds]
    wp.answer_http(f"{STRIPE}charges/ch_{order_id}", 200, json.dumps({**charge, "refunds": {
        "object": "list", "data": listed, "has_more": False, "url": f"/v1/charges/ch_{order_id}/refunds"}}))
    stripe_webhook(wp, "charge.refunded", charge)


def refund_updated(order_id: int, refund_id: str, amount: int, status: str) -> dict[str, Any]:
    return {"id": refund_id, "object": "refund", "amount": amount, "charge": f"ch_{order_id}", "currency": "nok",
            "status": status, "failure_reason": "expired_or_canceled_card", "balance_transaction": None}


def remember_at_service(wp: WordPress, order_id: int, minor: int) -> dict[str, Any]:
    return dict(php(wp, f"echo json_encode(Refunder_Books::remember({order_id}, "
                        f"t_refund_at_service({order_id}, {minor})));"))


def test_stripe_refunder_first_then_its_webhook(stripe: WordPress) -> None:
    wp = stripe
    order_id = stripe_order(wp, "wp-books-0025")
    first = remember_at_service(wp, order_id, 3000)
    second = remember_at_service(wp, order_id, 2000)
    assert wp.eval(f"echo wc_get_order({order_id})->get_meta('_stripe_refund_id');") == second["provider_reference"]
    at_stripe = [(second["provider_reference"], 2000), (first["provider_reference"], 3000)]  # the newest first
    charge_refunded(wp, order_id, at_stripe)
    charge_refunded(wp, order_id, at_stripe)  # the first refund's event, late: the plugin reads the newest again
    recorded = books(wp, order_id)
    assert sorted((r["amount"], r["refunder"]) for r in recorded["refunds"]) == [
        ("20.00", second["id"]), ("30.00", first["id"])]
    assert recorded["refunded"] == "50.00"
    assert wp.php_problems() == []


def test_stripe_webhook_first_then_refunder(stripe: WordPress) -> None:
    """Stripe's charge.refunded arrives before WordPress has heard of the refund: its record becomes Refunder's."""
    wp = stripe
    order_id = stripe_order(wp, "wp-books-0026")
    refund = php(wp, f"echo json_encode(t_refund_at_service({order_id}, 3000));")
    charge_refunded(wp, order_id, [(refund["provider_reference"], 3000)])
    wp.eval("Refunder_Follow_Up::run();")  # WordPress hears of it now
    recorded = books(wp, order_id)
    assert [(r["amount"], r["refunder"], r["reason"]) for r in recorded["refunds"]] == [
        ("30.00", refund["id"], "Refunded via Stripe Dashboard")]
    assert wp.eval(f"echo Refunder_Store::get('{refund['id']}')['record_state'];") == "recorded"
    kinds = [r["kind"] for r in sidecar(wp, "GET", f"/v1/refunds?order_id={order_id}")["refunds"]]
    assert kinds == ["requested"]  # not reported as WooCommerce's own: counted once
    assert wp.php_problems() == []


def test_a_refund_made_in_stripe_counts_at_the_service(stripe: WordPress) -> None:
    wp = stripe
    order_id = stripe_order(wp, "wp-books-0027")
    wp.eval(f"Refunder_Payments::summary(wc_get_order({order_id}), Refunder_Client::configured());")
    charge_refunded(wp, order_id, [("re_dashboard1", 4000)])
    assert [(r["amount"], r["provider_refund"]) for r in books(wp, order_id)["refunds"]] == [("40.00", "re_dashboard1")]
    [external] = sidecar(wp, "GET", f"/v1/refunds?order_id={order_id}")["refunds"]
    assert (external["kind"], external["provider_reference"], external["amount"]["value"]) == (
        "woocommerce", "re_dashboard1", 4000)
    assert wp.php_problems() == []


@pytest.mark.parametrize("language", ["en", "nb"])
def test_a_refund_via_stripe_counts_at_the_service_with_its_stripe_id(stripe: WordPress, language: str) -> None:
    """Staff's "Refund via Stripe": the plugin's note of it gives its id, in the language the plugin wrote it in. The
    order's _stripe_refund_id is not saved by then, so it still names the refund before."""
    wp = stripe
    order_id = stripe_order(wp, "wp-books-0013" if language == "en" else "wp-books-0014")
    wp.answer_http(f"{STRIPE}payment_intents/pi_{order_id}", 200, json.dumps({
        "id": f"pi_{order_id}", "object": "payment_intent", "status": "succeeded", "latest_charge": f"ch_{order_id}"}))
    wp.answer_http(f"{STRIPE}refunds", 200, json.dumps({
        "id": f"re_staff{order_id}", "object": "refund", "amount": 2000, "currency": "nok", "charge": f"ch_{order_id}",
        "status": "pending", "balance_transaction": None}))
    if language == "nb":  # as a Norwegian language pack of the Stripe plugin would word it
        wp.eval("update_option('refunder_test_translations', array('woocommerce-gateway-stripe' => array("
                "'Refunded %1$s - Refund ID: %2$s - Reason: %3$s'"
                " => 'Refundert %1$s – refusjons-ID: %2$s – grunn: %3$s')));")
    try:
        made = php(wp, f"""
          Refunder_Payments::summary(wc_get_order({order_id}), Refunder_Client::configured());
          $o = wc_get_order({order_id}); $o->update_meta_data('_stripe_refund_id', 're_before'); $o->save();
          $r = wc_create_refund(array('order_id' => {order_id}, 'amount' => '20.00', 'reason' => 'Via Stripe',
            'refund_payment' => true));
          echo json_encode(is_wp_error($r) ? $r->get_error_message() : $r->get_id());""")
    finally:
        wp.eval("delete_option('refunder_test_translations');")
    assert isinstance(made, int), made
    assert (f"refusjons-ID: re_staff{order_id}" in notes(wp, order_id)) == (language == "nb")
    [reported] = sidecar(wp, "GET", f"/v1/refunds?order_id={order_id}")["refunds"]
    assert (reported["kind"], reported["via"], reported["provider_reference"], reported["amount"]["value"]) == (
        "woocommerce", "provider", f"re_staff{order_id}", 2000)
    assert wp.php_problems() == []


def test_stripe_deletes_only_the_refund_of_the_stripe_refund_that_failed(stripe: WordPress) -> None:
    wp = stripe
    order_id = stripe_order(wp, "wp-books-0028")
    ours = remember_at_service(wp, order_id, 3000)
    time.sleep(1.1)  # the staff's refund is the order's newest, the one the Stripe plugin deletes
    wp.eval(f"wc_create_refund(array('order_id' => {order_id}, 'amount' => '10.00', 'reason' => 'Staff, by hand'));")
    stripe_webhook(wp, "charge.refund.updated", refund_updated(order_id, ours["provider_reference"], 3000, "failed"))
    recorded = books(wp, order_id)
    assert sorted(r["amount"] for r in recorded["refunds"]) == ["10.00", "30.00"]  # the staff refund stays
    assert "Refunder kept WooCommerce refund" in notes(wp, order_id)
    assert "is about another refund" in notes(wp, order_id)
    assert wp.php_problems() == []


# --- Mollie -----------------------------------------------------------------------------------------------

MOLLIE = "https://api.mollie.com/v2/"
MOLLIE_SETUP = """
update_option('mollie-payments-for-woocommerce_live_api_key', 'live_' . str_repeat('a', 30));
update_option('mollie-payments-for-woocommerce_test_mode_enabled', 'no');
update_option('mollie-payments-for-woocommerce_api_switch', 'payment');
update_option('mollie_wc_gateway_creditcard_settings', array('enabled' => 'yes', 'title' => 'Card'));
update_option('mollie_wc_gateway_voucher_settings', array('enabled' => 'no',
  'mealvoucher_category_default' => 'no_category'));
echo '1';
"""
MOLLIE_METHODS = json.dumps({"count": 1, "_links": {}, "_embedded": {"methods": [{
    "resource": "method", "id": "creditcard", "description": "Card", "status": "activated", "_links": {},
    "minimumAmount": {"value": "0.01", "currency": "NOK"}, "maximumAmount": None,
    "image": {"size1x": "https://x/1.png", "size2x": "https://x/2.png", "svg": "https://x/c.svg"}}]}})


@pytest.fixture
def mollie(wordpress: WordPress) -> Any:
    wordpress.answer_http(MOLLIE + "methods", 200, MOLLIE_METHODS)  # without its methods it registers no gateway
    php(wordpress, MOLLIE_SETUP)
    with wordpress.plugin("mollie-payments-for-woocommerce"):
        yield wordpress
    wordpress.eval("delete_option('mollie-payments-for-woocommerce_live_api_key'); "
                   "delete_option('refunder_test_http_answers');")


def test_refunder_never_records_on_a_mollie_authorization_so_mollie_voids_nothing(mollie: WordPress) -> None:
    """A later-capture card payment that is only authorized: the Mollie plugin voids the whole authorization on
    any WooCommerce refund (woocommerce_order_refunded). Refunder's record waits, with the reason."""
    wp = mollie
    order_id = int(php(wp, """
      $id = refunder_test_create_order(array('total' => '100.50', 'payment_method' => 'mollie_wc_gateway_creditcard',
        'meta' => array('_test_simulated_reference' => 'wp-books-0019', '_mollie_payment_id' => 'tr_auth1',
          '_mollie_order_id' => 'tr_auth1', '_mollie_payment_status' => 'authorized'),
        'items' => array(array('Booking', 1, '100.50'))));
      echo json_encode($id);"""))
    before = len(wp.outbound())
    entry = remember_at_service(wp, order_id, 3000)
    assert [c for c in provider_calls(wp, before, "api.mollie.com") if c[0] == "DELETE"] == []
    assert (entry["status"], entry["record_state"]) == ("refunded", "failed")
    assert "only authorized" in entry["last_error"]
    assert books(wp, order_id)["refunds"] == []
    assert wp.php_problems() == []


def mollie_payment(order_id: int, payment_id: str, refunded: str) -> str:
    """Mollie's answer to GET /v2/payments/{id}: a paid Payments API card payment of 100,50 NOK."""
    money = lambda v: {"value": v, "currency": "NOK"}  # noqa: E731
    return json.dumps({
        "resource": "payment", "id": payment_id, "mode": "live", "status": "paid", "method": "creditcard",
        "amount": money("100.50"), "amountRefunded": money(refunded), "amountCaptured": money("100.50"),
        "amountRemaining": money(f"{100.50 - float(refunded):.2f}"), "description": f"Order {order_id}",
        "metadata": {"order_id": str(order_id)}, "createdAt": "2026-11-29T10:00:00+00:00",
        "paidAt": "2026-11-29T10:00:05+00:00", "profileId": "pfl_refunder", "sequenceType": "oneoff",
        "redirectUrl": "https://shop.example/return", "webhookUrl": "https://shop.example/webhook",
        "_links": {"self": {"href": MOLLIE + f"payments/{payment_id}", "type": "application/hal+json"},
                   "refunds": {"href": MOLLIE + f"payments/{payment_id}/refunds", "type": "application/hal+json"}}})


def mollie_refunds(payment_id: str, refunds: list[tuple[str, str]]) -> str:
    """Mollie's answer to GET /v2/payments/{id}/refunds."""
    listed = [{"resource": "refund", "id": refund_id, "amount": {"value": value, "currency": "NOK"},
               "status": "refunded", "paymentId": payment_id, "description": "",
               "createdAt": "2026-11-29T11:00:00+00:00",
               "_links": {"self": {"href": MOLLIE + f"payments/{payment_id}/refunds/{refund_id}"}}}
              for refund_id, value in refunds]
    return json.dumps({"count": len(listed), "_embedded": {"refunds": listed},
                       "_links": {"self": {"href": MOLLIE + f"payments/{payment_id}/refunds"}, "previous": None,
                                  "next": None}})


def mollie_order(wp: WordPress, payment_id: str, reference: str) -> int:
    """A paid order of 100,50 NOK through Mollie's Payments API, whose payment the sidecar's simulator holds."""
    return int(php(wp, f"""
      $id = refunder_test_create_order(array('total' => '100.50', 'payment_method' => 'mollie_wc_gateway_creditcard',
        'transaction_id' => '{payment_id}', 'email' => 'mollie-webhook@example.com',
        'meta' => array('_test_simulated_reference' => '{reference}', '_mollie_payment_id' => '{payment_id}',
          '_mollie_order_id' => '{payment_id}', '_mollie_payment_mode' => 'live', '_mollie_paid_and_processed' => '1'),
        'items' => array(array('Booking', 1, '100.50'))));
      echo json_encode($id);"""))


def forget_mollie_answers(wp: WordPress, payment_id: str) -> None:
    wp.eval("$a = get_option('refunder_test_http_answers'); unset($a['" + MOLLIE + f"payments/{payment_id}/refunds'],"
            " $a['" + MOLLIE + f"payments/{payment_id}']); update_option('refunder_test_http_answers', $a);")


@pytest.mark.parametrize("webhook", ["wc-api", "rest"])
def test_mollie_shows_the_payment_refunded_and_woocommerce_books_only_what_refunder_has_not(mollie: WordPress,
                                                                                           webhook: str) -> None:
    """Refunder refunded 30,00 (WordPress has not heard yet) and 70,50 was refunded in Mollie's dashboard. The
    Mollie webhook sees the payment fully refunded and sets the order to Refunded, whereupon WooCommerce books the
    rest as "Order fully refunded.": Refunder's 30,00 is recorded first, so that rest is 70,50, not 100,50, and
    the service counts 100,50 in all, once, the 70,50 as Mollie's money (no bank transfer). The webhook comes by
    ?wc-api=, or since Mollie 8.0.6 by its REST route."""
    wp = mollie
    routes = "rest_get_server()->get_routes()"
    if webhook == "rest" and wp.eval(f"echo isset({routes}['/mollie/v1/webhook']) ? 1 : 0;") != "1":
        pytest.skip("this Mollie plugin has no REST webhook (/mollie/v1/webhook: Mollie 8.0.6 and later)")
    payment_id, reference = ("tr_paid1", "wp-books-0015") if webhook == "wc-api" else ("tr_paid2", "wp-books-0016")
    order_id = mollie_order(wp, payment_id, reference)
    ours = php(wp, f"echo json_encode(t_refund_at_service({order_id}, 3000));")
    assert ours["status"] == "refunded" and books(wp, order_id)["refunds"] == []
    wp.answer_http(MOLLIE + f"payments/{payment_id}/refunds", 200, mollie_refunds(
        payment_id, [(ours["provider_reference"], "30.00"), ("re_dashboard2", "70.50")]))
    wp.answer_http(MOLLIE + f"payments/{payment_id}", 200, mollie_payment(order_id, payment_id, "100.50"))
    key = wp.eval(f"echo wc_get_order({order_id})->get_order_key();")
    before = len(wp.outbound())

    url = (f"{wp.url}/?wc-api=mollie_wc_gateway_creditcard&order_id={order_id}&key={key}" if webhook == "wc-api"
           else f"{wp.url}/?rest_route=/mollie/v1/webhook")
    answer = requests.post(url, data={"id": payment_id}, timeout=60)

    assert answer.status_code < 300, answer.text[:500]
    recorded = books(wp, order_id)
    assert recorded["status"] == "refunded" and recorded["refunded"] == "100.50"
    assert sorted((r["amount"], r["refunder"]) for r in recorded["refunds"]) == [
        ("30.00", ours["id"]), ("70.50", "")]
    assert "New refund re_dashboard2 processed in Mollie Dashboard" in notes(wp, order_id)
    at_service = sidecar(wp, "GET", f"/v1/refunds?order_id={order_id}")["refunds"]
    assert sorted((r["kind"], r["status"], r["via"], r["amount"]["value"]) for r in at_service) == [
        ("requested", "refunded", "provider", 3000), ("woocommerce", "refunded", "provider", 7050)]
    assert sidecar(wp, "GET", f"/v1/payments/{ours['payment_id']}")["refunded"]["value"] == 10050
    assert [c for c in provider_calls(wp, before, "api.mollie.com") if c[0] != "GET"] == []  # nothing moved money
    forget_mollie_answers(wp, payment_id)
    assert wp.php_problems() == []


@pytest.mark.parametrize("outcome", ["refunded", "failed"])
def test_mollie_shows_the_payment_refunded_while_refunders_refund_is_in_flight(mollie: WordPress,
                                                                              outcome: str) -> None:
    """Refunder is refunding 30,00 through Mollie (pending) when 70,50 is refunded in Mollie's dashboard and the
    Mollie webhook sets the order to Refunded. WooCommerce's "Order fully refunded." of 100,50 is held back then
    (it would count Refunder's 30,00 twice). Once Refunder's refund is refunded and recorded, the rest, 70,50, is
    booked as Mollie's, so WooCommerce and the service both show 100,50 once. If Refunder's refund fails instead
    (the service's answer, given here), Mollie's payment is not fully refunded after all: nothing is booked."""
    wp = mollie
    payment_id = f"tr_flight{outcome}"
    order_id = mollie_order(wp, payment_id, f"wp-books-{30 if outcome == 'refunded' else 31:04d}-async")
    ours = php(wp, f"echo json_encode(Refunder_Books::remember({order_id}, t_refund_at_service({order_id}, 3000)));")
    assert ours["status"] == "processing", ours
    wp.answer_http(MOLLIE + f"payments/{payment_id}/refunds", 200, mollie_refunds(
        payment_id, [("re_refunder", "30.00"), ("re_dashboard3", "70.50")]))
    wp.answer_http(MOLLIE + f"payments/{payment_id}", 200, mollie_payment(order_id, payment_id, "100.50"))
    key = wp.eval(f"echo wc_get_order({order_id})->get_order_key();")
    before = len(wp.outbound())

    answer = requests.post(f"{wp.url}/?wc-api=mollie_wc_gateway_creditcard&order_id={order_id}&key={key}",
                           data={"id": payment_id}, timeout=60)

    assert answer.status_code < 300, answer.text[:500]
    held = books(wp, order_id)
    assert (held["status"], held["refunds"]) == ("refunded", [])
    assert "Mollie shows the payment refunded, but WooCommerce did not record 100,50" in notes(wp, order_id)

    if outcome == "refunded":
        time.sleep(2.2)  # the simulator settles an -async refund 2 s after it was made, when read back
        assert sidecar(wp, "POST", f"/v1/refunds/{ours['id']}/refresh")["status"] == "refunded"
        php(wp, "echo json_encode(Refunder_Follow_Up::run());")  # the follow-up, as Action Scheduler runs it
    else:
        php(wp, f"echo json_encode(Refunder_Books::remember({order_id}, array_merge(t_service_refund('{ours['id']}'),"
                " array('status' => 'failed'))));")

    recorded = books(wp, order_id)
    at_service = sidecar(wp, "GET", f"/v1/refunds?order_id={order_id}")["refunds"]
    if outcome == "refunded":
        assert recorded["refunded"] == "100.50"
        assert sorted((r["amount"], r["refunder"]) for r in recorded["refunds"]) == [
            ("30.00", ours["id"]), ("70.50", "")]
        assert "Refunder recorded the rest the payment provider refunded, 70,50" in notes(wp, order_id)
        assert sorted((r["kind"], r["status"], r["via"], r["amount"]["value"]) for r in at_service) == [
            ("requested", "refunded", "provider", 3000), ("woocommerce", "refunded", "provider", 7050)]
        payment = wp.eval(f"echo wc_get_order({order_id})->get_meta('_refunder_payment_id');")
        assert sidecar(wp, "GET", f"/v1/payments/{payment}")["refunded"]["value"] == 10050
        php(wp, "echo json_encode(Refunder_Follow_Up::run());")  # settling again books nothing more
        assert len(books(wp, order_id)["refunds"]) == 2
    else:
        assert recorded["refunds"] == []
        assert "the refund of 30,00 kr through the payment provider failed" in notes(wp, order_id)  # the simulator
        assert [r["kind"] for r in at_service] == ["requested"]
    assert wp.eval(f"echo json_encode(wc_get_order({order_id})->get_meta('_refunder_held_rest'));") == '""'
    assert [c for c in provider_calls(wp, before, "api.mollie.com") if c[0] != "GET"] == []  # nothing moved money
    forget_mollie_answers(wp, payment_id)
    assert wp.php_problems() == []


def test_a_refund_via_vipps_counts_at_the_service(vipps: WordPress) -> None:
    """Staff's "Refund via Vipps" in WooCommerce: Vipps gives no refund id; the service counts it (a gateway moved
    money) and Refunder offers only what is left."""
    wp = vipps
    order_id = vipps_order(wp, "wp-books-0018")
    made = php(wp, f"""
      Refunder_Payments::summary(wc_get_order({order_id}), Refunder_Client::configured());
      $r = wc_create_refund(array('order_id' => {order_id}, 'amount' => '20.00', 'reason' => 'Via Vipps',
        'refund_payment' => true));
      echo json_encode(is_wp_error($r) ? $r->get_error_message() : $r->get_id());""")
    assert isinstance(made, int), made
    [reported] = sidecar(wp, "GET", f"/v1/refunds?order_id={order_id}")["refunds"]
    assert (reported["kind"], reported["via"], reported["wc_refund_id"], reported["amount"]["value"]) == (
        "woocommerce", "provider", str(made), 2000)
    payment = wp.eval(f"echo wc_get_order({order_id})->get_meta('_refunder_payment_id');")
    assert sidecar(wp, "GET", f"/v1/payments/{payment}")["refunded"]["value"] == 2000
    assert wp.eval(f"echo Refunder_Books::woocommerce_left(wc_get_order({order_id}), 2);") == "8050"  # offered at most
    assert wp.php_problems() == []
