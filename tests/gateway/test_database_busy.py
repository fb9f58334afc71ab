"""When every pooled database connection stays taken past the pool's timeout (a burst
larger than the pool), a request is answered 503 with Retry-After and a sentence, not a
500; once a connection is free again the same request is served."""

from __future__ import annotations

from pathlib import Path

from gateway.runtime import Services
from gateway.settings import Settings
from gateway.web import EXTENSION, RETRY_AFTER_SECONDS, AppServices
from server.app import create_app

CREDENTIALS = {"email": "nobody@example.test", "password": "not-a-password"}


async def test_a_request_finding_no_free_connection_is_told_to_come_back(
    services: Services, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=services.db.url,
        redis_url=services.settings.redis_url,
        secret_key="test-secret",
        var_dir=tmp_path,
        database_pool_size=1,
        database_max_overflow=0,
        database_pool_timeout_seconds=0.2,
    )
    app = create_app(settings)
    async with app.test_app():
        state: AppServices = app.extensions[EXTENSION]
        client = app.test_client()
        async with state.services.db.engine.connect():  # the pool's only connection
            busy = await client.post("/api/login", json=CREDENTIALS)
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert (await busy.get_json())["error"] == "busy"
        served = await client.post("/api/login", json=CREDENTIALS)
        assert served.status_code == 401  # the credentials are wrong, and it says so
