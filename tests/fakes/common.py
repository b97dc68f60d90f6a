"""Pieces the fake providers share: JSON answers and a lock around each request."""

from __future__ import annotations

import json
import threading
from typing import Any

from werkzeug.wrappers import Request, Response


def json_response(body: Any, status: int = 200, content_type: str = "application/json") -> Response:
    return Response(json.dumps(body), status, content_type=content_type)


class FakeApp:
    """WSGI base: one request at a time, like a provider that serializes changes to a payment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        raise NotImplementedError
