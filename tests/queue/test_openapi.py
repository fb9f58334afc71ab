"""The OpenAPI document: served without login, it lists every `/api/` route the app serves;
every route of the queue page's API is described with its body and answers (so a new one
without a description fails here); every `$ref` resolves."""

from __future__ import annotations

import re
from typing import Any

from quart import Quart

# The routes the queue page uses (accounts, people, queue, conversations, live, dashboard).
PAGE_API = (
    "/api/login",
    "/api/logout",
    "/api/me",
    "/api/password",
    "/api/agents",
    "/api/teams",
    "/api/queue",
    "/api/labels",
    "/api/conversations",
    "/api/canned-responses",
    "/api/dashboard",
    "/api/live",
    "/api/events",
    "/api/presence",
    "/api/openapi.json",
)


def page_api(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PAGE_API)


def refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(refs(item) for item in node)) if node else set()
    return set()


async def test_every_api_route_is_documented(app: Quart) -> None:
    response = await app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    document = await response.get_json()

    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        if getattr(rule, "websocket", False):
            served.add(("get", path))
            continue
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            served.add((method.lower(), path))
    documented = {(method, path) for path, item in document["paths"].items() for method in item}

    assert served - documented == set()
    undescribed = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "undocumented" in operation["tags"] and page_api(path)
    }
    assert undescribed == set()
    assert document["openapi"].startswith("3.1")
    for key in ("/api/queue/{view}", "/api/live", "/api/conversations/{conversation_id}"):
        assert key in document["paths"]
    assert document["paths"]["/api/live"]["get"]["x-websocket"] is True


async def test_every_reference_resolves(app: Quart) -> None:
    document = await (await app.test_client().get("/api/openapi.json")).get_json()
    schemas = document["components"]["schemas"]
    names = {ref.rsplit("/", 1)[-1] for ref in refs(document)}
    assert names <= set(schemas)
    assert {"QueueItem", "ConversationView", "Message", "CannedResponse"} <= set(schemas)
    item = document["paths"]["/api/conversations/{conversation_id}/claim"]["post"]
    assert {"200", "404", "409"} <= set(item["responses"])
