"""Addresses as Twilio writes them and as Switchboard stores them. SMS numbers are E.164
(`+15551234567`, or a short code for a business number); WhatsApp addresses come as
`whatsapp:+15551234567` and are stored as the bare E.164 number under the address kind
`whatsapp`, so a customer's SMS and WhatsApp identities are distinct. The prefix is added
back when sending."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from gateway.errors import BadInput

ChannelName = Literal["sms", "whatsapp"]
SMS: ChannelName = "sms"
WHATSAPP: ChannelName = "whatsapp"
ADDRESS_KIND: dict[str, Literal["phone", "whatsapp"]] = {SMS: "phone", WHATSAPP: "whatsapp"}
WHATSAPP_PREFIX = "whatsapp:"

_E164 = re.compile(r"\+[1-9]\d{6,14}")
_SHORT_CODE = re.compile(r"\d{3,8}")
_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_SEPARATORS = re.compile(r"[\s\-().]")


@dataclass(frozen=True, slots=True)
class Address:
    channel: ChannelName
    number: str  # without the whatsapp: prefix


def parse_address(raw: str) -> Address:
    """`whatsapp:+1555…` or `+1555…` as a channel and a bare number (not validated:
    a customer may write from anything Twilio can deliver)."""
    value = raw.strip()
    if value.lower().startswith(WHATSAPP_PREFIX):
        return Address(WHATSAPP, value[len(WHATSAPP_PREFIX) :].strip())
    return Address(SMS, value)


def on_channel(channel: str, number: str) -> str:
    """The address Twilio expects for `number` on `channel`."""
    return WHATSAPP_PREFIX + number if channel == WHATSAPP else number


def normalize_number(raw: str) -> str:
    """A business number as an admin types it: E.164 (spaces, dashes and brackets
    allowed) or a short code. Raises BadInput otherwise."""
    value = _SEPARATORS.sub("", parse_address(raw).number)
    if _E164.fullmatch(value) or _SHORT_CODE.fullmatch(value):
        return value
    raise BadInput(
        f"{raw!r} is not a phone number in E.164 form (like +15551234567) or a short code",
        code="bad_number",
    )


def is_service_sid(value: str) -> bool:
    return bool(_SERVICE_SID.fullmatch(value))


def check_service_sid(value: str) -> str:
    if not is_service_sid(value):
        raise BadInput(f"{value!r} is not a Messaging Service SID (MG + 32 hex digits)")
    return value


def check_account_sid(value: str) -> str:
    value = value.strip()
    if not _ACCOUNT_SID.fullmatch(value):
        raise BadInput(f"{value!r} is not a Twilio account SID (AC + 32 hex digits)")
    return value
