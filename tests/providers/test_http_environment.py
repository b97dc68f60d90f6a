"""Provider calls take proxies and the CA bundle from the environment as requests would, read once per session."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import responses

from refunder.providers import http
from refunder.providers.http import Transport
from refunder.providers.stripe_cards import StripeProvider, StripeSettings
from tests.providers.conftest import FAST, NOW, SECRETS, call
from tests.providers.test_stripe import refund_object

STRIPE = "https://api.stripe.com"
PROXY = "http://proxy.example:3128"


def stripe_refund(mocked: responses.RequestsMock) -> dict[str, Any]:
    """The keyword arguments the Stripe refund call was sent with (proxies, verify, timeout)."""
    mocked.add(responses.POST, f"{STRIPE}/v1/refunds", json=refund_object())
    provider = StripeProvider(StripeSettings(api_key=SECRETS[4]), lambda: NOW, policy=FAST, sleep=lambda s: None)
    provider.refund(call("pi_1", 2500))
    return mocked.calls[-1].request.req_kwargs  # type: ignore[attr-defined,no-any-return]


def test_a_proxy_from_the_environment_carries_provider_calls(mocked: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", PROXY)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    sent = stripe_refund(mocked)
    assert sent["proxies"].get("https") == PROXY
    assert sent["verify"] != "/etc/ssl/certs/ca-certificates.crt"  # Stripe's own bundle, as stripe-python sends it


def test_no_proxy_exempts_the_provider(mocked: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", PROXY)
    monkeypatch.setenv("NO_PROXY", "api.stripe.com")
    assert not stripe_refund(mocked)["proxies"].get("https")


def test_a_ca_bundle_from_the_environment_verifies_provider_calls(mocked: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    mocked.add(responses.GET, "https://api.mollie.com/v2/ping", json={})
    Transport("https://api.mollie.com/v2", "Mollie", policy=FAST).send("GET", "/ping", headers={})
    assert mocked.calls[-1].request.req_kwargs["verify"] == "/etc/ssl/certs/ca-certificates.crt"  # type: ignore[attr-defined]


def test_the_environment_is_read_once_per_session_not_on_every_call(mocked: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    mocked.add(responses.POST, f"{STRIPE}/v1/refunds", json=refund_object())
    mocked.add(responses.GET, "https://api.mollie.com/v2/ping", json={})
    stripe = StripeProvider(StripeSettings(api_key=SECRETS[4]), lambda: NOW, policy=FAST, sleep=lambda s: None)
    mollie = Transport("https://api.mollie.com/v2", "Mollie", policy=FAST)
    stripe.refund(call("pi_1", 2500))
    mollie.send("GET", "/ping", headers={})

    def read(*_: Any, **__: Any) -> dict[str, str]:
        raise AssertionError("the environment was read again")

    monkeypatch.setattr(requests.sessions, "get_environ_proxies", read)
    monkeypatch.setattr(requests.sessions, "get_netrc_auth", read)
    monkeypatch.setattr(http.requests.utils, "get_environ_proxies", read)
    assert stripe.refund(call("pi_1", 2500)).provider_reference == "re_1"
    assert mollie.send("GET", "/ping", headers={}).status_code == 200
