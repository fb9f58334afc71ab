"""The widget script host pages load with one `<script src=".../widget.js">` tag. Its
source is split into parts with one job each (`static/widget/*.js`); they are fragments
of one function body, which the first part opens and the last closes, so joined in
`PARTS` order they make the one script, its names private to that function as in a
single file. A part is never valid JavaScript alone and is never served alone.

The parts are read and joined once, when the gateway starts (`WIDGET`), never per
request; the script's ETag is a digest of the joined bytes and its Last-Modified the
newest part's, so a browser or CDN revalidates it with a 304 exactly as when it was one
file."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

PARTS_DIR = Path(__file__).parent / "static" / "widget"
# The order is the function body's: setup, the elements, the state and page events,
# drawing, the socket, then what the visitor does and mounting (which closes the function).
PARTS = ("start.js", "dom.js", "state.js", "render.js", "socket.js", "actions.js")


@dataclass(frozen=True)
class WidgetScript:
    body: bytes
    etag: str
    last_modified: datetime


def join_parts(directory: Path = PARTS_DIR, parts: tuple[str, ...] = PARTS) -> WidgetScript:
    """The parts joined with a blank line between them (each ends with a newline)."""
    files = [directory / name for name in parts]
    body = "\n".join(path.read_text(encoding="utf-8") for path in files).encode("utf-8")
    newest = max(path.stat().st_mtime for path in files)
    return WidgetScript(
        body=body,
        etag=hashlib.sha256(body).hexdigest()[:32],
        last_modified=datetime.fromtimestamp(int(newest), UTC),
    )


WIDGET = join_parts()
