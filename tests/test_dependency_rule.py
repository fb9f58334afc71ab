"""The dependency rule, read from the code: every import in every package (at the top of a
module or inside a function, and `importlib.import_module` with a literal name) is checked
against what the package may import. The core imports nothing above it; a channel imports
the core and itself (voice may also use the Twilio layer of messaging); handoff imports the
core; the agents' desk imports the core and handoff; only the composition roots in
`server/` import concrete channels. There are no exceptions: a new upward import fails
here, naming the file and the line."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "gateway",
    "handoff",
    "messaging",
    "voice",
    "email_channel",
    "desk",
    "server",
)
# What each package (or channel inside `messaging`) may import besides itself. Anything
# not a Switchboard package (the standard library, third-party libraries) is always fine.
ALLOWED: dict[str, tuple[str, ...]] = {
    "gateway": (),
    "messaging.webchat": ("gateway",),
    "messaging.twilio": ("gateway",),
    "messaging": ("gateway",),  # the package's own __init__
    "voice": ("gateway", "messaging.twilio"),
    "email_channel": ("gateway",),
    "handoff": ("gateway",),
    "desk": ("gateway", "handoff"),
    "server": (*PACKAGES, "messaging.webchat", "messaging.twilio"),
}


def owner(module: str) -> str | None:
    """The unit of the rule a dotted module name belongs to (None: not Switchboard's)."""
    parts = module.split(".")
    if parts[0] not in PACKAGES:
        return None
    if parts[0] == "messaging" and len(parts) > 1 and f"messaging.{parts[1]}" in ALLOWED:
        return f"messaging.{parts[1]}"
    return parts[0]


def imported(tree: ast.AST, package: str) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # a relative import stays inside its own package
                continue
            assert node.module is not None
            yield node.lineno, node.module
            for alias in node.names:  # `from messaging import twilio`
                yield node.lineno, f"{node.module}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def upward_imports() -> list[str]:
    found: dict[tuple[Path, int, str], str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.relative_to(ROOT)
            unit = owner(".".join(source.with_suffix("").parts))
            assert unit is not None
            for line, module in imported(ast.parse(path.read_text(), str(path)), package):
                target = owner(module)
                if target is None or target == unit:
                    continue
                allowed = ALLOWED[unit]
                if not any(target == a or target.startswith(a + ".") for a in allowed):
                    found.setdefault((source, line, target), f"{source}:{line} imports {module}")
    return list(found.values())


def test_no_package_imports_above_itself() -> None:
    assert upward_imports() == []


def test_the_rule_sees_imports_inside_functions_and_by_name() -> None:
    tree = ast.parse(
        "def f():\n"
        "    from handoff.jobs import route_message\n"
        "    import messaging.twilio\n"
        "    importlib.import_module('voice.calls')\n"
        "from messaging import webchat\n"
    )
    modules = {module for _, module in imported(tree, "gateway")}
    assert {"handoff.jobs", "messaging.twilio", "voice.calls", "messaging.webchat"} <= modules
    assert {owner(m) for m in modules} >= {"handoff", "messaging.twilio", "voice"}


def test_only_the_composition_roots_import_concrete_channels() -> None:
    channels = {"messaging.webchat", "messaging.twilio", "voice", "email_channel"}
    for unit, allowed in ALLOWED.items():
        reaches = {a for a in allowed if a in channels or a == "messaging"}
        if unit == "server":
            assert channels <= reaches
        elif unit == "voice":
            assert reaches == {"messaging.twilio"}  # the shared Twilio account layer
        else:
            assert not reaches, unit
