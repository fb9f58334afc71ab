"""DKIM signing of outgoing mail in Switchboard itself (RFC 6376, with `dkimpy`), for a
mailbox whose outgoing mail server does not sign for its domain. A mailbox holds a
selector and an RSA private key (PEM, at least 1024 bits; 2048 advised); replies from it
are signed `d=<mailbox domain>; s=<selector>` with relaxed/relaxed canonicalization, so
relays that re-fold headers or trailing spaces do not break the signature. The bytes
signed are the bytes sent: the message is serialized once, 7-bit clean with CRLF line
endings, and handed to the transport as such. The private key never leaves this module's
callers; `dns_record` gives the public half as the TXT record to publish."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP

import dkim
from dkim.crypto import UnparsableKeyError, parse_pem_private_key

from gateway.errors import BadInput

MIN_BITS = 1024  # what verifiers accept (dkimpy's own `minkey`); 2048 is advised
_WIRE = SMTP.clone(cte_type="7bit")  # CRLF, and 8-bit bodies encoded: any server takes it
# Signed when present; From twice so that a second From added on the way breaks it.
HEADERS = (
    b"from",
    b"from",
    b"to",
    b"cc",
    b"reply-to",
    b"subject",
    b"date",
    b"message-id",
    b"in-reply-to",
    b"references",
    b"auto-submitted",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
)


@dataclass(frozen=True, slots=True)
class DkimKey:
    domain: str
    selector: str
    private_key: str  # PEM

    @property
    def dns_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"


def check_key(selector: str, private_key: str) -> tuple[str, str]:
    """The selector and PEM key, cleaned, or BadInput saying what is wrong with them."""
    selector = selector.strip().lower()
    labels = selector.split(".")
    if not selector or len(selector) > 63 or not all(_label(label) for label in labels):
        raise BadInput("the DKIM selector must be a DNS label such as sb2026 or mail-1")
    pem = private_key.strip().replace("\r\n", "\n") + "\n"
    try:
        modulus = parse_pem_private_key(pem.encode())["modulus"]
    except (UnparsableKeyError, ValueError, TypeError, IndexError, KeyError):
        raise BadInput(
            "the DKIM key must be an RSA private key in PEM form "
            "(for example from: openssl genrsa -out dkim.pem 2048)"
        ) from None
    if modulus.bit_length() < MIN_BITS:
        raise BadInput(f"the DKIM key has {modulus.bit_length()} bits; use 2048")
    return selector, pem


def sign(message: EmailMessage, key: DkimKey) -> bytes:
    """`message` as it goes on the wire, with a DKIM-Signature header in front."""
    raw = message.as_bytes(policy=_WIRE)
    header = dkim.sign(
        raw,
        key.selector.encode(),
        key.domain.encode(),
        key.private_key.encode(),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[name for name in HEADERS if message.get(name.decode()) is not None],
    )
    return bytes(header) + raw


def dns_record(key: DkimKey) -> str:
    """The TXT record's value that lets receivers verify the signature."""
    private = parse_pem_private_key(key.private_key.encode())
    public = _spki(private["modulus"], private["publicExponent"])
    return f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}"


def _label(label: str) -> bool:
    return bool(label) and label.replace("-", "").replace("_", "").isalnum() and label.isascii()


def _spki(modulus: int, exponent: int) -> bytes:
    """DER SubjectPublicKeyInfo of an RSA public key (what `p=` carries)."""
    rsa_key = _der(0x30, _integer(modulus) + _integer(exponent))
    rsa_encryption = bytes.fromhex("06092a864886f70d010101") + bytes.fromhex("0500")
    return _der(0x30, _der(0x30, rsa_encryption) + _der(0x03, b"\x00" + rsa_key))


def _integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # a leading 0 keeps it positive
    return _der(0x02, body)


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body
