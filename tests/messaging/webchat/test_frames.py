"""The page path a widget message carries: kept as a bare path, dropped when it is
anything else (it only names a visitor; it must never refuse their message)."""

from __future__ import annotations

import json

import pytest

from messaging.webchat.frames import ChatMessage, parse_frame


@pytest.mark.parametrize(
    ("page", "kept"),
    [
        ("/products", "/products"),
        ("/checkout?token=2wCaKmbfp#step-2", "/checkout"),
        ("https://shop.example/products", None),
        ("/" + "a" * 300, None),
        ("/line\nbreak", None),
        (42, None),
        (None, None),
    ],
)
def test_a_message_keeps_only_the_path_of_its_page(page: object, kept: str | None) -> None:
    frame = parse_frame(json.dumps({"type": "message", "id": "m1", "text": "hi", "page": page}))
    assert frame == ChatMessage("m1", "hi", kept)
