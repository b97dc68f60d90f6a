"""Pieces the fake providers share: JSON answers, time (latency and hangs), and a lock around each request."""

from __future__ import annotations

import json
import threading
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.timing import Timing


def json_response(body: Any, status: int = 200, content_type: str = "application/json") -> Response:
    return Response(json.dumps(body), status, content_type=content_type)


class FakeApp:
    """WSGI base: one request handled at a time, like a provider that serializes changes to a payment; each
    request first takes its time (`timing`: latency, hangs), outside that lock, so requests overlap."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.timing = Timing()
        self._active = 0
        self._idle = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._idle:
            self._active += 1
        try:
            if self.timing.wait(self.kind(request)):
                with self._lock:
                    response = self.handle(request)
            else:  # dropped while hanging: never done
                response = json_response({"error": "dropped"}, 504)
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()
        return response(environ, start_response)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until no call is under way (e.g. released hangs have been handled)."""
        with self._idle:
            assert self._idle.wait_for(lambda: self._active == 0, timeout), "the fake is still busy"

    def kind(self, request: Request) -> str:
        """The call's kind for timing: "token", "refund" (a change) or "read"."""
        return "refund" if request.method == "POST" else "read"

    def handle(self, request: Request) -> Response:
        raise NotImplementedError
