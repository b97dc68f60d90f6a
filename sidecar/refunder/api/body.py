"""The whole request body, read before anything looks at it: with a Content-Length or chunked alike.

A body longer than the limit is refused with 413 (never cut short and then checked, which would let a
signature over the first part vouch for whatever follows); a body that cannot be read (broken chunked
framing, the client gone) with 400. What the application then sees is exactly the bytes that came.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import RequestTooLarge
from .problems import BODY_UNREADABLE, problem

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WholeBody:
    """WSGI middleware: read the body up to `limit` bytes, hand the application a buffered copy."""

    def __init__(self, app: WSGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            body = self._read(environ)
        except _TooLarge:
            response = problem(413, RequestTooLarge.code, RequestTooLarge.title, {"max_bytes": self.limit})
            return response(environ, start_response)
        except (OSError, ValueError) as exc:  # gunicorn's chunk errors and NoMoreData are OSErrors
            log.warning("unreadable request body from %s: %s", environ.get("REMOTE_ADDR"), type(exc).__name__)
            response = problem(400, BODY_UNREADABLE, "The request could not be read")
            return response(environ, start_response)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)  # the body is no longer chunked: it is these bytes
        return self.app(environ, start_response)

    def _read(self, environ: dict[str, Any]) -> bytes:
        stream = environ["wsgi.input"]
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        declared = environ.get("CONTENT_LENGTH") or ""
        if not chunked:
            length = int(declared) if declared.strip() else 0
            if length < 0:
                raise ValueError("negative Content-Length")
            if length > self.limit:
                raise _TooLarge
            return _read_exactly(stream, length)
        body = _read_exactly(stream, self.limit + 1, stop_at_end=True)
        if len(body) > self.limit:
            raise _TooLarge
        return body


class _TooLarge(Exception):
    pass


def _read_exactly(stream: Any, size: int, *, stop_at_end: bool = False) -> bytes:
    """Up to `size` bytes; a declared length that does not arrive is an error, a chunked end is not."""
    parts, left = [], size
    while left > 0:
        part = stream.read(min(left, 65536))
        if not part:
            if stop_at_end:
                break
            raise ValueError("request body shorter than its Content-Length")
        parts.append(part)
        left -= len(part)
    return b"".join(parts)

