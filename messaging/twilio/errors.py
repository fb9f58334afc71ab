"""Twilio's error codes as agents should read them, and which of them mean the customer
opted out. Codes not listed here are shown with Twilio's own message and a link."""

from __future__ import annotations

OPTED_OUT_CODE = "21610"

DESCRIPTIONS = {
    "20003": "Twilio refused the account SID or auth token; check the number's account",
    "20429": "Twilio is rate limiting the account",
    "21211": "the customer's number is not a valid phone number",
    "21408": "sending to this country is not enabled on the Twilio account",
    "21606": "the business number cannot send SMS to this destination",
    "21610": "the customer replied STOP to this number, so Twilio refuses to message them",
    "21612": "Twilio cannot route a message between these two numbers",
    "21614": "the customer's number is not a mobile number",
    "21617": "the message is longer than Twilio's 1,600-character limit",
    "21660": "the business number does not belong to the Twilio account",
    "30003": "the customer's phone is unreachable (switched off or out of coverage)",
    "30004": "the message was blocked by the customer or their carrier",
    "30005": "the customer's number is unknown or no longer in service",
    "30006": "the customer's number is a landline or cannot receive texts",
    "30007": "the carrier filtered the message as spam",
    "30008": "the carrier could not deliver the message (unknown error)",
    "63016": "outside WhatsApp's 24-hour window only approved templates may be sent",
    "63024": "the recipient is not a valid WhatsApp user",
}


def describe(code: str | int | None, fallback: str = "") -> str:
    """A sentence for the queue page: what went wrong, with Twilio's code."""
    if code in (None, ""):
        return fallback or "Twilio reported an error"
    key = str(code)
    text = DESCRIPTIONS.get(key) or fallback or "Twilio reported an error"
    return f"{text} (Twilio error {key}, https://www.twilio.com/docs/api/errors/{key})"


def sentence(code: str | int | None, fallback: str) -> str:
    """What went wrong, in words alone (the agent reads `reference` only on request)."""
    return DESCRIPTIONS.get(str(code)) or fallback


def reference(code: str | int | None, raw: str) -> str:
    """Twilio's own words, with its code and the page that explains it."""
    if code in (None, ""):
        return raw
    return f"Twilio error {code}: {raw} (https://www.twilio.com/docs/api/errors/{code})"
