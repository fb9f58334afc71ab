"""Twilio's webhooks: `POST /twilio/sms` for incoming SMS, MMS and WhatsApp messages and
`POST /twilio/sms/status` for delivery status callbacks. Each request is verified
against the auth token of the account that owns the number before anything is read into
the database; a missing or wrong signature gets 403 and changes nothing, whether or not
the number is registered (only a correctly signed request hears that it is not). A signed
request carrying `CHECK_FIELD` is the admins' "test the webhook URL" (see
`messaging.twilio.webhook_check`): it is answered with its one-time value and creates
nothing. For every other, the number's last-webhook time is noted. Incoming messages go
through intake (a repeated MessageSid is recognized there) and are answered
at once with empty TwiML: the AI and the media downloads run in jobs."""

from __future__ import annotations

from quart import Blueprint, Response, request
from quart.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from gateway.errors import BadInput, Forbidden
from gateway.inputs import form_fields, query_id
from gateway.web import app_services
from messaging.twilio.addresses import parse_address
from messaging.twilio.inbound import receive
from messaging.twilio.lines import find_for_webhook, refuse_unregistered
from messaging.twilio.models import TwilioAccount, TwilioMessagePart
from messaging.twilio.outbound import STATUS_PATH
from messaging.twilio.signature import HEADER, mismatch, signature_valid, webhook_url
from messaging.twilio.status import apply_callback
from messaging.twilio.webhook_check import CHECK_FIELD, CHECK_HEADER, CHECK_VALUE
from messaging.twilio.webhook_times import note_webhook

twilio_webhooks = Blueprint("twilio_webhooks", __name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _twiml() -> Response:
    return Response(EMPTY_TWIML, status=200, content_type="text/xml; charset=utf-8")


def _signature() -> str:
    signature = request.headers.get(HEADER)
    if not signature:
        raise Forbidden(f"the request has no {HEADER} header", code="bad_signature")
    return signature


def _signed_with(auth_token: str, form: MultiDict[str, str], signature: str) -> bool:
    settings = app_services().services.settings
    raw_path = request.scope.get("raw_path") or request.path.encode()
    url = webhook_url(
        settings,
        scheme=request.scheme,
        host=request.host,
        path=raw_path.decode("latin-1"),
        query_string=request.query_string,
        headers=request.headers,
    )
    return signature_valid(auth_token, url, form, signature)


def _verify(auth_token: str, account_sid: str, form: MultiDict[str, str], signature: str) -> None:
    if not _signed_with(auth_token, form, signature):
        raise mismatch()
    if form.get("AccountSid") != account_sid:
        raise Forbidden("the request names another Twilio account", code="wrong_account")


@twilio_webhooks.post("/twilio/sms")
async def incoming() -> ResponseReturnValue:
    state = app_services()
    services = state.services
    signature = _signature()
    form = await form_fields()
    business = parse_address(form.get("To", ""))
    line = await find_for_webhook(
        services.db, business.number, form.get("MessagingServiceSid") or None
    )
    if line is None:
        await refuse_unregistered(
            services.db,
            form.get("AccountSid", ""),
            lambda token: _signed_with(token, form, signature),
        )
    _verify(line.auth_token, line.account_sid, form, signature)
    if check := form.get(CHECK_FIELD):
        if not CHECK_VALUE.fullmatch(check):  # it goes back in a header: nothing else fits
            raise BadInput("a webhook test's value is 1 to 64 letters, digits, - or _")
        answer = _twiml()
        answer.headers[CHECK_HEADER] = check
        return answer
    await note_webhook(services.events.redis, line.address)
    sender = parse_address(form.get("From", ""))
    if sender.channel != business.channel:
        raise BadInput("From and To must both be WhatsApp addresses, or both phone numbers")
    channel = services.channels.get(sender.channel)
    for inbound in channel.parse(line.organization_id, form.to_dict()):
        await receive(services, state.intake, inbound)
    return _twiml()


@twilio_webhooks.post(STATUS_PATH)
async def status_callback() -> ResponseReturnValue:
    services = app_services().services
    signature = _signature()
    try:
        part_id = query_id("part")
    except BadInput:
        part_id = None  # answered as an unknown part is: the same 403 to every stranger
    form = await form_fields()
    async with services.db.transaction() as session:
        part = None if part_id is None else await session.get(TwilioMessagePart, part_id)
        account = None if part is None else await session.get(TwilioAccount, part.account_id)
    if part_id is None or account is None:
        # Which message parts exist is nobody's business but a signed caller's.
        await refuse_unregistered(
            services.db,
            form.get("AccountSid", ""),
            lambda token: _signed_with(token, form, signature),
        )
    _verify(account.auth_token, account.account_sid, form, signature)
    await apply_callback(services, part_id, form.to_dict())
    return _twiml()
