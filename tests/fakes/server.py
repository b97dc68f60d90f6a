"""Run a fake provider (a WSGI app) on a free loopback port in a background thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server


class _KeepUnderscoreHeaders(WSGIRequestHandler):
    """Werkzeug drops headers with underscores; Vipps' token call sends client_id and client_secret."""

    def make_environ(self) -> Any:
        environ = super().make_environ()
        for key, value in self.headers.items():
            if "_" in key:
                environ["HTTP_" + key.upper().replace("-", "_")] = value
        return environ


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Yield the base URL of app served on 127.0.0.1; stopped when the block ends."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_KeepUnderscoreHeaders)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
