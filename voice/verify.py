"""The check every voice route makes before it reads anything into the database: the
request carries `X-Twilio-Signature`, the signature matches the raw URL Twilio called
(query included, as sent) and the form, under the auth token of the account that owns the
call, and the form names that account. A failure is 403 and changes nothing, and a request
that names an unknown number, call or transfer attempt gets the same 403 unless it is
signed with a known account's token, so a stranger learns nothing from the answer."""

from __future__ import annotations

from typing import NoReturn

from quart import request
from werkzeug.datastructures import MultiDict

from gateway.db import Database
from gateway.errors import Forbidden
from gateway.settings import Settings
from messaging.twilio.lines import refuse_unregistered
from messaging.twilio.signature import HEADER, mismatch, signature_valid, webhook_url


def signature_header() -> str:
    signature = request.headers.get(HEADER)
    if not signature:
        raise Forbidden(f"the request has no {HEADER} header", code="bad_signature")
    return signature


def called_url(settings: Settings) -> str:
    """The URL Twilio called for this request, as it signed it (the query as sent)."""
    raw_path = request.scope.get("raw_path") or request.path.encode()
    return webhook_url(
        settings,
        scheme=request.scheme,
        host=request.host,
        path=raw_path.decode("latin-1"),
        query_string=request.query_string,
        headers=request.headers,
    )


def signed_with(
    settings: Settings, auth_token: str, form: MultiDict[str, str], signature: str
) -> bool:
    return signature_valid(auth_token, called_url(settings), form, signature)


def verify(
    settings: Settings,
    *,
    auth_token: str,
    account_sid: str,
    form: MultiDict[str, str],
    signature: str,
) -> None:
    if not signed_with(settings, auth_token, form, signature):
        raise mismatch()
    if form.get("AccountSid") != account_sid:
        raise Forbidden("the request names another Twilio account", code="wrong_account")


async def refuse_unknown(
    db: Database, settings: Settings, form: MultiDict[str, str], signature: str
) -> NoReturn:
    """A request naming a number, call or attempt we do not know: only a caller signing
    with a known account's token hears so (404); anyone else gets the bad-signature 403."""
    await refuse_unregistered(
        db,
        form.get("AccountSid", ""),
        lambda token: signed_with(settings, token, form, signature),
    )
