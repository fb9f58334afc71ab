"""The rules every TwiML document Switchboard returns must keep, checked on the parsed
XML: the root is <Response>; every URL is posted (method, waitMethod, statusCallbackMethod
are POST); every <Gather> posts on silence and, when it listens for speech, names a speech
model with speechTimeout="auto"; hold audio holds only Say, Play, Pause and Redirect; the
agent's whisper holds no <Dial>; spoken text carries no markup."""

from __future__ import annotations

import xml.etree.ElementTree as ET

HOLD_VERBS = {"Say", "Play", "Pause", "Redirect"}


def check(document: str, role: str = "call") -> ET.Element:
    """Parse `document` and assert the rules (`role`: call, hold or whisper)."""
    assert document.startswith("<?xml"), document[:80]
    root = ET.fromstring(document)
    assert root.tag == "Response", root.tag
    for element in root.iter():
        tag = element.tag
        if tag == "Gather":
            assert element.get("method") == "POST", document
            assert element.get("action", "").startswith("http"), document
            assert element.get("actionOnEmptyResult") == "true", document
            if "speech" in element.get("input", ""):
                assert element.get("speechModel"), document
                assert element.get("speechTimeout") == "auto", document
            assert "enhanced" not in element.attrib, document
        if tag == "Redirect":
            assert element.get("method") == "POST", document
            assert (element.text or "").startswith("http"), document
        if tag == "Dial" and element.get("action"):
            assert element.get("method") == "POST", document
        if tag == "Conference":
            if element.get("waitUrl"):
                assert element.get("waitMethod") == "POST", document
            if element.get("statusCallback"):
                assert element.get("statusCallbackMethod") == "POST", document
            assert element.get("beep") == "false", document
        if tag == "Say":
            assert "<" not in (element.text or "") and (element.text or "").strip(), document
    if role == "hold":
        assert {child.tag for child in root} <= HOLD_VERBS, document
    if role == "whisper":
        assert not any(element.tag == "Dial" for element in root.iter()), document
    return root


def spoken(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iter("Say")]
