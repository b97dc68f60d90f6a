"""Input the API refuses before any view or database sees it, the same on SQLite and PostgreSQL.

Bodies are parsed with strict_json (deep nesting, huge integers, lone surrogates: 400). Path ids and
query values may hold no control characters (PostgreSQL cannot even compare a text with NUL): 422 with
the field named. Text fields in bodies are checked by schemas.Text.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, NoReturn

import flask
from marshmallow import Schema, ValidationError, fields
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request

from .. import strict_json
from ..errors import InvalidRequest
from ..messages import define

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_IN_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tabs and line breaks allowed
CONTROL_MESSAGE = "Control characters (such as NUL or line breaks) are not allowed here."
CONTROL_CHARACTER = define("control_character", "{field} holds a control character (such as NUL or a line break): "
                                                "control characters are not allowed here.",
                           status=InvalidRequest.status, field="order_id")


class StrictParser(FlaskParser):
    """webargs' Flask parser with strict_json for bodies, the reason a body was refused in the answer, and each
    schema class built once per process (webargs builds one per request: its fields deep-copied each time)."""

    def _get_schema(self, argmap: Any, req: flask.Request) -> Schema:
        if isinstance(argmap, type) and issubclass(argmap, Schema):
            return _built_once(argmap)
        return super()._get_schema(argmap, req)

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        return strict_json.loads(req.get_data(cache=True))

    def _handle_invalid_json_error(self, error: json.JSONDecodeError | UnicodeDecodeError, req: flask.Request,
                                   *args: Any, **kwargs: Any) -> NoReturn:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else error.reason
        abort(400, exc=error, messages={"json": [f"Invalid JSON body: {reason}."]}, reason=reason)


@functools.cache
def _built_once(schema: type[Schema]) -> Schema:
    """A schema instance shared by every request and thread: loading keeps no state in it."""
    return schema()


def refuse_control_characters(request: flask.Request) -> None:
    """Path ids and query parameters (names and values) with control characters: 422, field named."""
    found = [*(request.view_args or {}).items(), *request.args.items(multi=True)]
    for name, value in found:
        if isinstance(value, str) and (CONTROL.search(value) or CONTROL.search(name)):
            field = CONTROL.sub("?", name)
            raise InvalidRequest(CONTROL_CHARACTER, field=field, errors={field: [CONTROL_MESSAGE]})


class Text(fields.String):
    """A string without control characters (NUL and the like); multiline text may hold tabs and line breaks."""

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.control = CONTROL_IN_LINES if multiline else CONTROL

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if self.control.search(text):
            raise ValidationError("Control characters (such as NUL) are not allowed.")
        return text
