"""The widget's wire protocol: JSON text frames. Client frames are parsed here into small
typed values (anything else is a `BadFrame`, answered with an error frame while the socket
stays open); server frames are built here, so their shapes live in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.errors import BadInput
from gateway.inputs import decode_json

MAX_FRAME_BYTES = 64 * 1024
MAX_ID_CHARS = 64
MAX_PAGE_CHARS = 200

# Close codes (4000-4999 are the application's own).
CLOSE_TOO_LARGE = 1009
CLOSE_UNAVAILABLE = 1011
CLOSE_BAD_TOKEN = 4401
CLOSE_ORIGIN = 4403
CLOSE_UNKNOWN_KEY = 4404
CLOSE_HELLO_TIMEOUT = 4408
CLOSE_TOO_MANY_NEW = 4429  # too many new visitor identities from one address; final


class BadFrame(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Hello:
    token: str | None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    id: str
    text: str
    page: str | None = None  # the path of the page the visitor wrote from


def page_path(raw: object) -> str | None:
    """The path of the visitor's page, or None: only a path ("/products"), cut before any
    query or fragment, printable, at most MAX_PAGE_CHARS; anything else is dropped, since
    it only helps name a visitor and must never refuse their message."""
    if not isinstance(raw, str) or not raw.startswith("/"):
        return None
    path = raw.split("?", 1)[0].split("#", 1)[0]
    if len(path) > MAX_PAGE_CHARS or not path.isprintable():
        return None
    return path


@dataclass(frozen=True, slots=True)
class Typing:
    pass


@dataclass(frozen=True, slots=True)
class Ping:
    pass


ClientFrame = Hello | ChatMessage | Typing | Ping


def frame_size(raw: str | bytes) -> int:
    return len(raw.encode()) if isinstance(raw, str) else len(raw)


def parse_frame(raw: str | bytes) -> ClientFrame:
    """One client frame, or BadFrame saying what is wrong with it."""
    if isinstance(raw, bytes):
        raise BadFrame("frames must be JSON text, not binary")
    try:
        body = decode_json(raw, "the frame")
    except BadInput as exc:
        raise BadFrame(exc.message) from None
    if not isinstance(body, dict):
        raise BadFrame("a frame must be a JSON object")
    kind = body.get("type")
    if kind == "hello":
        token = body.get("token")
        if token is not None and not isinstance(token, str):
            raise BadFrame("hello.token must be a string or null")
        return Hello(token or None)
    if kind == "message":
        frame_id, text = body.get("id"), body.get("text")
        if not isinstance(frame_id, str) or not 1 <= len(frame_id) <= MAX_ID_CHARS:
            raise BadFrame(f"message.id must be a string of 1 to {MAX_ID_CHARS} characters")
        if not isinstance(text, str):
            raise BadFrame("message.text must be a string")
        return ChatMessage(frame_id, text, page_path(body.get("page")))
    if kind == "typing":
        return Typing()
    if kind == "ping":
        return Ping()
    raise BadFrame(f"unknown frame type: {kind!r}" if isinstance(kind, str) else "no frame type")


def error(code: str, message: str, *, frame_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if frame_id is not None:
        frame["id"] = frame_id
    return frame


def message(data: Mapping[str, Any]) -> dict[str, Any]:
    """A message for the visitor, from a live event's data or a history entry."""
    return {
        "type": "message",
        "message_id": data.get("message_id", data.get("id")),
        "author": data.get("author"),
        "author_name": data.get("author_name"),
        "text": data.get("text", ""),
        "notice": data.get("notice"),
    }


def state(value: str, agent_name: str | None) -> dict[str, Any]:
    return {"type": "state", "state": value, "agent_name": agent_name}


def typing(author: str, author_name: str | None = None) -> dict[str, Any]:
    return {"type": "typing", "author": author, "author_name": author_name}


def ack(frame_id: str, message_id: int, duplicate: bool) -> dict[str, Any]:
    return {"type": "ack", "id": frame_id, "message_id": message_id, "duplicate": duplicate}
