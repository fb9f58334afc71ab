"""axe-core, the accessibility engine (the npm package, which `scripts/test` installs under
`.node/`), run inside the test browser on the agents' pages. The page's Content-Security-
Policy lets scripts load only from the gateway, so the test browser is served axe's file at
a path on the gateway's own origin; the gateway itself never ships it."""

from __future__ import annotations

from typing import Any

from playwright.async_api import BrowserContext, Page, Route

from tests.support.browser import REPO_ROOT
from tests.support.servers import ServerUnavailable

AXE_VERSION = "4.14.1"
AXE_FILE = REPO_ROOT / ".node" / "node_modules" / "axe-core" / "axe.min.js"
AXE_PATH = "/__test__/axe.min.js"
SERIOUS = ("serious", "critical")

_RUN = """async (impacts) => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => impacts.includes(v.impact))
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.map((n) => n.target.join(" ") + ": " + n.failureSummary) }));
}"""


def axe_source() -> str:
    """axe.min.js as installed by `scripts/test`."""
    if not AXE_FILE.is_file():
        raise ServerUnavailable(
            f"axe-core is not installed ({AXE_FILE}): run scripts/test, which runs "
            f"npm install --prefix .node axe-core@{AXE_VERSION}"
        )
    return AXE_FILE.read_text(encoding="utf-8")


async def serve_axe(context: BrowserContext, base_url: str, source: str) -> None:
    """Answer the gateway-origin AXE_PATH with axe's file, in this browser context only."""

    async def fulfil(route: Route) -> None:
        await route.fulfill(body=source, content_type="application/javascript")

    await context.route(f"{base_url}{AXE_PATH}", fulfil)


async def serious_violations(page: Page, where: str) -> list[str]:
    """The serious and critical violations on the page as it is now, one line per node."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(url=AXE_PATH)
    found: list[dict[str, Any]] = await page.evaluate(_RUN, list(SERIOUS))
    return [
        f"{where}: {violation['id']} ({violation['impact']}, {violation['help']}) at {node}"
        for violation in found
        for node in violation["nodes"]
    ]
