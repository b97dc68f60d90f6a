"""The order screen never waits on the Refunder service or a provider: with the service down or hanging, the page
renders at once with the last known amounts, and the panel's fill-in says in plain words who is not answering."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.wp.conftest import SECRET, WordPress
from tests.wp.test_admin_http import login, new_order, nonce


@pytest.fixture
def hanging_service() -> Iterator[str]:
    """A "service" that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def point_at(wp: WordPress, url: str) -> None:
    wp.eval(f"update_option('refunder_settings', array('url' => '{url}', 'secret' => '{SECRET}'));")


def fill(session: requests.Session, wp: WordPress, order_id: int, page: str) -> dict:
    answer = session.post(f"{wp.url}/wp-admin/admin-ajax.php", data={
        "action": "refunder_payment", "order_id": order_id, "nonce": nonce(page)}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


@pytest.mark.parametrize("service", ["down", "hanging"])
def test_order_screen_renders_at_once_and_says_who_is_not_answering(
        wordpress: WordPress, order_screen: str, service: str, request: pytest.FixtureRequest) -> None:
    wordpress.show_orders_in(order_screen)
    admin = login(wordpress, "admin")
    order_id = new_order(wordpress)
    url = wordpress.order_screens(order_id)[order_screen]
    first = admin.get(url, timeout=30).text
    assert "Asking the Refunder service about this payment" in first
    assert fill(admin, wordpress, order_id, first)["outage"] is False  # known from now on
    point_at(wordpress, "http://127.0.0.1:9" if service == "down" else request.getfixturevalue("hanging_service"))
    try:
        start = time.perf_counter()
        page = admin.get(url, timeout=30)
        took = time.perf_counter() - start
        assert page.status_code == 200 and took < 5, f"the order screen took {took:.1f} s"
        assert "1 500,00" in page.text.replace("&nbsp;", " ") and "can be refunded" in page.text
        filled = fill(admin, wordpress, order_id, page.text)
        notice = filled["notice"]
        assert filled["outage"] is True
        assert re.fullmatch(r"The Refunder service is not answering; the amounts shown are from [\d:]+( [ap]m)?\.",
                            notice)
        assert "127.0.0.1" not in notice + filled["html"] and "cURL" not in notice + filled["html"]
    finally:
        point_at(wordpress, wordpress.sidecar_url)
    assert wordpress.php_problems() == []
