"""Whatever arrives, `parse_mail` answers without an exception and its summary is JSON:
1,000 generated mails with arbitrary headers (folded, encoded-word, raw 8-bit), bodies,
charsets, transfer encodings and MIME nesting, plus arbitrary bytes."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from email_channel.parsed import parse_mail

HEADER_NAMES = st.sampled_from(
    [
        "From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References", "Date",
        "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Auto-Submitted",
        "Precedence", "List-Id", "X-Loop", "Authentication-Results", "Delivered-To",
    ]
)  # fmt: skip
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
VALUES = st.one_of(
    TEXT,
    st.sampled_from(
        [
            "=?utf-8?b?w6TDtsO8?=", "=?iso-8859-1?q?caf=E9?=", "=?bogus?x?zz?=", "<a@b>",
            "multipart/mixed; boundary=B", "multipart/report; report-type=delivery-status",
            'text/plain; charset="x-unknown"', "base64", "quoted-printable", "x-uuencode",
            "attachment; filename*=utf-8''%E2%82%AC.pdf", "a@b, <c@d>, \"e\" <f@g>", "",
        ]
    ),
)  # fmt: skip
BODIES = st.one_of(
    TEXT,
    st.binary(max_size=200).map(lambda raw: raw.decode("latin-1")),
    st.just("--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n--B--\r\n"),
    st.just("--B\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n--B"),
)


@st.composite
def raw_mails(draw: st.DrawFn) -> bytes:
    lines = []
    for name, value in draw(st.lists(st.tuples(HEADER_NAMES, VALUES), max_size=12)):
        fold = draw(st.booleans())
        value = value.replace("\n", " ")
        lines.append(f"{name}: {value[:40]}\r\n\t{value[40:]}" if fold else f"{name}: {value}")
    body = draw(BODIES)
    text = "\r\n".join(lines) + "\r\n\r\n" + body
    return text.encode("utf-8", "surrogateescape")


@settings(max_examples=900, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_mails())
def test_generated_mails_parse_without_an_exception(raw: bytes) -> None:
    parsed = parse_mail(raw, own_domain="shop.example", envelope_from="")
    json.dumps(parsed.summary())
    assert parsed.kind in {"message", "auto_reply", "out_of_office", "bounce", "list", "own_loop"}
    assert len(parsed.provider_id()) == 64


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_parse_without_an_exception(raw: bytes) -> None:
    json.dumps(parse_mail(raw).summary())
