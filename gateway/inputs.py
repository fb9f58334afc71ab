"""The one way a request's input is read: JSON bodies, WebSocket frames, forms, path ids,
query numbers and single fields. Whatever a caller sends, reading it either gives a clean value or
raises `BadInput` with a sentence saying what to send instead, which the HTTP layer answers
with 400 and the sockets answer with an error frame. Nothing malformed gets further in,
where it would fail later as a 500 (a database that cannot store a lone surrogate or a
number beyond 64 bits, a recursion limit, a text that is not UTF-8).

Route ids (`<int:name>` in a route) are checked by `IdConverter`, which `install` puts in
place of the URL map's own integer converter."""

from __future__ import annotations

import json
from typing import Any

from quart import Quart, has_request_context, request, websocket
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from gateway.errors import BadInput

MAX_ID = 2**63 - 1  # the largest id a 64-bit database column holds
MAX_DEPTH = 16  # nesting of arrays and objects; no request of ours needs more than three
ID_RULE = f"a whole number from 1 to {MAX_ID}"


def _reject_constant(name: str) -> Any:
    raise BadInput(f"{name} is not a JSON number: send a plain number")


def decode_json(raw: bytes | str, what: str = "the body") -> Any:
    """The JSON value in `raw`, or BadInput saying what is wrong with it."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput(f"{what} is not UTF-8 text: send JSON encoded as UTF-8") from None
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise _too_deep(what) from None
    except ValueError:  # also: a number with more digits than Python converts
        raise BadInput(f"{what} is not valid JSON") from None
    _check(value, what)
    return value


def _too_deep(what: str) -> BadInput:
    return BadInput(f"{what} nests arrays or objects more than {MAX_DEPTH} levels deep")


def _check(value: Any, what: str) -> None:
    """Depth and text: every string (keys too) must be encodable as UTF-8, which a JSON
    escape of half a surrogate pair (such as \\ud800) is not."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, str):
            _check_text(node, what)
        elif isinstance(node, list | dict):
            if depth >= MAX_DEPTH:
                raise _too_deep(what)
            if isinstance(node, dict):
                for key, item in node.items():
                    _check_text(key, what)
                    pending.append((item, depth + 1))
            else:
                pending.extend((item, depth + 1) for item in node)


def _check_text(text: str, what: str) -> None:
    # PostgreSQL's text cannot hold a NUL character, and no one writes one on purpose.
    if "\x00" in text:
        raise BadInput(f"{what} holds a NUL character, which text may not contain")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(
            f"{what} holds text with a broken character (half of a surrogate pair)"
        ) from None


async def json_body(*, required: bool = True) -> Any:
    """The request's JSON body; None when it is empty and not `required`."""
    raw = await request.get_data(cache=True, as_text=False, parse_form_data=False)
    if not raw.strip():
        if required:
            raise BadInput("send a JSON body")
        return None
    # A cross-site form cannot send this content type, which is what keeps the login (which
    # has no CSRF token yet) from being posted by another site.
    if not request.is_json:
        raise BadInput("send the body as JSON, with the header Content-Type: application/json")
    return decode_json(raw)


async def json_object(*, required: bool = True, hint: str = "send a JSON object") -> dict[str, Any]:
    """The request's JSON body, which must be an object; {} when empty and not `required`."""
    body = await json_body(required=required)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadInput(hint)
    return body


async def form_fields() -> MultiDict[str, str]:
    """The request's form (as a provider posts it), every value checked as text."""
    form = await request.form
    for value in form.values():
        _check_text(value, "the form")
    return form


def parse_id(value: object, what: str = "the id", *, minimum: int = 1) -> int:
    """A database id from JSON: a number from 1 (or `minimum`, where 0 means "none yet") to
    2**63 - 1; a string is the wrong type."""
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= MAX_ID:
        raise BadInput(f"{what} must be a whole number from {minimum} to {MAX_ID}")
    return value


def id_from_text(raw: str, what: str) -> int:
    """A database id written in an address (a route or a query): ASCII digits only."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(MAX_ID)):
        raise BadInput(f"{what} must be {ID_RULE}")
    return parse_id(int(raw), what)


def optional_id(body: dict[str, Any], name: str, *, minimum: int = 1) -> int | None:
    """`body[name]` as an id, or None when absent or null."""
    value = body.get(name)
    return None if value is None else parse_id(value, name, minimum=minimum)


def id_list(value: object, what: str) -> list[int]:
    if not isinstance(value, list):
        raise BadInput(f"{what} must be a list of ids")
    return [parse_id(item, what) for item in value]


def text_field(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    """`body[name]`, which must be a string (or, unless `required`, absent or null)."""
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise BadInput(f"send JSON with a {name!r} string")
    return value


def query_int(name: str, *, minimum: int, maximum: int) -> int | None:
    """The query parameter `name` as a whole number in [minimum, maximum]; None if absent."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    rule = f"{name} must be a whole number from {minimum} to {maximum}"
    digits = raw[1:] if raw.startswith("-") else raw
    if not digits.isascii() or not digits.isdigit() or len(digits) > 19:
        raise BadInput(rule)
    number = int(raw)
    if not minimum <= number <= maximum:
        raise BadInput(rule)
    return number


def query_id(name: str) -> int | None:
    """The query parameter `name` as an id; None if absent."""
    raw = request.args.get(name)
    return None if raw is None or raw == "" else id_from_text(raw, name)


class BadPathId(BadRequest):
    """A route's id is out of range: a 400 whose JSON reads like BadInput's."""

    name = "Bad Input"


class IdConverter(IntegerConverter):
    """`<int:...>` in routes: digits only, then checked by `parse_id`, so an id past 64
    bits answers 400 instead of failing in the database."""

    def to_python(self, value: str) -> int:
        try:
            return id_from_text(value, "the id in the address")
        except BadInput as exc:
            raise BadPathId(exc.message) from None


async def check_address() -> None:
    """Before every request and socket: the query's values and the route's text parts are
    text the rest of the code may store or search for (they are decoded leniently, so the
    only thing to refuse is a NUL character). A coroutine, so Quart runs it on the event
    loop rather than handing it to a thread on every request."""
    connection = request if has_request_context() else websocket
    values = [*connection.args.values(), *(connection.view_args or {}).values()]
    for value in values:
        if isinstance(value, str):
            _check_text(value, "the address")


def install(app: Quart) -> None:
    """Use `IdConverter` for the app's `<int:...>` routes (before any is registered) and
    check every request's address."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(check_address)
    app.before_websocket(check_address)
