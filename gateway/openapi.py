"""The OpenAPI 3.1 description of the JSON API, served at `/api/openapi.json`. Each route
documents itself where it is defined, with the `documented(...)` decorator, and each module
names its JSON shapes with `schema(...)`; the document is built from the app's route table,
so it lists exactly the routes the app serves. An `/api/` route without the decorator still
appears, described by its handler's docstring and tagged "undocumented" (the tests allow
none). Bodies and answers are JSON unless a route names the raw media types it takes or
serves (file uploads and downloads)."""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from quart import Blueprint, Quart, current_app, jsonify
from quart.typing import ResponseReturnValue

Json = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])

ATTRIBUTE = "__openapi__"
_SCHEMAS: dict[str, Json] = {}
_PATH_ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")
_ERROR_TEXT = {
    400: "Bad input: the body or a parameter is invalid; nothing changed",
    401: "Not logged in",
    403: "Not allowed for this role, or a missing or wrong X-CSRF-Token on a write",
    404: "No such object in the caller's organization",
    409: "The state changed under the caller (e.g. already claimed)",
    413: "The body is larger than the server accepts",
    422: "An Idempotency-Key sent again with a different request",
    429: "Too many attempts; try again later",
    502: "The provider (Twilio, the mail server) refused or failed; nothing changed here",
}

openapi = Blueprint("openapi", __name__)


def schema(name: str, definition: Json) -> Json:
    """Register a named JSON schema and return a `$ref` to it."""
    _SCHEMAS[name] = definition
    return ref(name)


def ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: Iterable[str] = (), **properties: Json) -> Json:
    """A JSON object schema; names in `required` must be present."""
    found: Json = {"type": "object", "properties": properties}
    if required:
        found["required"] = list(required)
    return found


def array(items: Json) -> Json:
    return {"type": "array", "items": items}


def nullable(inner: Json) -> Json:
    return {"anyOf": [inner, {"type": "null"}]}


STRING: Json = {"type": "string"}
INTEGER: Json = {"type": "integer"}
BOOLEAN: Json = {"type": "boolean"}
NUMBER: Json = {"type": "number"}
TIMESTAMP: Json = {"type": "string", "format": "date-time"}
OK = obj(["ok"], ok=BOOLEAN)
ERROR = schema("Error", obj(["error", "message"], error=STRING, message=STRING))


_SCALARS: dict[object, Json] = {
    str: STRING,
    int: INTEGER,
    float: NUMBER,
    bool: BOOLEAN,
    type(None): {"type": "null"},
}


def type_schema(hint: object) -> Json:
    """The JSON schema of a Python type made of scalars, lists, `dict[str, ...]` and
    unions (such as a settings dataclass's field types); `Any` allows anything."""
    if hint in _SCALARS:
        return dict(_SCALARS[hint])
    origin, args = get_origin(hint), get_args(hint)
    if origin is list:
        return array(type_schema(args[0]))
    if origin is dict:
        return {"type": "object", "additionalProperties": type_schema(args[1])}
    if origin in (Union, types.UnionType):
        return {"anyOf": [type_schema(arg) for arg in args]}
    if hint is Any:
        return {}
    raise TypeError(f"no JSON schema for {hint!r}")


def dataclass_schema(cls: type, *, required: bool = True) -> Json:
    """An object schema with one property per field of dataclass `cls`, all required
    (as the dataclass serializes) or, with `required=False`, all optional."""
    hints = get_type_hints(cls)
    names = [item.name for item in fields(cls)]
    return obj(names if required else (), **{name: type_schema(hints[name]) for name in names})


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    description: str
    type: Json = field(default_factory=lambda: dict(STRING))
    required: bool = False


@dataclass(frozen=True, slots=True)
class Operation:
    summary: str
    tags: tuple[str, ...]
    description: str
    body: Json | None
    response: Json | None
    status: int
    query: tuple[Param, ...]
    errors: tuple[int, ...]
    auth: bool
    raw_body: tuple[str, ...] = ()
    raw_response: tuple[str, ...] = ()
    headers: tuple[Param, ...] = ()


def documented(
    summary: str,
    *,
    tags: Iterable[str],
    description: str = "",
    body: Json | None = None,
    response: Json | None = None,
    status: int = 200,
    query: Iterable[Param] = (),
    errors: Iterable[int] = (),
    auth: bool = True,
    raw_body: Iterable[str] = (),
    raw_response: Iterable[str] = (),
    headers: Iterable[Param] = (),
) -> Callable[[F], F]:
    """Attach an operation's description to a route handler (order among decorators does
    not matter: `functools.wraps` carries it along). `raw_body` and `raw_response` name the
    media types of a body or answer that is a file rather than JSON; `headers` the request
    headers the operation reads."""
    operation = Operation(
        summary,
        tuple(tags),
        description,
        body,
        response,
        status,
        tuple(query),
        tuple(errors),
        auth,
        tuple(raw_body),
        tuple(raw_response),
        tuple(headers),
    )

    def attach(handler: F) -> F:
        setattr(handler, ATTRIBUTE, operation)
        return handler

    return attach


def operation_of(view: Callable[..., Any]) -> Operation | None:
    found = getattr(view, ATTRIBUTE, None)
    return found if isinstance(found, Operation) else None


def _from_docstring(view: Callable[..., Any]) -> Operation:
    """A bare description of a route nobody documented: its handler's docstring."""
    text = (view.__doc__ or "").strip()
    summary = text.splitlines()[0] if text else view.__name__.replace("_", " ")
    return Operation(summary, ("undocumented",), text, None, None, 200, (), (), True)


def _path_and_parameters(rule: str) -> tuple[str, list[Json]]:
    parameters: list[Json] = []

    def replace(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        kind = INTEGER if converter == "int" else STRING
        parameters.append({"name": name, "in": "path", "required": True, "schema": kind})
        return "{" + name + "}"

    return _PATH_ARGUMENT.sub(replace, rule), parameters


def _content(json_schema: Json | None, raw: tuple[str, ...]) -> Json:
    """A body's media types: JSON with its schema, and raw files (an empty media type
    object, as OpenAPI 3.1 describes binary content)."""
    found: Json = {"application/json": {"schema": json_schema}} if json_schema is not None else {}
    found.update({media_type: {} for media_type in raw})
    return found


def _operation_json(operation: Operation, path_parameters: list[Json], websocket: bool) -> Json:
    parameters = list(path_parameters) + [
        {
            "name": param.name,
            "in": place,
            "required": param.required,
            "description": param.description,
            "schema": param.type,
        }
        for place, params in (("query", operation.query), ("header", operation.headers))
        for param in params
    ]
    found: Json = {"summary": operation.summary, "tags": list(operation.tags)}
    if operation.description:
        found["description"] = operation.description
    if parameters:
        found["parameters"] = parameters
    if operation.body is not None or operation.raw_body:
        found["requestBody"] = {
            "required": True,
            "content": _content(operation.body, operation.raw_body),
        }
    success: Json = {"description": "Switching to the WebSocket protocol" if websocket else "OK"}
    if operation.response is not None or operation.raw_response:
        success["content"] = _content(operation.response, operation.raw_response)
    responses: Json = {str(101 if websocket else operation.status): success}
    codes = set(operation.errors) | ({401} if operation.auth else set())
    if path_parameters:
        codes.add(404)
    for code in sorted(codes):
        responses[str(code)] = {
            "description": _ERROR_TEXT.get(code, "Error"),
            "content": {"application/json": {"schema": ERROR}},
        }
    found["responses"] = responses
    if not operation.auth:
        found["security"] = []
    if websocket:
        found["x-websocket"] = True
    return found


def build_document(app: Quart) -> Json:
    """The OpenAPI document of every documented route of `app`."""
    paths: dict[str, Json] = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        operation = operation_of(view) if view is not None else None
        if operation is None and view is not None and rule.rule.startswith("/api/"):
            operation = _from_docstring(view)
        if operation is None:
            continue
        path, parameters = _path_and_parameters(rule.rule)
        websocket = bool(getattr(rule, "websocket", False))
        methods = ["GET"] if websocket else sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        for method in methods:
            paths.setdefault(path, {})[method.lower()] = _operation_json(
                operation, parameters, websocket
            )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Switchboard API",
            "version": "1",
            "description": (
                "The JSON API behind the agents' queue page. Log in with POST /api/login; "
                "the session is an HttpOnly cookie. Every write (POST, PATCH, PUT, DELETE) "
                "must echo the login's csrf_token in an X-CSRF-Token header. Another "
                "organization's objects answer 404. Timestamps are ISO 8601 in UTC with "
                "their offset; the agent's own time zone comes with /api/me."
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(_SCHEMAS.items())),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "switchboard_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
        "security": [{"session": []}],
    }


@openapi.get("/api/openapi.json")
@documented("This document", tags=["meta"], auth=False, response={"type": "object"})
async def openapi_document() -> ResponseReturnValue:
    return jsonify(build_document(current_app))
