"""The one place errors become HTTP answers: RFC 9457 problem documents."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, json
from werkzeug.exceptions import HTTPException

from ..errors import RefunderError

log = logging.getLogger(__name__)

PROBLEM_TYPE = "urn:refunder:problem:"
PROBLEM_JSON = "application/problem+json"

_HTTP_MESSAGES = {
    400: ("bad_request", "The request could not be read. Send JSON with Content-Type application/json."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This address does not accept that method."),
    413: ("request_too_large", "The request body is larger than the sidecar accepts."),
    415: ("unsupported_media_type", "Send JSON with Content-Type application/json."),
    422: ("invalid_request", "Some fields are missing or not valid."),
}

_HTTP_TITLES = {
    400: "The request could not be read",
    422: "The request is not valid",
}


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": PROBLEM_TYPE + code, "title": title, "status": status, "code": code, "detail": detail, **extra}
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)


def from_refunder_error(error: RefunderError) -> Response:
    if error.status >= 500:
        log.error("%s: %s", error.code, error.message)
    extra = {k: v for k, v in error.details.items() if v is not None}
    response = problem(error.status, error.code, error.title, error.message, **extra)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    if status >= 500:
        return problem(status, "internal_error", "Something went wrong",
                       "The sidecar hit an unexpected error; its log says more. If this was a refund, ask again "
                       "with the same request to see what became of it: it cannot refund twice.")
    code, detail = _HTTP_MESSAGES.get(status, ("http_error", error.description or error.name))
    extra: dict[str, Any] = {}
    if "messages" in data:  # webargs errors by location: {"json": {field: [...]}} or {"json": ["Invalid JSON body."]}
        errors: dict[str, Any] = {}
        for location, found in data["messages"].items():
            errors.update(found if isinstance(found, dict) else {location: found})
        extra["errors"] = errors
        if status == 422:
            detail = "Some fields are missing or not valid: " + ", ".join(sorted(errors)) + "."
        elif status == 400 and isinstance(errors.get("json"), list):
            detail = " ".join(map(str, errors["json"])) + " Send JSON with Content-Type application/json."
    response = problem(status, code, _HTTP_TITLES.get(status, error.name), detail, **extra)
    for name, value in error.get_headers():
        if name.lower() != "content-type":  # e.g. Allow on 405
            response.headers[name] = value
    return response
