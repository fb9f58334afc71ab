"""When the AI takes longer than a turn may wait, the caller hears a filler and Twilio is
redirected to wait again on the conversation's events; every answer comes well inside
Twilio's 15 s limit, and the reply is spoken as soon as it is ready. The gateway answers the
turn itself, so the model is configured for it (and for the worker, as in production)."""

from __future__ import annotations

from typing import Any

from gateway.runtime import Services
from server.app import create_app
from tests.support.call_simulator import Caller
from tests.support.fake_llm import FakeLLM
from tests.support.fake_twilio import CUSTOMER, Account, FakeTwilio, worker_running, worker_settings
from tests.voice.helpers import worker_ready

DELAY = 11.0


async def test_a_slow_reply_comes_after_a_filler_and_a_redirect(
    voice_services: Services,
    account: Account,
    business_number: str,
    fake_twilio: FakeTwilio,
    redis_url: str,
    tmp_path: Any,
) -> None:
    with FakeLLM() as llm:
        llm.answer_text("Your parcel left our warehouse this morning.", delay=DELAY)
        settings = voice_services.settings.model_copy(
            update={"llm_base_url": llm.base_url, "llm_model": "fake-model"}
        )
        env = {
            **worker_settings(fake_twilio, str(tmp_path)),
            "SWITCHBOARD_LLM_BASE_URL": llm.base_url,
            "SWITCHBOARD_LLM_MODEL": "fake-model",
            "SWITCHBOARD_LLM_TIMEOUT_SECONDS": "20",
        }
        app = create_app(settings.model_copy(update={"llm_timeout_seconds": 20.0}))
        with worker_running(voice_services.db.url, redis_url, env):
            await worker_ready(redis_url)  # the budget below is the AI's, not a cold start's
            async with app.test_app():
                caller = Caller(app.test_client(), account, CUSTOMER, business_number)
                await caller.dial_in()
                heard = await caller.say("Where is my parcel?")
    assert heard[0] == "One moment."
    assert heard[-1] == "Your parcel left our warehouse this morning."
    hops = caller.hops[1:]
    assert len(hops) >= 2 and "/twilio/voice/wait?" in hops[1].url
    assert all(hop.seconds < 9.0 for hop in hops), [round(hop.seconds, 2) for hop in hops]
    assert sum(hop.seconds for hop in hops) >= DELAY - 1
