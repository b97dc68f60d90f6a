"""Every stable code the sidecar answers with, its English sentence and the params the sentence names. Pure.

A problem document, a reason a provider cannot refund a payment and a failed refund each carry a `code`,
its `params` and the sentence in English (`detail`, `message`), rendered here from the code's template, so
the English words and the params never disagree. Money params are money objects
(`{"value": 75000, "currency": "NOK", "exponent": 2}`), times ISO 8601 strings (the sentence shows the
date), a nested reason `{"code", "params"}` is its own sentence. The WordPress plugin translates by code
and params (Refunder_Messages) and shows the English sentence only for a code it does not know.

Codes are defined where they are raised (errors.py, detection.py, each provider module, the API);
`python -m refunder.messages` writes them all as tests/vectors/problems.json.
"""

from __future__ import annotations

import json
import re
import string
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .money import Money

_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@dataclass(frozen=True)
class Message:
    code: str
    template: str  # English, with {param} placeholders
    example: Mapping[str, Any]  # an example value for every param (the template's and any others)
    status: int | None = None  # the HTTP status of its problem document; None: only a reason or a failure


CATALOGUE: dict[str, Message] = {}


def define(code: str, template: str, *, status: int | None = None, **example: Any) -> str:
    """Register a code's English sentence with an example of each param; returns the code."""
    message = Message(code, template, example, status)
    known = CATALOGUE.get(code)
    if known is not None and known != message:
        raise ValueError(f"message code {code!r} is defined twice, differently")
    missing = set(placeholders(template)) - set(example)
    if missing:
        raise ValueError(f"message code {code!r}: no example for {', '.join(sorted(missing))}")
    CATALOGUE[code] = message
    return code


def placeholders(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def render(code: str, params: Mapping[str, Any]) -> str:
    """The code's English sentence with its params; KeyError for a code that was never defined."""
    template = CATALOGUE[code].template
    return template.format_map({name: _english(params[name]) for name in placeholders(template)})


def _english(value: Any) -> str:
    if isinstance(value, Mapping) and "currency" in value and "value" in value:
        return str(Money(value["value"], value["currency"]))
    if isinstance(value, Mapping) and "code" in value:
        return render(value["code"], value.get("params") or {})
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"  # 15.0 seconds as 15, as PHP prints it
    if isinstance(value, str) and _ISO_TIME.match(value):
        return value[:10]
    return str(value)


def reason(code: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """A nested reason param: another code's sentence inside this one."""
    return {"code": code, "params": dict(params)}


def vectors() -> dict[str, Any]:
    """Every code, its status, params (an example each), English template and the example's sentence."""
    from . import app, bulk, providers  # noqa: F401 - importing them defines their codes
    from .api import worker  # noqa: F401

    providers.specs()  # imports every provider module

    return {
        "description": "Every code the Refunder service answers with (problem documents, reasons a provider "
                       "cannot refund, failed refunds): its English template, an example of each param and "
                       "the sentence they make. Written by `python -m refunder.messages`; the Python and "
                       "PHP tests read it.",
        "problems": [{"code": m.code, "status": m.status, "template": m.template, "params": dict(m.example),
                      "detail": render(m.code, m.example)} for m in sorted(CATALOGUE.values(), key=lambda m: m.code)],
    }


def vectors_json() -> str:
    return json.dumps(vectors(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    from refunder import messages  # where the codes are defined (run as a script, this module is a copy)

    sys.stdout.write(messages.vectors_json())
