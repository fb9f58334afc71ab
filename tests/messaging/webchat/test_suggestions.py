"""Which knowledge titles the widget's greeting suggests as questions, and how they read."""

from __future__ import annotations

import pytest

from messaging.webchat.suggestions import question_from_title


@pytest.mark.parametrize(
    ("title", "question"),
    [
        ("Opening hours: when are you open?", "When are you open?"),
        (
            "Shipping times: how long does delivery take, when will it arrive?",
            "How long does delivery take?",
        ),
        ("Do you ship  abroad?", "Do you ship abroad?"),
        ("Refunds: a: b: can I get my money back?", "Can I get my money back?"),
        ("Gift cards", None),
        ("Sizes: ?", None),
        ("Long: " + "why " * 30 + "?", None),
    ],
)
def test_a_knowledge_title_reads_as_the_question_it_asks(title: str, question: str | None) -> None:
    assert question_from_title(title) == question
