"""The one place errors become HTTP answers: RFC 9457 problem documents.

Every document has a stable `code`, the `params` its sentence names and the sentence in English (`detail`),
both from messages.py; some add members for machines (`field`, `errors`, `refund_id`, `reason`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, json
from werkzeug.exceptions import HTTPException

from ..errors import BadRequest, InvalidRequest, NotFound, RefunderError, RequestTooLarge
from ..messages import define, render

log = logging.getLogger(__name__)

PROBLEM_TYPE = "urn:refunder:problem:"
PROBLEM_JSON = "application/problem+json"

METHOD_NOT_ALLOWED = define("method_not_allowed", "This address does not accept that method.", status=405)
UNSUPPORTED_MEDIA_TYPE = define("unsupported_media_type", "Send JSON with Content-Type application/json.",
                                status=415)
HTTP_ERROR = define("http_error", "The sidecar answered HTTP {http_status}.", status=None, http_status=418)
SERVICE_UNAVAILABLE = define(  # nginx's answer when the sidecar is down or too slow (docker/nginx.conf)
    "service_unavailable", "The Refunder service did not answer in time. Nothing is known about this request yet; "
                           "try again in a moment.", status=503)
JSON_INVALID = define("json_invalid", "The request body is not valid JSON: {problem}. Send JSON with Content-Type "
                                      "application/json.", status=400, problem="nested more than 32 levels")
BODY_UNREADABLE = define("body_unreadable", "The request body could not be read (broken chunked encoding or cut "
                                            "short).", status=400)

_HTTP_CODES = {400: BadRequest.code, 404: NotFound.code, 405: METHOD_NOT_ALLOWED, 413: RequestTooLarge.code,
               415: UNSUPPORTED_MEDIA_TYPE, 422: InvalidRequest.code}

_HTTP_TITLES = {
    400: "The request could not be read",
    422: "The request is not valid",
}


def problem(status: int, code: str, title: str, params: Mapping[str, Any] | None = None,
            **members: Any) -> Response:
    """A problem document: the code's English sentence is its detail."""
    params = dict(params or {})
    body = {"type": PROBLEM_TYPE + code, "title": title, "status": status, "code": code,
            "detail": render(code, params), "params": params, **members}
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)


def from_refunder_error(error: RefunderError) -> Response:
    if error.status >= 500:
        log.error("%s: %s", error.code, error.message)
    response = problem(error.status, error.code, error.title, error.params, **error.members)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    if status >= 500:
        return problem(status, RefunderError.code, RefunderError.title)
    code = _HTTP_CODES.get(status, HTTP_ERROR)
    params: dict[str, Any] = {"http_status": status} if code == HTTP_ERROR else {}
    members: dict[str, Any] = {}
    if code == RequestTooLarge.code:
        params["max_bytes"] = current_app.config["MAX_CONTENT_LENGTH"]
    if "messages" in data:  # webargs errors by location: {"json": {field: [...]}} or {"json": ["Invalid JSON body."]}
        errors: dict[str, Any] = {}
        for location, found in data["messages"].items():
            errors.update(found if isinstance(found, dict) else {location: found})
        members["errors"] = errors
    if code == InvalidRequest.code:
        params["fields"] = sorted(members.get("errors", {}))
    if status == 400 and "reason" in data:  # the JSON parser's words (api.inputs)
        code, params = JSON_INVALID, {"problem": data["reason"]}
    response = problem(status, code, _HTTP_TITLES.get(status, error.name), params, **members)
    for name, value in error.get_headers():
        if name.lower() != "content-type":  # e.g. Allow on 405
            response.headers[name] = value
    return response
