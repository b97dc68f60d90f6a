"""`refunder serve`'s gunicorn worker: gunicorn's gthread worker, with gunicorn's own refusals as problem documents
like every other error of the sidecar, and the work a request left for after its response run once it is sent.

A request gunicorn cannot parse (a broken request line, an address or headers over its limits, broken
chunked framing) never reaches the application: gunicorn answers it itself, with an HTML page. It has
no hook for that page, so this worker answers the same refusals with the same status as an
application/problem+json document. Anything else (a fault in gunicorn itself) is left to gunicorn.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from gunicorn import util
from gunicorn.http import errors
from gunicorn.workers.gthread import ThreadWorker

from ..messages import define, render
from .after_response import responding
from .problems import PROBLEM_JSON, PROBLEM_TYPE

_ANSWERS: tuple[tuple[type[Exception], int, str], ...] = (
    (errors.LimitRequestLine, 414, define("uri_too_long", "The request's address is longer than the sidecar accepts.",
                                          status=414)),
    (errors.LimitRequestHeaders, 431, define("headers_too_large", "The request has more headers, or longer ones, "
                                                                  "than the sidecar accepts.", status=431)),
    (errors.UnsupportedTransferCoding, 501, define(
        "unsupported_transfer_coding", "The request's Transfer-Encoding is not supported; send the body with a "
                                       "Content-Length or chunked.", status=501)),
    (errors.ExpectationFailed, 417, define("expectation_failed", "The request's Expect header cannot be met.",
                                           status=417)),
    (errors.ForbiddenProxyRequest, 403, define("proxy_forbidden", "Proxy headers are not accepted from this "
                                                                  "address.", status=403)),
    (errors.ConfigurationProblem, 500, define("server_misconfigured", "The sidecar's HTTP server is not configured "
                                                                     "correctly.", status=500)),
    (errors.ParseException, 400, define("http_invalid", "The request is not valid HTTP/1.1.", status=400)),
)


def problem_answer(exc: Exception) -> bytes | None:
    """The raw HTTP answer to one of gunicorn's refusals; None when it is not one."""
    if isinstance(exc, (errors.InvalidResponseHeader, errors.InvalidResponseHeaderName)):
        return None  # the application's fault, not the client's: gunicorn's own 500
    for kind, status, code in _ANSWERS:
        if isinstance(exc, kind):
            phrase = HTTPStatus(status).phrase
            body = json.dumps({"type": PROBLEM_TYPE + code, "title": phrase, "status": status, "code": code,
                               "detail": render(code, {}), "params": {}}).encode()
            head = (f"HTTP/1.1 {status} {phrase}\r\nConnection: close\r\nContent-Type: {PROBLEM_JSON}\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n")
            return head.encode("latin-1") + body
    return None


class SidecarWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker, answering its own refusals with problem documents, and running a request's
    after-response work (api.after_response) once the response is written."""

    def handle_request(self, req: Any, conn: Any) -> Any:
        with responding():
            return super().handle_request(req, conn)

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
