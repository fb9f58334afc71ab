"""The admins' knowledge-base and webhook APIs behind their pages, through the app:
uploading files (a file replaces its earlier version, a bad file stores nothing), the
entries a page at a time, deleting one, testing a question with its confidence; resending
a finished webhook delivery once, and the refusals — an agent, another organization's
entry, endpoint or delivery, bad input, an internal webhook URL — each a 4xx with a
sentence."""

from __future__ import annotations

import io
import uuid

from quart import Quart
from quart.datastructures import FileStorage
from sqlalchemy import func, select

from gateway.db import Database
from gateway.models import KnowledgeEntry, Organization
from gateway.queues import OUTBOUND
from gateway.runtime import Services
from gateway.webhook_tables import WebhookDelivery, WebhookEndpoint
from tests.desk.api.helpers import client_for
from tests.support.factories import make_agent

API = "/api/admin/knowledge"
FAQ = b"# Shop FAQ\n\n## Shipping to Canada\nWe ship to Canada in 5 to 8 days.\n\n" + b"".join(
    f"## Topic {n}\nText about topic {n}.\n\n".encode() for n in range(24)
)
FAQ_FIXED = b"## Shipping to Canada\nWe ship to Canada in 3 to 5 days.\n"


def upload(name: str, data: bytes) -> dict[str, FileStorage]:
    return {"files": FileStorage(io.BytesIO(data), filename=name, content_type="text/plain")}


async def count(db: Database, org: Organization) -> int:
    mine = KnowledgeEntry.organization_id == org.id
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count(KnowledgeEntry.id)).where(mine)) or 0)


async def test_an_admin_uploads_pages_tests_and_deletes_knowledge(
    app: Quart, services: Services, org: Organization, other_org: Organization
) -> None:
    db = services.db
    client, csrf = await client_for(app, db, await make_agent(db, org, role="admin"))

    stored = await client.post(API, headers=csrf, files=upload("faq.md", FAQ))
    assert stored.status_code == 201
    assert await stored.get_json() == {"stored": 25, "files": [{"name": "faq.md", "entries": 25}]}
    second = await (await client.get(f"{API}?page=2", headers=csrf)).get_json()
    assert (second["total"], second["page"], second["pages"], len(second["entries"])) == (
        25,
        2,
        2,
        5,
    )

    # a corrected file replaces what its earlier version loaded; a bad one changes nothing
    assert (
        await client.post(API, headers=csrf, files=upload("faq.md", FAQ_FIXED))
    ).status_code == 201
    assert await count(db, org) == 1
    refused = await client.post(API, headers=csrf, files=upload("notes.txt", b"hello"))
    assert refused.status_code == 400
    assert (await refused.get_json())["message"].startswith("the file notes.txt is not a Markdown")
    latin = await client.post(
        API, headers=csrf, files=upload("faq.md", "## Café\nOuvert".encode("latin-1"))
    )
    assert "is not UTF-8 text" in (await latin.get_json())["message"]
    assert (await client.post(API, headers=csrf, form={"x": "y"})).status_code == 400
    binary = await client.post(API, headers=csrf, files=upload("faq.md", b"## A\nB\x00C\n"))
    assert "holds a NUL character" in (await binary.get_json())["message"]
    assert await count(db, org) == 1

    answer = await (
        await client.post(f"{API}/test", headers=csrf, json={"question": "Do you ship to Canada?"})
    ).get_json()
    assert answer["knows"] is True
    assert answer["answer"] == "We ship to Canada in 3 to 5 days."
    assert answer["closest"]["title"] == "Shipping to Canada"
    assert answer["closest"]["confidence"] >= answer["threshold"] == 0.45
    unknown = await (
        await client.post(f"{API}/test", headers=csrf, json={"question": "Airspeed of a swallow?"})
    ).get_json()
    assert unknown["knows"] is False and unknown["confidence"] < unknown["threshold"]
    for bad in ({"question": "  "}, {"question": "x" * 501}, {}):
        refused = await client.post(f"{API}/test", headers=csrf, json=bad)
        assert refused.status_code == 400 and (await refused.get_json())["message"]
    for page in ("0", "two", "-1"):
        assert (await client.get(f"{API}?page={page}", headers=csrf)).status_code == 400

    async with db.transaction() as session:
        theirs = KnowledgeEntry(organization_id=other_org.id, source="x.md", title="T", body="B")
        session.add(theirs)
        await session.flush()
        theirs_id = theirs.id
    mine = (await (await client.get(API, headers=csrf)).get_json())["entries"][0]["id"]
    gone = await client.delete(f"{API}/{theirs_id}", headers=csrf)
    assert gone.status_code == 404
    assert (await gone.get_json())["message"] == "there is no such entry in your knowledge base"
    assert await count(db, other_org) == 1
    assert (await client.delete(f"{API}/{mine}", headers=csrf)).status_code == 200
    assert await count(db, org) == 0
    # the AI no longer answers from the deleted entry
    after = await (
        await client.post(f"{API}/test", headers=csrf, json={"question": "Do you ship to Canada?"})
    ).get_json()
    assert after["knows"] is False and after["closest"] is None


async def _endpoint(db: Database, org: Organization) -> WebhookEndpoint:
    async with db.transaction() as session:
        endpoint = WebhookEndpoint(
            organization_id=org.id,
            url="https://hooks.example.test/in",
            secret="s" * 40,
            events=["claimed"],
            active=True,
        )
        session.add(endpoint)
        await session.flush()
        return endpoint


async def _delivery(db: Database, endpoint: WebhookEndpoint, status: str) -> str:
    delivery_id = str(uuid.uuid4())
    async with db.transaction() as session:
        session.add(
            WebhookDelivery(
                organization_id=endpoint.organization_id,
                endpoint_id=endpoint.id,
                event="claimed",
                delivery_id=delivery_id,
                payload={"id": delivery_id},
                status=status,
                attempts=3,
                response_status=503 if status == "failed" else None,
                last_error="HTTP 503 Service Unavailable" if status == "failed" else None,
            )
        )
    return delivery_id


async def test_a_finished_delivery_is_resent_once_and_strangers_are_refused(
    app: Quart, services: Services, org: Organization, other_org: Organization
) -> None:
    db = services.db
    client, csrf = await client_for(app, db, await make_agent(db, org, role="admin"))
    agent, agent_csrf = await client_for(app, db, await make_agent(db, org))
    endpoint, theirs = await _endpoint(db, org), await _endpoint(db, other_org)
    failed, waiting = (
        await _delivery(db, endpoint, "failed"),
        await _delivery(db, endpoint, "pending"),
    )
    their_delivery = await _delivery(db, theirs, "failed")
    base = f"/api/admin/webhooks/{endpoint.id}/deliveries"
    queued_before = services.jobs.queue(OUTBOUND).count

    resent = await client.post(f"{base}/{failed}/resend", headers=csrf)
    again = await client.post(f"{base}/{failed}/resend", headers=csrf)

    assert resent.status_code == 200
    shown = (await resent.get_json())["delivery"]
    assert (shown["status"], shown["attempts"], shown["last_error"]) == ("pending", 0, None)
    assert services.jobs.queue(OUTBOUND).count == queued_before + 1
    assert again.status_code == 409
    assert (await again.get_json())["message"].startswith("this delivery is already on its way")
    assert (await client.post(f"{base}/{waiting}/resend", headers=csrf)).status_code == 409
    for path in (
        f"{base}/{their_delivery}/resend",
        f"/api/admin/webhooks/{theirs.id}/deliveries/{their_delivery}/resend",
        f"{base}/not-a-delivery/resend",
    ):
        refused = await client.post(path, headers=csrf)
        assert refused.status_code == 404 and (await refused.get_json())["message"]
    assert (await agent.post(f"{base}/{failed}/resend", headers=agent_csrf)).status_code == 403
    assert services.jobs.queue(OUTBOUND).count == queued_before + 1

    internal = await client.post(
        "/api/admin/webhooks", headers=csrf, json={"url": "http://127.0.0.1:6379/"}
    )
    assert internal.status_code == 400
    assert (await internal.get_json())["message"].startswith("Webhooks may not go to 127.0.0.1")


async def test_agents_are_refused_the_knowledge_api(
    app: Quart, services: Services, org: Organization
) -> None:
    agent, csrf = await client_for(app, services.db, await make_agent(services.db, org))
    for method, path in (
        ("GET", API),
        ("POST", API),
        ("POST", f"{API}/test"),
        ("DELETE", f"{API}/1"),
    ):
        refused = await agent.open(path, method=method, headers=csrf, json={"question": "hi"})
        assert refused.status_code == 403
        assert (await refused.get_json())["message"]
