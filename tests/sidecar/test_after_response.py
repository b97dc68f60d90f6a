"""Work left for after the response: at once outside a worker's request, else in order once the request ends."""

from __future__ import annotations

import logging

import pytest

from refunder.api.after_response import after_response, responding


def test_outside_a_workers_request_the_work_runs_at_once() -> None:
    done: list[str] = []
    after_response(lambda: done.append("freed"))
    assert done == ["freed"]


def test_in_a_workers_request_it_runs_when_the_request_ends_in_order_past_a_failure(
        caplog: pytest.LogCaptureFixture) -> None:
    done: list[str] = []

    def fails() -> None:
        raise RuntimeError("the server went away")

    with caplog.at_level(logging.ERROR), responding():
        after_response(lambda: done.append("lock freed"))
        after_response(fails)
        after_response(lambda: done.append("connection given back"))
        assert done == []  # the response is still being written
    assert done == ["lock freed", "connection given back"]
    assert "the server went away" in caplog.text
    after_response(lambda: done.append("next"))  # the request over: at once again
    assert done[-1] == "next"
