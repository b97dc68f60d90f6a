"""The official Vipps OpenAPI specs (shared/specs/vipps), ready to validate outgoing requests.

Where they are missing (a clone with nothing beside it), requests are not checked against them, the test
session says so at its end (tests/conftest.py), and tests of the check itself skip; everything else runs.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest

# ../shared/specs/vipps beside the checkout (as CI lays it out), or wherever REFUNDER_VIPPS_SPECS says
SPECS = Path(os.environ.get("REFUNDER_VIPPS_SPECS") or Path(__file__).resolve().parents[3] / "shared/specs/vipps")
MISSING = (f"the official Vipps OpenAPI specs are not at {SPECS} (set REFUNDER_VIPPS_SPECS, or put "
           "shared/specs/vipps beside the checkout)")
unchecked: list[str] = []  # requests not validated because the specs are missing


def available() -> bool:
    return (SPECS / "epayment.v1.yml").is_file()


def _external(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("$ref"), str) and not node["$ref"].startswith("#")


def _local_refs_only(node: Any) -> Any:
    """Specs point a few parts we never call at other files or the internet: stand in open objects."""
    if isinstance(node, dict):
        if _external(node):
            return {"type": "object"}
        return {k: _local_refs_only(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_local_refs_only(v) for v in node]
    return node


@functools.cache
def spec(name: str) -> OpenAPI:
    document = yaml.safe_load((SPECS / name).read_text(encoding="utf-8"))
    document["paths"] = {path: item for path, item in document["paths"].items() if not _external(item)}
    # the eCom spec ships examples that break its own patterns: check requests, not the spec
    return OpenAPI.from_dict(_local_refs_only(document), config=Config(spec_validator_cls=None))


def validate(name: str, request: requests.PreparedRequest) -> None:
    """Raise if the request breaks the spec (unknown path, missing header, wrong body...); without the specs,
    only note that it went unchecked."""
    if not available():
        unchecked.append(f"{request.method} {request.url}")
        return
    spec(name).validate_request(RequestsOpenAPIRequest(request))
