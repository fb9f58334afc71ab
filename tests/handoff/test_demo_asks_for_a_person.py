"""The path a customer of the demo meets: a question the AI cannot answer, then "I need help
speaking with somebody". The second message hands off at once as an explicit request (not
through the non-answer streak), the agent reads the customer's own words first, the summary
names the unanswered question as the issue, and once the conversation is back with the AI
the summary is gone."""

from __future__ import annotations

from sqlalchemy import select

from gateway.models import Conversation, HandoffDecision
from gateway.runtime import Services
from handoff import actions
from handoff.ai.knowledge import demo_knowledge_paths, load_knowledge
from handoff.ai.summary_job import summarize_handoff
from handoff.ai.turn import ai_turn
from handoff.routing import route_message
from tests.support.factories import chat_message, intake_for, make_agent

UNANSWERED = "Do you sell spare blades for the X200 blender?"
ASK = "I need help speaking with somebody"


async def conversation(services: Services, conversation_id: int) -> Conversation:
    async with services.db.transaction() as session:
        found = await session.get(Conversation, conversation_id)
    assert found is not None
    return found


async def test_asking_for_somebody_after_an_unanswered_question_is_an_explicit_request(
    services: Services, org
) -> None:
    await load_knowledge(services.db, org.id, demo_knowledge_paths())
    agent = await make_agent(services.db, org)
    intake = intake_for(services)
    first = await intake.receive(chat_message(org, UNANSWERED))
    assert await route_message(services, first.message_id) == "ai"
    await ai_turn(services, first.conversation_id, 1)

    second = await intake.receive(chat_message(org, ASK))
    assert await route_message(services, second.message_id) == "queued"

    queued = await conversation(services, second.conversation_id)
    assert queued.state == "queued"
    assert queued.handoff_reason == f"the customer asked for a person: \u201c{ASK}\u201d"
    async with services.db.transaction() as session:
        decided = await session.scalar(
            select(HandoffDecision.fired_rule).where(
                HandoffDecision.message_id == second.message_id
            )
        )
    assert decided == "explicit_person_request"

    assert await summarize_handoff(services, queued.id, queued.ownership_version) == "stored"
    summary = (await conversation(services, queued.id)).summary
    assert summary is not None
    lines = summary.splitlines()
    assert f"Issue: \u201c{UNANSWERED}\u201d" in lines, summary
    assert any(line.startswith("Why handed off: the customer asked for a person") for line in lines)
    assert "explicit_person_request" not in summary  # rule names stay behind the disclosure

    await actions.claim(services, agent, queued.id)
    await actions.hand_back(services, agent, queued.id)
    back = await conversation(services, queued.id)
    assert back.state == "ai" and back.summary is None
