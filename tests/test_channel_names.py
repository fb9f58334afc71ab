"""No channel's name is written outside its own package: the core, handoff, the agents'
desk and the composition roots learn channel names, labels and capabilities from the
plug-ins, so every string in their Python, and every quoted word in their pages and
scripts, is checked against the names the plug-ins declare. (Address kinds, the
contact-identity vocabulary of `gateway.messages`, are a `Literal` type, not a channel.)"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from server.plugins import PLUGINS

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE_THE_CHANNELS = ("gateway", "handoff", "desk", "server")
# "email" names the email channel but is also the agents' login field and an address kind,
# so a string "email" cannot be told apart here; every other channel name is unambiguous.
HOMONYMS = {"email"}
NAMES = {spec.name for plugin in PLUGINS for spec in plugin.channels} - HOMONYMS


def python_mentions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    in_literal_types = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.Subscript) and getattr(node.value, "id", None) == "Literal"
        for inner in ast.walk(node.slice)
    }
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and node.value in NAMES
        and id(node) not in in_literal_types
    ]


def page_mentions(path: Path) -> list[str]:
    alternatives = "|".join(map(re.escape, sorted(NAMES)))
    quoted = re.compile(rf"""["']({alternatives})["']""")
    return [
        f"{path.relative_to(ROOT)}:{number} {line.strip()[:80]}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if quoted.search(line)
    ]


def test_the_plugins_declare_the_names_looked_for() -> None:
    assert {"webchat", "sms", "whatsapp", "voice"} <= NAMES


def test_no_channel_name_is_written_outside_its_package() -> None:
    found = []
    for package in OUTSIDE_THE_CHANNELS:
        for path in sorted((ROOT / package).rglob("*")):
            if path.suffix == ".py":
                found += python_mentions(path)
            elif path.suffix in (".js", ".html"):
                found += page_mentions(path)
    assert found == []
