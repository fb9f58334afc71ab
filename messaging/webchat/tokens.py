"""Visitor identity for the web chat widget. A visitor is who the signed token says: the
gateway issues it on the first connection, the widget keeps it in the browser, and shows
it again on every later connection to find the same conversation. The token is bound to
one organization, so a token taken to another organization's widget is refused."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from gateway.errors import NotAuthenticated

SALT = "switchboard.widget-visitor"
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, slots=True)
class Visitor:
    organization_id: int
    visitor_id: str
    token: str


class VisitorTokens:
    def __init__(self, secret_key: str, max_age_days: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt=SALT)
        self._max_age = max_age_days * SECONDS_PER_DAY

    def issue(self, organization_id: int, visitor_id: str | None = None) -> Visitor:
        """A token for a new visitor (or for `visitor_id`) of the organization."""
        visitor_id = visitor_id or new_visitor_id()
        token = self._serializer.dumps({"o": organization_id, "v": visitor_id})
        return Visitor(organization_id, visitor_id, token)

    def verify(self, token: str, organization_id: int) -> Visitor:
        """The visitor the token names; raises NotAuthenticated (`bad_token` or
        `expired_token`) for a forged, damaged, expired or foreign token."""
        try:
            payload: Any = self._serializer.loads(token, max_age=self._max_age)
        except SignatureExpired as exc:
            raise NotAuthenticated("this visitor token has expired", code="expired_token") from exc
        except BadData as exc:
            raise NotAuthenticated("this visitor token is not valid", code="bad_token") from exc
        if not isinstance(payload, dict):
            raise NotAuthenticated("this visitor token is not valid", code="bad_token")
        visitor_id = payload.get("v")
        if payload.get("o") != organization_id or not isinstance(visitor_id, str):
            raise NotAuthenticated("this visitor token belongs to another widget", code="bad_token")
        return Visitor(organization_id, visitor_id, token)


def new_visitor_id() -> str:
    return secrets.token_urlsafe(16)
