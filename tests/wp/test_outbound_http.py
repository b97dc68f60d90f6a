"""The test site sends nothing out but to the sidecar: everything else is logged and blocked, or canned."""

from __future__ import annotations

import json

import pytest

from tests.wp.conftest import WordPress

pytestmark = pytest.mark.any_storage

CALL = """$r = wp_remote_post(%s, array('body' => array('amount' => '100')));
echo is_wp_error($r) ? $r->get_error_code()
  : wp_remote_retrieve_response_code($r) . ' ' . wp_remote_retrieve_body($r);"""


def test_outbound_requests_are_logged_blocked_or_answered(wordpress: WordPress) -> None:
    url = "https://api.vipps.no/epayment/v1/payments/x/refund"
    assert wordpress.eval(CALL % json.dumps(url)) == "refunder_test_offline"
    wordpress.answer_http("https://api.vipps.no/", 200, '{"ok":true}')
    assert wordpress.eval(CALL % json.dumps(url)) == '200 {"ok":true}'
    assert "method_not_allowed" in wordpress.eval(CALL % json.dumps(wordpress.sidecar_url + "/health"))  # it got there
    assert [(r["method"], r["body"], r["answer"]) for r in wordpress.outbound_to("api.vipps.no")][-2:] == [
        ("POST", {"amount": "100"}, "blocked"), ("POST", {"amount": "100"}, "canned")]
    assert wordpress.outbound()[-1] == {"url": wordpress.sidecar_url + "/health", "method": "POST",
                                        "body": {"amount": "100"}, "answer": "sent"}
    wordpress.eval("delete_option('refunder_test_http_answers');")
