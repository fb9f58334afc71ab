"""The OpenAPI document: served without login, it lists every `/api/` route the app serves,
each described with its body and answers (so a new one without a description fails here);
Twilio's webhooks are left out on purpose, for the reason in EXCLUDED; every `$ref`
resolves, and file uploads and downloads name their media types."""

from __future__ import annotations

import re
from typing import Any

from quart import Quart

# Routes outside `/api/` that are called by a provider rather than by integrations: each
# is kept out of the document on purpose, for the reason given. Twilio finds them through
# the number's webhook settings, signs every request with the account's auth token and
# posts form fields Twilio defines (and documents), so describing them here would only
# invite integrations to call endpoints they cannot authenticate to.
EXCLUDED = {
    "/twilio/sms": "Twilio's incoming-message webhook: signed by Twilio, Twilio's form fields",
    "/twilio/sms/status": "Twilio's status callback: signed by Twilio, Twilio's form fields",
    "/twilio/voice": "Twilio's incoming-call webhook: signed by Twilio, Twilio's form fields",
    "/twilio/voice/status": "Twilio's call status callback: signed by Twilio",
    "/twilio/voice/turn": "a caller's utterance, the action of the TwiML Gather: signed by Twilio",
    "/twilio/voice/wait": "a Redirect while the AI thinks: signed by Twilio",
    "/twilio/voice/hold": "the conference's hold audio (waitUrl): signed by Twilio",
    "/twilio/voice/conference": "the conference's status callback: signed by Twilio",
    "/twilio/voice/dial-done": "the caller's Dial action after the conference: signed by Twilio",
    "/twilio/voice/resume": "where a caller is moved off hold: signed by Twilio",
    "/twilio/voice/offer": "the caller's answer to the text-back offer: signed by Twilio",
    "/twilio/voice/recording": "a recording's status callback: signed by Twilio",
    "/twilio/voice/agent": "the agent leg's whisper TwiML: signed by Twilio",
    "/twilio/voice/agent-answer": "the agent's key press (Gather action): signed by Twilio",
    "/twilio/voice/agent-status": "the agent leg's status callback: signed by Twilio",
    "/twilio/voice/agent-amd": "the agent leg's answering-machine result: signed by Twilio",
}


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
        if "undocumented" in operation["tags"] or not operation["tags"]
    }
    assert undescribed == set()
    for path, item in document["paths"].items():
        for operation in item.values():
            assert operation["summary"].strip(), path
            assert operation["responses"], path
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


async def test_twilio_webhooks_are_left_out_on_purpose(app: Quart) -> None:
    document = await (await app.test_client().get("/api/openapi.json")).get_json()
    served = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/twilio/") or rule.rule == "/twilio"
    }
    # Every Twilio-facing route has a reason to be left out, and every reason names a route
    # the app still serves; none of them slips into the document.
    assert served == set(EXCLUDED)
    assert all(reason.strip() for reason in EXCLUDED.values())
    assert not set(EXCLUDED) & set(document["paths"])
    # The admins' number management and the composer's segment count are for integrations.
    tagged = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "twilio" in operation["tags"]
    }
    assert tagged == {
        "GET /api/twilio/numbers",
        "POST /api/twilio/numbers",
        "POST /api/twilio/numbers/check",
        "DELETE /api/twilio/numbers/{number}",
        "POST /api/sms/segments",
    }


async def test_admin_apis_are_described(app: Quart) -> None:
    document = await (await app.test_client().get("/api/openapi.json")).get_json()
    paths = document["paths"]
    upload = paths["/api/media"]["post"]
    assert set(upload["requestBody"]["content"]) == {"image/gif", "image/jpeg", "image/png"}
    assert {"201", "400", "401", "403", "413"} <= set(upload["responses"])
    download = paths["/api/media/{key}"]["get"]["responses"]["200"]["content"]
    assert "application/octet-stream" in download and "application/json" not in download
    settings = paths["/api/admin/settings"]
    assert settings["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SettingsView"
    }
    change = settings["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert change["additionalProperties"] is False and "required" not in change
    assert {"handoff_level", "business_hours", "llm_model"} <= set(change["properties"])
    stored = document["components"]["schemas"]["OrganizationSettings"]["properties"]
    assert stored["llm_model"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert stored["business_hours"]["additionalProperties"]["items"]["type"] == "array"
    assert paths["/api/admin/webhooks"]["post"]["tags"] == ["webhooks"]
