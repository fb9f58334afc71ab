"""Quoted history in replies that `mail-parser-reply` does not recognize is still cut,
with `quotequail`'s reply headers (Portuguese, Spanish as Gmail writes it); a `>` quote
without an attribution line and a mail without quotes keep their text; a forward is
never taken for a reply by the second look (what it forwards stays in the full text)."""

from __future__ import annotations

import pytest

from email_channel import quotes
from email_channel.parsed import parse_mail
from tests.email.helpers import mail

QUOTED = "> Your order ships on Monday.\n> Shop Support\n"


@pytest.mark.parametrize(
    ("body", "new"),
    [
        (
            "Obrigado, resolvido.\n\nEm seg., 1 de jan. de 2024 às 10:00, Loja "
            f"<support@shop.example> escreveu:\n{QUOTED}",
            "Obrigado, resolvido.",
        ),
        (
            "Gracias, llegó hoy.\n\nEl lun, 1 ene 2024 a las 10:00, Shop "
            f"(<support@shop.example>) escribió:\n\n{QUOTED}",
            "Gracias, llegó hoy.",
        ),
        (
            f"Thanks!\n\nOn Mon, 1 Jan 2024 at 10:00, Shop <support@shop.example> wrote:\n{QUOTED}",
            "Thanks!",
        ),
        # Inline answers under a quoted question: no attribution, nothing is cut.
        (
            "About this:\n> Can I change the address?\nYes, to 5 Main St.\n",
            "About this:\n> Can I change the address?\nYes, to 5 Main St.",
        ),
        ("Hello, where is my order 1234?\n", "Hello, where is my order 1234?"),
    ],
)
def test_new_text_without_the_quoted_history(body: str, new: str) -> None:
    parsed = parse_mail(mail(body=body), own_domain="shop.example")
    assert parsed.text == new
    assert "Your order ships on Monday" not in parsed.text
    assert parsed.full_text.replace("\r\n", "\n").strip() == body.strip()  # kept whole


def test_a_forward_is_not_cut_as_a_reply() -> None:
    body = (
        "Please see what the courier wrote:\n\n---------- Forwarded message ---------\n"
        "From: Courier <track@courier.example>\nSubject: Delivery failed\n\nWe could not deliver.\n"
    )
    parsed = parse_mail(mail(body=body), own_domain="shop.example")
    assert parsed.text.startswith("Please see what the courier wrote:")
    assert "We could not deliver." in parsed.full_text


def test_the_second_look_reads_only_the_head_of_a_long_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # quotequail's time grows faster than its input: a hostile mail of many quote-like
    # lines must not reach it whole.
    seen: list[str] = []
    unwrap = quotes.quotequail.unwrap

    def recording(text: str):  # type: ignore[no-untyped-def]
        seen.append(text)
        return unwrap(text)

    monkeypatch.setattr(quotes.quotequail, "unwrap", recording)
    body = "Obrigado.\n\nEm seg., 1 de jan. de 2024 às 10:00, Loja <s@shop.example> escreveu:\n"
    assert quotes.new_text(body + "> old words here\n" * 20_000) == "Obrigado."
    (looked_at,) = seen
    assert looked_at.count("\n") < quotes.HEAD_LINES and len(looked_at) <= quotes.HEAD_CHARS
