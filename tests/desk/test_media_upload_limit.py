"""Request body limits: an agent's image upload may be as large as the media limit, while
every other route keeps the app-wide 1 MB cap, and a body over either limit is refused
with a JSON error before anything is stored."""

from __future__ import annotations

from quart import Quart
from sqlalchemy import func, select

from desk.media_api import UPLOAD_PATH
from gateway.models import MediaFile
from gateway.runtime import Services
from tests.support.api import logged_in
from tests.support.factories import make_agent

MB = 1024 * 1024
PNG_HEADER = b"\x89PNG\r\n\x1a\n"


def png(size: int) -> bytes:
    return PNG_HEADER + b"\x00" * (size - len(PNG_HEADER))


async def stored_files(services: Services) -> int:
    async with services.db.transaction() as session:
        return int(await session.scalar(select(func.count(MediaFile.id))) or 0)


async def test_a_two_megabyte_image_is_accepted_by_the_upload_route(
    app: Quart, services: Services, org
) -> None:
    client, csrf = await logged_in(app, await make_agent(services.db, org))
    image = png(2 * MB)

    answer = await client.post(
        UPLOAD_PATH, data=image, headers={**csrf, "Content-Type": "image/png"}
    )

    assert answer.status_code == 201, await answer.get_json()
    uploaded = (await answer.get_json())["media"]
    assert uploaded["size"] == len(image)
    shown = await client.get(uploaded["url"])
    assert shown.status_code == 200 and await shown.get_data() == image


async def test_an_image_over_the_media_limit_is_refused_and_not_stored(
    app: Quart, services: Services, org
) -> None:
    client, csrf = await logged_in(app, await make_agent(services.db, org))
    limit = services.settings.media_max_bytes
    before = await stored_files(services)

    answer = await client.post(
        UPLOAD_PATH, data=png(limit + 1), headers={**csrf, "Content-Type": "image/png"}
    )

    assert answer.status_code == 413
    body = await answer.get_json()
    assert body["error"] == "media_too_large"
    assert f"{limit // 1024} KB" in body["message"]
    assert await stored_files(services) == before


async def test_other_routes_keep_the_one_megabyte_cap(app: Quart, services: Services, org) -> None:
    client, csrf = await logged_in(app, await make_agent(services.db, org))
    padding = "x" * (2 * MB)

    login = await app.test_client().post(
        "/api/login", json={"email": "someone@example.com", "password": padding}
    )
    reply = await client.post("/api/conversations/1/reply", json={"text": padding}, headers=csrf)

    for answer in (login, reply):
        assert answer.status_code == 413
        body = await answer.get_json()
        assert body["error"] == "request_entity_too_large" and body["message"]
