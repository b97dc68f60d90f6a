"""Vipps MobilePay settings, access tokens, and the client every Vipps call goes through."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from .. import __version__
from ..detection import Mode, OrderFacts
from . import budget
from .base import PROVIDER_AUTH_FAILED, ProviderError, ProviderUnreachable
from .http import SIGN_IN_UNANSWERED, NotAsked, Transport

BASE_URLS = {"test": "https://apitest.vipps.no", "production": "https://api.vipps.no"}
LABEL = "Vipps MobilePay"
# Gateway ids of "Pay with Vipps and MobilePay for WooCommerce" 6.0.5 that take one-off payments:
# payment/WC_Gateway_Vipps.class.php:39 (vipps; also Express, Checkout and MobilePay) and
# payment/WC_Gateway_VippsCard.class.php:41 (vipps_card: cards through ePayment, VippsApi.class.php:584-587).
GATEWAYS = ("vipps", "vipps_card")


@dataclass(frozen=True)
class VippsSettings:
    """One merchant sales unit; [vipps] for production, [vipps_test] for the test environment."""

    client_id: str
    client_secret: str = field(repr=False)
    subscription_key: str = field(repr=False)
    msn: str
    environment: str = "test"  # set from the section (production or test), not by the user
    base_url: str = ""  # overrides environment (tests, proxies)
    webhook_secret: str = field(default="", repr=False)

    @property
    def url(self) -> str:
        return self.base_url or BASE_URLS[self.environment]


def for_mode(settings: VippsSettings, mode: Mode | None) -> VippsSettings:
    return replace(settings, environment="production" if mode is Mode.LIVE else "test")


def vipps_reference(facts: OrderFacts) -> str:
    """The Vipps order id the plugin created the payment with (VippsApi.class.php:564-566: also the transaction id)."""
    return facts.get("_vipps_orderid") or facts.transaction_id


class AccessTokens:
    """POST /accesstoken/get, cached per process until shortly before it expires; inside the caller's time budget,
    waiting for another thread's sign-in included."""

    def __init__(self, settings: VippsSettings, transport: Transport, clock: Callable[[], datetime]) -> None:
        self.settings, self.transport, self.clock = settings, transport, clock
        self._token: tuple[str, datetime] | None = None
        self._lock = threading.Lock()

    def get(self) -> str:
        if not self._lock.acquire(timeout=budget.lock_wait()):
            raise NotAsked(SIGN_IN_UNANSWERED, provider=LABEL, provider_code="token_unreachable",
                           what="waiting for another sign-in")
        try:
            if self._token is None or self.clock() >= self._token[1]:
                self._token = self._fetch()
            return self._token[0]
        finally:
            self._lock.release()

    def forget(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> tuple[str, datetime]:
        s = self.settings
        try:
            response = self.transport.send("POST", "/accesstoken/get", headers={
                "client_id": s.client_id, "client_secret": s.client_secret,
                "Ocp-Apim-Subscription-Key": s.subscription_key, "Merchant-Serial-Number": s.msn,
                **system_headers(),
            })
        except ProviderUnreachable:  # no money moves on a token call: say so
            raise NotAsked(SIGN_IN_UNANSWERED, provider=LABEL, provider_code="token_unreachable",
                           what="sign-in") from None
        if response.status_code != 200:  # client id, client secret, subscription key or merchant serial number
            raise ProviderError(PROVIDER_AUTH_FAILED, provider=LABEL, provider_code=str(response.status_code))
        body = response.json()
        lifetime = int(body["expires_in"])  # Vipps sends numbers as strings
        return body["access_token"], self.clock() + timedelta(seconds=max(lifetime - 60, 0))


def system_headers() -> dict[str, str]:
    return {
        "Vipps-System-Name": "refunder", "Vipps-System-Version": __version__,
        "Vipps-System-Plugin-Name": "refunder-woocommerce", "Vipps-System-Plugin-Version": __version__,
    }


class VippsClient:
    """Every Vipps call: token, keys, system headers; a 401 fetches a new token once."""

    def __init__(self, settings: VippsSettings, clock: Callable[[], datetime], transport: Transport | None = None):
        self.settings = settings
        self.transport = transport or Transport(settings.url, LABEL)
        self.tokens = AccessTokens(settings, self.transport, clock)

    def send(self, method: str, path: str, *, headers: dict[str, str] | None = None, body: Any = None,
             busy: Callable[[requests.Response], bool]) -> requests.Response:
        for _ in range(2):
            response = self.transport.send(method, path, json=body, busy=busy, headers={
                "Authorization": f"Bearer {self.tokens.get()}",
                "Ocp-Apim-Subscription-Key": self.settings.subscription_key,
                "Merchant-Serial-Number": self.settings.msn,
                **system_headers(), **(headers or {}),
            })
            if response.status_code != 401:
                break
            self.tokens.forget()
        return response


def parse_time(text: Any) -> datetime | None:
    """An ISO 8601 time as Vipps writes it in events and logs (zone-less means UTC); None when it is not one."""
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
