"""JSON as the sidecar accepts it from outside: what Python's parser would choke on, or pass on to the
ledger only to fail there, is refused as malformed JSON up front.

Refused: nesting deeper than MAX_DEPTH (the deepest body the API takes is 4 levels), integers of more
than Python's 4,300 digits, NaN and Infinity (not JSON), and lone surrogates (no UTF-8 for them, so no
database stores them). Every refusal is a json.JSONDecodeError, which the callers already answer as 400.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32


def loads(data: bytes | str) -> Any:
    try:
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError(f"not UTF-8 ({exc.reason})", "<bytes>", 0) from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise json.JSONDecodeError(f"nested more than {MAX_DEPTH} levels deep", text, 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
        raise json.JSONDecodeError(str(exc), text, 0) from None
    _check(value, 1, text)
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check(value: Any, depth: int, text: str) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise json.JSONDecodeError("a string holds a lone surrogate (\\ud800-\\udfff)", text, 0) from None
        return
    if not isinstance(value, dict | list):
        return
    if depth > MAX_DEPTH:
        raise json.JSONDecodeError(f"nested more than {MAX_DEPTH} levels deep", text, 0)
    for item in (value if isinstance(value, list) else [*value.keys(), *value.values()]):
        _check(item, depth + 1, text)
