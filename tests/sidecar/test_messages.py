"""Every code the sidecar answers with is in tests/vectors/problems.json, generated from the code, with its
params and English sentence; problem documents say exactly that sentence."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from refunder import errors, messages, providers
from refunder.api.problems import from_refunder_error
from refunder.messages import CATALOGUE, render
from refunder.money import Money
from tests.sidecar.helpers import refund_body, register

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "problems.json"
messages.vectors()  # imports every module that defines codes, whichever of these tests runs alone


def test_the_vector_file_is_written_from_the_code() -> None:
    assert VECTORS.read_text(encoding="utf-8") == messages.vectors_json(), (
        "a code was added or changed: run `.venv/bin/python -m refunder.messages > tests/vectors/problems.json` "
        "and give the plugin its translation (Refunder_Messages, scripts/i18n.sh)")


def _subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


def test_every_error_class_and_provider_failure_has_a_sentence() -> None:
    messages.vectors()  # imports every module that defines codes
    for cls in _subclasses(errors.RefunderError):
        assert cls.code in CATALOGUE, cls
        assert CATALOGUE[cls.code].status == cls.status, cls
    for cls in _subclasses(providers.base.Provider):  # a permanent failure closes the provider path: its reason
        assert set(cls.permanent_failures) <= set(CATALOGUE), cls


@pytest.mark.parametrize("entry", json.loads(VECTORS.read_text(encoding="utf-8"))["problems"],
                         ids=lambda e: e["code"])
def test_each_example_makes_its_sentence(entry: dict[str, Any]) -> None:
    assert set(messages.placeholders(entry["template"])) <= set(entry["params"])
    assert render(entry["code"], entry["params"]) == entry["detail"]
    assert "{" not in entry["detail"]


def test_money_params_carry_their_exponent_and_read_as_money() -> None:
    error = errors.ExceedsRefundable(refundable={"value": 1234, "currency": "KWD", "exponent": 3},
                                     captured={"value": 5, "currency": "JPY", "exponent": 0},
                                     refunded={"value": 0, "currency": "NOK", "exponent": 2},
                                     in_flight={"value": 1, "currency": "NOK", "exponent": 2})
    assert error.message.startswith("At most 1.234 KWD can be refunded: 5 JPY captured, 0.00 NOK already")


def test_a_problem_document_is_code_params_and_the_sentence_they_make() -> None:
    response = from_refunder_error(errors.RefundOutcomePending(provider="Stripe", refund_id="rf_1"))
    body = response.get_json()
    assert (body["code"], body["status"], body["params"]) == ("refund_outcome_pending", 503,
                                                               {"provider": "Stripe", "refund_id": "rf_1"})
    assert body["detail"] == render("refund_outcome_pending", body["params"]) and body["refund_id"] == "rf_1"
    assert response.headers["Retry-After"] == "10"


def test_answers_of_the_running_api_match_the_catalogue(api: Any, app: Any, clock: Any) -> None:
    app.extensions["refunder"].providers["simulator"].add_payment("sim-msg-1", Money(10000, "NOK"), clock())
    payment = register(api, "simulator", "sim-msg-1", 10000)
    answers = [api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(20000),
                        headers={"Idempotency-Key": "msg-key-0001"}), api.get("/v1/refunds/rf_none"),
               api.get("/v1/nowhere"), api.post("/v1/payments", {"order_id": "1"})]
    for answer in answers:
        body = answer.json
        assert body["code"] in CATALOGUE and CATALOGUE[body["code"]].status in (None, answer.status_code)
        assert body["detail"] == render(body["code"], body["params"])
    assert answers[0].json["params"]["refundable"] == {"value": 10000, "currency": "NOK", "exponent": 2}


def test_nginx_answers_in_the_same_words() -> None:
    """nginx's own refusals (docker/nginx.conf) are problem documents of the catalogue too."""
    found = re.findall(r"return \d+ '(\{.*\})';", (ROOT / "docker" / "nginx.conf").read_text())
    assert len(found) == 3
    for raw in found:
        body = json.loads(raw)
        assert CATALOGUE[body["code"]].status == body["status"]
        assert body["detail"] == render(body["code"], body["params"])


def test_no_raising_site_passes_words_where_the_code_goes() -> None:
    """Every error is raised with a defined code (a name bound to one), never a sentence: the sentence comes from
    the code, even on paths no test walks."""
    messages.vectors()
    names = {cls.__name__ for cls in _subclasses(errors.RefunderError)} | {"RefunderError"}
    wrong = []
    for path in (ROOT / "sidecar" / "refunder").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names and node.args:
                first = node.args[0]
                words = isinstance(first, ast.Constant) and first.value not in CATALOGUE
                if isinstance(first, ast.JoinedStr) or words:
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert wrong == []
