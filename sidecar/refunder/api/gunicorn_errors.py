"""gunicorn's own refusals as problem documents, like every other error of the sidecar.

A request gunicorn cannot parse (a broken request line, an address or headers over its limits, broken
chunked framing) never reaches the application: gunicorn answers it itself, with an HTML page. It has
no hook for that page, so `refunder serve` runs this subclass of its gthread worker, which answers the
same refusals with the same status as an application/problem+json document. Anything else (a fault in
gunicorn itself) is left to gunicorn.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from gunicorn import util
from gunicorn.http import errors
from gunicorn.workers.gthread import ThreadWorker

from .problems import PROBLEM_JSON, PROBLEM_TYPE

_ANSWERS: tuple[tuple[type[Exception], int, str, str], ...] = (
    (errors.LimitRequestLine, 414, "uri_too_long", "The request's address is longer than the sidecar accepts."),
    (errors.LimitRequestHeaders, 431, "headers_too_large",
     "The request has more headers, or longer ones, than the sidecar accepts."),
    (errors.UnsupportedTransferCoding, 501, "unsupported_transfer_coding",
     "The request's Transfer-Encoding is not supported; send the body with a Content-Length or chunked."),
    (errors.ExpectationFailed, 417, "expectation_failed", "The request's Expect header cannot be met."),
    (errors.ForbiddenProxyRequest, 403, "forbidden", "Proxy headers are not accepted from this address."),
    (errors.ConfigurationProblem, 500, "internal_error", "The sidecar's HTTP server is not configured correctly."),
    (errors.ParseException, 400, "bad_request", "The request is not valid HTTP/1.1."),
)


def problem_answer(exc: Exception) -> bytes | None:
    """The raw HTTP answer to one of gunicorn's refusals; None when it is not one."""
    if isinstance(exc, (errors.InvalidResponseHeader, errors.InvalidResponseHeaderName)):
        return None  # the application's fault, not the client's: gunicorn's own 500
    for kind, status, code, detail in _ANSWERS:
        if isinstance(exc, kind):
            phrase = HTTPStatus(status).phrase
            body = json.dumps({"type": PROBLEM_TYPE + code, "title": phrase, "status": status, "code": code,
                               "detail": detail}).encode()
            head = (f"HTTP/1.1 {status} {phrase}\r\nConnection: close\r\nContent-Type: {PROBLEM_JSON}\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n")
            return head.encode("latin-1") + body
    return None


class ProblemThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker, answering its own refusals with problem documents."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: Exception) -> None:
        answer = problem_answer(exc)
        if answer is None:
            super().handle_error(req, client, addr, exc)
            return
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("", -1))[0], exc)
        try:
            util.write_nonblock(client, answer)
        except Exception:  # the client may be gone; nothing more to tell it
            self.log.debug("Failed to send error message.")
