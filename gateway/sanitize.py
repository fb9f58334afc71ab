"""Customer HTML (email bodies) made safe to show on the agents' page, with the `nh3`
binding of the Ammonia sanitizer. What survives is a fixed list of formatting tags with
harmless attributes: no script, style sheet, inline style, event handler, form, frame, or
SVG; links only to http, https, mailto and tel, opening in a new tab without a referrer;
images only when embedded as `data:` rasters. A remote image (a tracking pixel, say) loses
its source, and the count of those is reported so the page can say how many were blocked.
The page also shows the result in a sandboxed frame under a strict policy: this is the
first of two walls, not the only one."""

from __future__ import annotations

import re
from dataclasses import dataclass

import nh3

TAGS = frozenset(nh3.ALLOWED_TAGS - {"area", "map"})
ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "hreflang", "title"},
    "img": {"src", "alt", "width", "height", "title"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start"},
    "blockquote": {"cite"},
}
LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
IMAGE_DATA = re.compile(r"data:image/(png|gif|jpeg|webp);base64,[A-Za-z0-9+/=\s]+", re.ASCII)
MAX_HTML_CHARS = 2_000_000


@dataclass(frozen=True, slots=True)
class SanitizedHtml:
    html: str
    blocked_images: int  # remote (or otherwise unshowable) images whose source was removed


def sanitize_html(raw: str) -> SanitizedHtml:
    """The safe form of `raw`, and how many images lost their source."""
    blocked = 0

    def keep(tag: str, attribute: str, value: str) -> str | None:
        nonlocal blocked
        if tag == "img" and attribute == "src":
            if IMAGE_DATA.fullmatch(value.strip()):
                return value
            blocked += 1
            return None
        if tag == "a" and attribute == "href":
            scheme = value.split(":", 1)[0].strip().lower() if ":" in value else ""
            return value if scheme in LINK_SCHEMES else None
        return value

    cleaned = nh3.clean(
        raw[:MAX_HTML_CHARS],
        tags=set(TAGS),
        clean_content_tags={"script", "style", "template", "noscript", "title", "head"},
        attributes=ATTRIBUTES,
        attribute_filter=keep,
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
        url_schemes=set(LINK_SCHEMES) | {"data", "cid"},  # images are judged in keep()
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
    return SanitizedHtml(cleaned, blocked)
