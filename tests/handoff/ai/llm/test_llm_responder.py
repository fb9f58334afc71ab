"""The hosted-model responder against a loopback server that speaks the chat-completions API:
grounded requests, a tool-call handoff that escalates, and every failure (timeout, HTTP
errors, malformed answers, an unreachable endpoint) falling back to the offline responder
within the reply's budget, with the key sent where it belongs and never logged."""

from __future__ import annotations

import logging
import time

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from gateway.errors import ConfigurationError
from gateway.models import Conversation, Message
from gateway.org_settings import OrganizationSettings
from gateway.queues import SUMMARIES
from gateway.runtime import Services
from gateway.settings import load_settings
from handoff.ai import turn
from handoff.ai.knowledge import demo_knowledge_paths, load_knowledge
from handoff.ai.llm_client import LLMConfig, llm_config
from handoff.ai.llm_responder import HANDOFF_TOOL, HOLDING_LINE, LLMResponder
from handoff.ai.offline_responder import DONT_KNOW, OfflineResponder
from handoff.ai.responder import ResponderRequest, Turn
from handoff.ai.summary_job import SUMMARIZE
from handoff.routing import route_message
from tests.handoff.ai.llm.conftest import API_KEY, MODEL, TIMEOUT
from tests.support.factories import chat_message, intake_for, job_services, make_org
from tests.support.fake_llm import FakeLLM
from tests.support.ports import free_port


def ask(org_id: int, *texts: str, business: str = "Acme") -> ResponderRequest:
    history = tuple(Turn("customer" if i % 2 == 0 else "ai", t) for i, t in enumerate(texts))
    return ResponderRequest(org_id, 1, history, business)


def responder(services: Services, **org: object) -> LLMResponder:
    chosen = turn.responder_for(services, OrganizationSettings.from_json(org))
    assert isinstance(chosen, LLMResponder)
    return chosen


async def test_a_text_answer_is_grounded_in_the_knowledge_base_and_business_context(
    llm_services: Services, org, fake_llm: FakeLLM
) -> None:
    await load_knowledge(llm_services.db, org.id, demo_knowledge_paths())
    fake_llm.answer_text("Standard shipping takes **3-5 working days**.")
    chosen = responder(llm_services, business_context="We are a family-run outdoor shop.")

    reply = await chosen.respond(ask(org.id, "hi", "Hello!", "How long does shipping take?"))

    assert reply.text == "Standard shipping takes 3-5 working days."  # Markdown removed
    assert (reply.knows, reply.wants_human, reply.confidence) == (True, False, 1.0)
    assert any("ship" in source.lower() for source in reply.sources)
    [request] = fake_llm.received()
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == MODEL
    [tool] = request.body["tools"]
    assert (tool["type"], tool["function"]["name"]) == ("function", HANDOFF_TOOL)
    parameters = tool["function"]["parameters"]
    assert parameters["required"] == ["reason"]
    assert parameters["properties"]["reason"]["type"] == "string"
    assert "Acme" in request.system and "family-run outdoor shop" in request.system
    assert any("ship" in line.lower() for line in request.system.splitlines()[-20:])
    roles = [(m["role"], m["content"]) for m in request.messages[1:]]
    assert roles == [
        ("user", "hi"),
        ("assistant", "Hello!"),
        ("user", "How long does shipping take?"),
    ]


async def test_a_handoff_tool_call_escalates_the_conversation(
    llm_services: Services, org, fake_llm: FakeLLM
) -> None:
    fake_llm.answer_tool_call(HANDOFF_TOOL, {"reason": "wants a refund for a damaged tent"})
    received = await intake_for(llm_services).receive(
        chat_message(org, "My tent arrived torn, could I get a refund?")
    )
    assert await route_message(llm_services, received.message_id) == "ai"

    stored = await turn.ai_turn(llm_services, received.conversation_id, 1)

    async with llm_services.db.transaction() as session:
        conversation = await session.get(Conversation, received.conversation_id)
        messages = (
            await session.scalars(
                select(Message).where(Message.conversation_id == received.conversation_id)
            )
        ).all()
    assert conversation is not None and conversation.state == "queued"
    assert conversation.handoff_reason == (
        "the assistant asked for a person: wants a refund for a damaged tent"
    )
    assert any(hit["rule"] == "ai_decision" and hit["fired"] for hit in conversation.rule_hits)
    holding = next(m for m in messages if m.id == stored)
    assert (holding.author, holding.text) == ("ai", HOLDING_LINE)
    assert [m.meta.get("notice") for m in messages if m.author == "system"] == ["handoff"]
    [job] = llm_services.jobs.queue(SUMMARIES).get_jobs()
    assert (job.func_name, job.args) == (SUMMARIZE, [received.conversation_id, 2])


async def test_the_models_own_words_go_with_a_tool_call_and_bad_arguments_still_hand_off(
    llm_services: Services, org, fake_llm: FakeLLM
) -> None:
    fake_llm.answer_tool_call(HANDOFF_TOOL, "{not json", content="Sure, one moment please.")
    reply = await responder(llm_services).respond(ask(org.id, "get me your manager"))

    assert reply.wants_human and reply.text == "Sure, one moment please."
    assert reply.handoff_reason is None


async def test_a_timeout_falls_back_to_the_offline_responder_within_its_budget(
    llm_services: Services, org, fake_llm: FakeLLM, caplog
) -> None:
    await load_knowledge(llm_services.db, org.id, demo_knowledge_paths())
    fake_llm.answer_text("far too late", delay=TIMEOUT * 4)
    offline = await OfflineResponder(llm_services.db).respond(
        ask(org.id, "What are your opening hours?")
    )
    caplog.set_level(logging.WARNING)

    started = time.monotonic()
    reply = await responder(llm_services).respond(ask(org.id, "What are your opening hours?"))
    elapsed = time.monotonic() - started

    assert elapsed < TIMEOUT, f"the reply took {elapsed:.2f} s, over its {TIMEOUT} s budget"
    assert elapsed > TIMEOUT * 0.5  # it did wait for the model first
    assert reply == offline and reply.knows
    assert len(fake_llm.received()) == 1
    assert "answering offline" in caplog.text and "no answer within" in caplog.text
    assert API_KEY not in caplog.text


FAILURES = {
    "500": lambda llm: llm.answer_status(500),
    "429": lambda llm: llm.answer_status(429, "Rate limit reached"),
    "not-json": lambda llm: llm.answer_raw(b"<html>Bad gateway</html>", "text/html"),
    "no-choices": lambda llm: llm.answer_raw(b'{"choices": []}'),
    "empty-answer": lambda llm: llm.answer_raw(b'{"choices": [{"message": {"content": ""}}]}'),
    "unknown-tool": lambda llm: llm.answer_tool_call("delete_everything", {}),
}


async def test_errors_and_malformed_answers_fall_back_and_never_leave_silence(
    llm_services: Services, org, fake_llm: FakeLLM, caplog
) -> None:
    caplog.set_level(logging.WARNING)
    chosen = responder(llm_services)
    for name, script in FAILURES.items():
        script(fake_llm)
        reply = await chosen.respond(ask(org.id, "Can I pay with seashells?"))
        assert (reply.text, reply.knows, reply.wants_human) == (DONT_KNOW, False, False), name

    assert len(fake_llm.received()) == len(FAILURES)
    assert caplog.text.count("answering offline") == len(FAILURES)
    assert API_KEY not in caplog.text


async def test_an_unreachable_endpoint_falls_back_at_once(db, redis_url, org) -> None:
    async with job_services(
        db, redis_url, llm_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_model="m"
    ) as services:
        started = time.monotonic()
        reply = await responder(services).respond(ask(org.id, "Hello"))
    assert reply.text.startswith("Hi! Welcome to Acme") and time.monotonic() - started < 2


async def test_a_model_that_is_not_sure_says_so_and_counts_as_not_knowing(
    llm_services: Services, org, fake_llm: FakeLLM
) -> None:
    fake_llm.answer_text("I\u2019m not sure about that. I can connect you with a person.")
    reply = await responder(llm_services).respond(ask(org.id, "Do you sell boats?"))

    assert (reply.knows, reply.confidence, reply.sources) == (False, 0.0, ())


async def test_azure_gets_its_key_in_an_api_key_header_and_an_api_version(
    db, redis_url, org
) -> None:
    with FakeLLM(api_key=API_KEY, azure=True) as azure:
        azure.answer_text("Hello from Azure.")
        async with job_services(
            db,
            redis_url,
            llm_base_url=azure.base_url,
            llm_model="my-deployment",
            llm_api_key=API_KEY,
            llm_api_version="2024-10-21",
        ) as services:
            reply = await responder(services).respond(ask(org.id, "hi there, a question"))
        [request] = azure.received()
    assert reply.text == "Hello from Azure."
    assert request.query == {"api-version": "2024-10-21"}
    assert request.headers["api-key"] == API_KEY and "Authorization" not in request.headers


async def test_an_organizations_own_endpoint_never_gets_the_process_wide_key(
    llm_services: Services, db, fake_llm: FakeLLM
) -> None:
    org = await make_org(db, "byo")
    with FakeLLM() as own:
        own.answer_text("Hi from the organization's own model.")
        chosen = responder(llm_services, llm_base_url=own.base_url, llm_model="their-model")
        reply = await chosen.respond(ask(org.id, "a question"))
        [request] = own.received()
    assert reply.text == "Hi from the organization's own model."
    assert request.body["model"] == "their-model"
    assert "Authorization" not in request.headers and "api-key" not in request.headers
    assert fake_llm.received() == []


async def test_the_offline_responder_answers_when_no_model_is_configured(
    services: Services,
) -> None:
    assert isinstance(turn.responder_for(services, OrganizationSettings()), OfflineResponder)
    only_model = OrganizationSettings.from_json({"llm_model": "m"})
    assert llm_config(services.settings, only_model) is None
    bad_url = OrganizationSettings.from_json({"llm_model": "m", "llm_base_url": "file:///etc"})
    assert llm_config(services.settings, bad_url) is None


def test_the_key_stays_out_of_the_configs_repr() -> None:
    config = LLMConfig("https://api.example.test/v1", "m", api_key=SecretStr(API_KEY))
    assert API_KEY not in repr(config) and API_KEY not in str(config)
    assert config.headers()["Authorization"] == f"Bearer {API_KEY}"


def test_a_base_url_that_is_not_http_fails_at_start_up_by_name() -> None:
    with pytest.raises(ConfigurationError, match="SWITCHBOARD_LLM_BASE_URL") as raised:
        load_settings(llm_base_url="file:///etc/passwd", llm_api_key=API_KEY)
    assert API_KEY not in str(raised.value)
    settings = load_settings(llm_base_url="https://api.example.test/v1/", llm_model="m")
    assert settings.llm_base_url == "https://api.example.test/v1"
