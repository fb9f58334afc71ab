"""The customer-HTML sanitizer against hostile email: nothing that runs, loads, navigates
or restyles the page survives; ordinary formatting does."""

from __future__ import annotations

import pytest

from gateway.sanitize import sanitize_html

HOSTILE = {
    "script tag": '<script>alert("x")</script><p>hi</p>',
    "event handler": '<p onclick="alert(1)" onmouseover="alert(2)">hi</p>',
    "javascript link": '<a href="javascript:alert(1)">hi</a>',
    "obfuscated javascript link": '<a href="  JaVaScRiPt:alert(1)">hi</a>',
    "entity javascript link": '<a href="&#106;avascript:alert(1)">hi</a>',
    "data html link": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">hi</a>',
    "svg onload": '<svg onload="alert(1)"><circle r="1"/></svg><p>hi</p>',
    "iframe": '<iframe src="https://evil.example"></iframe><p>hi</p>',
    "object": '<object data="https://evil.example/x.swf"></object><p>hi</p>',
    "form": '<form action="https://evil.example"><input name="card"></form><p>hi</p>',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example"><p>hi</p>',
    "base tag": '<base href="https://evil.example/"><p>hi</p>',
    "style tag": "<style>body{display:none}</style><p>hi</p>",
    "inline style": '<p style="position:fixed;top:0;left:0;width:100%">hi</p>',
    "css url": '<p style="background:url(https://tracker.example/x.gif)">hi</p>',
    "link stylesheet": '<link rel="stylesheet" href="https://evil.example/x.css"><p>hi</p>',
    "remote image": '<img src="https://tracker.example/open.gif?id=42"><p>hi</p>',
    "protocol relative image": '<img src="//tracker.example/open.gif"><p>hi</p>',
    "srcset": '<img srcset="https://tracker.example/a.png 1x"><p>hi</p>',
    "background attribute": '<table background="https://tracker.example/bg.png"><tr><td>hi</td></tr></table>',
    "video poster": '<video poster="https://tracker.example/p.png"></video><p>hi</p>',
    "svg image in data": '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "noscript trick": '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "comment trick": "<!--<img src=x onerror=alert(1)>--><p>hi</p>",
}
FORBIDDEN = (
    "<script",
    "onclick",
    "onmouseover",
    "onload",
    "onerror",
    "javascript:",
    "<iframe",
    "<object",
    "<form",
    "<input",
    "<meta",
    "<base",
    "<style",
    "style=",
    "<link",
    "tracker.example",
    "evil.example",
    "srcset",
    "<svg",
    "data:text/html",
    "data:image/svg",
    "background=",
    "poster=",
)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_html_loses_everything_active(name: str) -> None:
    cleaned = sanitize_html(HOSTILE[name]).html.lower()
    for forbidden in FORBIDDEN:
        assert forbidden not in cleaned, f"{name}: {forbidden} survived in {cleaned!r}"


def test_remote_images_are_counted_as_blocked() -> None:
    result = sanitize_html(
        '<img src="https://t.example/a.gif" alt="logo"><img src="cid:part1">'
        '<img src="data:image/png;base64,iVBORw0KGgo=">'
    )
    assert result.blocked_images == 2
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in result.html
    assert 'alt="logo"' in result.html


def test_ordinary_formatting_and_safe_links_survive() -> None:
    html = (
        "<h2>Order</h2><p>Hello <b>Ada</b>, <i>thanks</i>!</p>"
        '<ul><li>one</li></ul><table><tr><td colspan="2">cell</td></tr></table>'
        '<a href="https://shop.example/orders/42">your order</a> '
        '<a href="mailto:help@shop.example">mail us</a>'
    )
    cleaned = sanitize_html(html)
    for kept in ("<h2>Order</h2>", "<b>Ada</b>", "<li>one</li>", 'colspan="2"', "cell"):
        assert kept in cleaned.html
    assert 'href="https://shop.example/orders/42"' in cleaned.html
    assert 'href="mailto:help@shop.example"' in cleaned.html
    assert 'rel="noopener noreferrer nofollow"' in cleaned.html
    assert 'target="_blank"' in cleaned.html
    assert cleaned.blocked_images == 0
