"""Calls to providers: timeouts, and retries that always resend the same request with the same key.

A retry is safe because every modifying call carries its idempotency key. What the attempts add up to:
- an answer that is final (success or a refusal to read): returned, or its exception raised;
- only refusals that prove nothing happened (429, 423 locked, connection refused): ProviderBusy;
- any attempt whose fate is unknown (read timeout, reset, 5xx): ProviderUnreachable, so the refund
  becomes "unknown" and is read back later, never sent with a new key;
- no attempt at all, because the time budget (providers.budget) was spent before it: NotAsked.
Every attempt, and every pause between attempts, fits in the interaction's time budget: an attempt's
timeouts are what is left of it, and no attempt or pause starts that the budget cannot hold.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

import requests

from ..messages import define
from . import budget
from .base import ProviderError, ProviderUnreachable

log = logging.getLogger(__name__)

T = TypeVar("T")
BUSY_STATUSES = frozenset({423, 429})


class ProviderBusy(ProviderError):
    """The provider refused before doing anything (rate limit, lock): safe to try again later."""

    code, status, title = "provider_busy", 503, "The payment provider asked us to wait"
    template = "{provider} is busy or limiting changes to this payment. Nothing was refunded; try again in a minute."
    example = {"provider": "Vipps MobilePay", "provider_code": "busy", "what": "HTTP 429"}


class NotAsked(ProviderBusy):
    """Nothing was sent: the time budget was spent before the call, or signing in got no answer."""

    code, title = "provider_not_asked", "The payment provider was not asked"
    template = ("{provider} was not asked: the time Refunder waits for it ran out before the call. Nothing was "
                "refunded; try again.")
    example = {"provider": "Vipps MobilePay", "provider_code": "no_time", "what": "no time left"}


SIGN_IN_UNANSWERED = define("provider_sign_in_unanswered", "{provider} did not answer when Refunder signed in to it. "
                                                           "Nothing was refunded; try again.",
                            status=NotAsked.status, provider="Vipps MobilePay", provider_code="token_unreachable",
                            what="sign-in")


class Verdict(Enum):
    FINAL = "final"  # an answer to act on
    BUSY = "busy"  # refused before doing anything: retry
    UNKNOWN = "unknown"  # may or may not have happened: retry with the same key


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    backoff: float = 0.5  # seconds, doubled each time
    max_wait: float = 8.0
    timeout: tuple[float, float] = (3.05, 20.0)  # connect, read; each shrunk to what is left of the budget


DEFAULT_RETRY = RetryPolicy()


def with_retries(attempt: Callable[[], T], judge: Callable[[T | None, Exception | None], tuple[Verdict, str, str]],
                 *, label: str, log_as: str, policy: RetryPolicy, sleep: Callable[[float], None]) -> T:
    """Run attempt until judge calls the outcome final. judge returns (verdict, what happened, Retry-After)."""
    unknown = False
    what = "no answer"
    tried = 0
    for number in range(1, policy.attempts + 1):
        if not budget.room_for():
            break
        tried = number
        result: T | None = None
        error: Exception | None = None
        try:
            result = attempt()
        except Exception as exc:  # judged below; anything not retryable is raised again
            error = exc
        verdict, what, retry_after = judge(result, error)
        if verdict is Verdict.FINAL:
            if error is not None:
                raise error
            return result  # type: ignore[return-value]
        unknown = unknown or verdict is Verdict.UNKNOWN
        log.warning("%s %s: %s (attempt %d of %d)", label, log_as, what, number, policy.attempts)
        if number < policy.attempts:
            pause = (min(float(retry_after), policy.max_wait) if retry_after.isdigit()
                     else min(policy.backoff * 2 ** (number - 1), policy.max_wait))
            if not budget.room_for(pause):
                break
            sleep(pause)
    spent = budget.current()
    within = f", the {spent.seconds:g} s budget spent" if spent is not None and not budget.room_for() else ""
    if unknown:
        raise ProviderUnreachable(provider=label, provider_code="no_answer", what=what + within)
    if tried == 0:
        raise NotAsked(provider=label, provider_code="no_time", what="no time left")
    raise ProviderBusy(provider=label, provider_code="busy", what=what)


def provider_session(base_url: str) -> requests.Session:
    """A requests session for calls to one provider's base URL, with the environment read once, here.

    requests reads it again on every call (proxy variables, NO_PROXY, ~/.netrc, CA bundle variables: a third
    of a Stripe call's Python work); a process's environment does not change, so the session is given what
    those calls would have found: the proxy for base_url (none when NO_PROXY exempts it) and
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE. ~/.netrc is not read: every provider call carries its own
    credentials.
    """
    session = requests.Session()
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    return session


class Transport:
    """requests to one provider's base URL, through with_retries."""

    def __init__(self, base_url: str, provider_label: str, *, policy: RetryPolicy = DEFAULT_RETRY,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.label = provider_label
        self.policy = policy
        self.sleep = sleep
        self._local = threading.local()  # a requests.Session per thread (gunicorn runs threaded workers)

    @property
    def session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = provider_session(self.base_url)
        return self._local.session

    def send(
        self, method: str, path: str, *, headers: Mapping[str, str], json: Any = None, data: Any = None,
        busy: Callable[[requests.Response], bool] = lambda r: r.status_code in BUSY_STATUSES,
    ) -> requests.Response:
        """Send, retrying what is retryable; return the first answer that is not."""

        def judge(response: requests.Response | None, error: Exception | None) -> tuple[Verdict, str, str]:
            if isinstance(error, requests.ConnectionError):
                never_sent = _never_sent(error)
                return (Verdict.BUSY if never_sent else Verdict.UNKNOWN), "connection failed", ""
            if isinstance(error, requests.Timeout):
                return Verdict.UNKNOWN, "timed out", ""
            if error is not None or response is None:
                return Verdict.FINAL, "error", ""
            retry_after = response.headers.get("Retry-After", "")
            if response.status_code >= 500:
                return Verdict.UNKNOWN, f"HTTP {response.status_code}", retry_after
            if busy(response):
                return Verdict.BUSY, f"HTTP {response.status_code}", retry_after
            return Verdict.FINAL, "answered", ""

        return with_retries(
            lambda: self.session.request(method, self.base_url + path, headers=dict(headers), json=json, data=data,
                                         timeout=budget.timeouts(*self.policy.timeout)),
            judge, label=self.label, log_as=f"{method} {path}", policy=self.policy, sleep=self.sleep)


def _never_sent(exc: requests.ConnectionError) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text or "NameResolutionError" in text
