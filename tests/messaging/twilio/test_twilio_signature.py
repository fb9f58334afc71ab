"""Signature verification (`messaging.twilio.signature`): the test vectors from
twilio-python's own test suite (tests/unit/test_request_validator.py) run through our
`signature_valid`, and the URL Twilio signed rebuilt behind a proxy."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import Headers, MultiDict

from gateway.settings import Settings
from messaging.twilio.signature import signature_valid, webhook_url

# twilio-python's vectors: auth token "12345", this URL and these parameters.
TOKEN = "12345"
URI = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
DUPLICATE_EXPECTED = "IK+Dwps556ElfBT0I3Rgjkr1wJU="
BODY = '{"property": "value", "boolean": true}'
BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"


def test_the_reference_vector_validates() -> None:
    assert signature_valid(TOKEN, URI, PARAMS, EXPECTED)


def test_repeated_parameters_are_signed_in_sorted_order() -> None:
    params = MultiDict(
        [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    )
    assert signature_valid(TOKEN, URI, params, DUPLICATE_EXPECTED)


@pytest.mark.parametrize(
    ("uri", "signature"),
    [
        (URI.replace(".com", ".com:1234"), EXPECTED),  # a port Twilio left out of the signature
        (URI.replace(".com", ".com:1234").replace("https", "http"), "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        (URI, "kvajT1Ptam85bY51eRf/AJRuM3w="),  # signed with :443
        (URI.replace("https", "http"), "0ZXoZLH/DfblKGATFgpif+LLRf4="),  # signed with :80
    ],
    ids=["removes-port-https", "removes-port-http", "adds-port-https", "adds-port-http"],
)
def test_ports_are_tried_with_and_without(uri: str, signature: str) -> None:
    assert signature_valid(TOKEN, uri, PARAMS, signature)


def test_a_json_body_is_checked_against_its_hash() -> None:
    uri = f"{URI}&bodySHA256={BODY_HASH}"
    assert signature_valid(TOKEN, uri, BODY, "a9nBmqA0ju/hNViExpshrM61xv4=")
    assert not signature_valid(
        TOKEN, uri, BODY.replace("true", "false"), "a9nBmqA0ju/hNViExpshrM61xv4="
    )


@pytest.mark.parametrize(
    ("token", "uri", "params", "signature"),
    [
        ("54321", URI, PARAMS, EXPECTED),  # another account's token
        (TOKEN, URI.replace("foo=1", "foo=2"), PARAMS, EXPECTED),  # another query string
        (TOKEN, URI, {**PARAMS, "Digits": "9999"}, EXPECTED),  # a changed parameter
        (TOKEN, URI, {**PARAMS, "Extra": "x"}, EXPECTED),  # an added parameter
        (TOKEN, URI, PARAMS, ""),  # no signature
        (TOKEN, URI, PARAMS, EXPECTED + "x" * 200),  # absurdly long
        ("", URI, PARAMS, EXPECTED),  # no token configured
    ],
    ids=["token", "query", "changed", "added", "empty", "long", "no-token"],
)
def test_anything_else_is_refused(token: str, uri: str, params: object, signature: str) -> None:
    assert not signature_valid(token, uri, params, signature)


def _url(settings: Settings, headers: dict[str, str], path: str = "/twilio/sms") -> str:
    return webhook_url(
        settings,
        scheme="http",
        host="10.0.0.5:8080",
        path=path,
        query_string=b"part=12",
        headers=Headers(headers),
    )


FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "sms.example.org, proxy.internal",
    "X-Forwarded-Port": "8443",
}


def test_the_public_url_wins_and_keeps_its_path_prefix() -> None:
    settings = Settings(public_url="https://example.org/support", trust_forwarded_headers=True)
    assert _url(settings, FORWARDED) == "https://example.org/support/twilio/sms?part=12"
    # a proxy that forwards the prefix unchanged does not get it twice
    prefixed = _url(settings, {}, path="/support/twilio/sms")
    assert prefixed == "https://example.org/support/twilio/sms?part=12"


def test_forwarded_headers_count_only_when_trusted() -> None:
    trusted = Settings(public_url=None, trust_forwarded_headers=True)
    untrusted = Settings(public_url=None, trust_forwarded_headers=False)
    assert _url(trusted, FORWARDED) == "https://sms.example.org:8443/twilio/sms?part=12"
    assert _url(trusted, {**FORWARDED, "X-Forwarded-Port": "443"}) == (
        "https://sms.example.org/twilio/sms?part=12"
    )
    assert _url(untrusted, FORWARDED) == "http://10.0.0.5:8080/twilio/sms?part=12"
