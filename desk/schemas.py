"""The JSON shapes of the queue API, named for the OpenAPI document (`/api/openapi.json`).
Each is what the matching `*_json` function or route returns; the tests compare them."""

from __future__ import annotations

from gateway.openapi import (
    BOOLEAN,
    INTEGER,
    STRING,
    TIMESTAMP,
    array,
    nullable,
    obj,
    schema,
)

NAMED = obj(["id", "name"], id=INTEGER, name=nullable(STRING))
STATE = {"type": "string", "enum": ["ai", "queued", "assigned", "manual", "resolved"]}
VIEW = {
    "type": "string",
    "enum": ["waiting", "mine", "assigned", "ai", "manual", "resolved", "all", "needs_attention"],
}

LAST_MESSAGE = schema(
    "LastMessage",
    obj(
        ["id", "author", "channel", "preview", "at"],
        id=INTEGER,
        author=STRING,
        channel=STRING,
        preview={"type": "string", "description": "the first 160 characters"},
        at=TIMESTAMP,
    ),
)

QUEUE_ITEM = schema(
    "QueueItem",
    obj(
        ["id", "channel", "state", "customer", "unread", "last_activity_at"],
        id=INTEGER,
        channel=STRING,
        state=STATE,
        ownership_version=INTEGER,
        customer=obj(
            ["display_name"],
            contact_id=INTEGER,
            name=nullable(STRING),
            address=STRING,
            address_kind=STRING,
            display_name={"type": "string", "description": "what to call them, in words"},
            page=nullable({"type": "string", "description": "a web visitor's page path"}),
        ),
        waiting_since=nullable(TIMESTAMP),
        handoff_reason=nullable(STRING),
        summary_line=nullable(STRING),
        label=nullable(STRING),
        team=nullable(NAMED),
        assignee=nullable(NAMED),
        ai_paused_until=nullable(TIMESTAMP),
        needs_attention=BOOLEAN,
        attention_reason=nullable(STRING),
        last_message=nullable(LAST_MESSAGE),
        last_activity_at=TIMESTAMP,
        unread={
            "type": "boolean",
            "description": "the newest message is the customer's and the agent has not read it",
        },
        updated_at=TIMESTAMP,
        view={
            "type": "string",
            "enum": ["waiting", "mine", "assigned", "ai", "manual", "resolved"],
            "description": "the view it sits in for the agent (shown on a search hit)",
        },
    ),
)

QUEUE_PAGE = schema(
    "QueuePage",
    obj(
        ["view", "items", "next_cursor"],
        view=VIEW,
        items=array(QUEUE_ITEM),
        next_cursor=nullable(STRING),
        time_zone=STRING,
        server_time=TIMESTAMP,
    ),
)

COUNTS = schema(
    "QueueCounts",
    obj(
        ["counts"],
        counts=obj(
            ["waiting", "mine", "assigned", "ai", "manual", "resolved", "all", "needs_attention"],
            waiting=INTEGER,
            mine=INTEGER,
            assigned=INTEGER,
            ai=INTEGER,
            manual=INTEGER,
            resolved=INTEGER,
            all=INTEGER,
            needs_attention=INTEGER,
        ),
        server_time=TIMESTAMP,
    ),
)

MESSAGE = schema(
    "Message",
    obj(
        ["id", "conversation_id", "direction", "author", "channel", "text", "delivery_status"],
        id=INTEGER,
        conversation_id=INTEGER,
        direction={"type": "string", "enum": ["inbound", "outbound"]},
        author={"type": "string", "enum": ["customer", "ai", "agent", "system"]},
        author_name=nullable(STRING),
        agent_id=nullable(INTEGER),
        channel=STRING,
        text=STRING,
        html=nullable(
            {
                "type": "string",
                "description": "sanitized email HTML (no script, style, "
                "handler, remote image); show it in a sandboxed frame",
            }
        ),
        blocked_images={"type": "integer", "description": "remote images removed from html"},
        attachments=array({"type": "object"}),
        delivery_status={
            "type": "string",
            "description": "received (inbound), pending, sending, sent, delivered, failed, ...",
        },
        error_code=nullable(STRING),
        error_message=nullable(STRING),
        delivery=nullable(
            obj(
                ["text", "tone", "can_retry", "can_dismiss", "dismissed"],
                text={"type": "string", "description": "the delivery state in words"},
                tone={"type": "string", "enum": ["ok", "waiting", "failed", "quiet"]},
                lead=nullable(STRING),
                next_try_at=nullable(TIMESTAMP),
                detail=nullable({"type": "string", "description": "the provider's own words"}),
                can_retry={"type": "boolean"},
                can_dismiss={"type": "boolean"},
                dismissed={"type": "boolean"},
            )
        ),
        meta={"type": "object"},
        created_at=TIMESTAMP,
    ),
)

NOTE = schema(
    "Note",
    obj(
        ["id", "conversation_id", "agent", "text", "created_at"],
        id=INTEGER,
        conversation_id=INTEGER,
        agent=NAMED,
        text=STRING,
        created_at=TIMESTAMP,
    ),
)

CONVERSATION = schema(
    "Conversation",
    obj(
        ["id", "channel", "state", "ownership_version"],
        id=INTEGER,
        channel=STRING,
        state=STATE,
        ownership_version=INTEGER,
        contact_id=INTEGER,
        address=STRING,
        address_kind=STRING,
        assigned_agent_id=nullable(INTEGER),
        assignee=nullable(NAMED),
        team_id=nullable(INTEGER),
        team=nullable(NAMED),
        label=nullable(STRING),
        handoff_reason=nullable(STRING),
        rule_hits=array({"type": "object", "description": "{rule, fired, ...}"}),
        summary=nullable(STRING),
        summary_line=nullable(STRING),
        waiting_since=nullable(TIMESTAMP),
        ai_paused_until=nullable(TIMESTAMP),
        last_customer_at=nullable(TIMESTAMP),
        last_human_at=nullable(TIMESTAMP),
        needs_attention=BOOLEAN,
        attention_reason=nullable(STRING),
        created_at=TIMESTAMP,
        updated_at=TIMESTAMP,
    ),
)

TRANSITION = schema(
    "Transition",
    obj(
        ["from", "to", "actor", "reason", "at"],
        id=INTEGER,
        to=STATE,
        actor={"type": "string", "description": "ai, system, customer or agent:<id>"},
        agent_id=nullable(INTEGER),
        agent_name=nullable(STRING),
        reason=STRING,
        rule_hits=array({"type": "object"}),
        at=TIMESTAMP,
        **{"from": STATE},
    ),
)

REACHABILITY = schema(
    "Reachability",
    obj(
        ["channel", "channel_name", "reachable", "message"],
        channel=STRING,
        channel_name={"type": "string", "description": "the channel as a sentence names it"},
        address=STRING,
        reachable=BOOLEAN,
        reason=nullable(
            {"type": "string", "description": "opted_out, or the code of a channel's own rule"}
        ),
        message={"type": "string", "description": "what to tell the agent"},
    ),
)

CONVERSATION_VIEW = schema(
    "ConversationView",
    obj(
        ["conversation", "contact", "messages", "notes", "transitions", "reachability"],
        conversation=CONVERSATION,
        contact=obj(
            ["id", "identities", "conversations"],
            id=INTEGER,
            name=nullable(STRING),
            created_at=TIMESTAMP,
            identities=array(
                obj(
                    ["kind", "address"],
                    id=INTEGER,
                    kind=STRING,
                    address=STRING,
                    opted_out_at=nullable(TIMESTAMP),
                )
            ),
            conversations=array(
                obj(
                    ["id", "channel", "state"],
                    id=INTEGER,
                    channel=STRING,
                    state=STATE,
                    updated_at=TIMESTAMP,
                )
            ),
        ),
        messages=array(MESSAGE),
        has_older_messages=BOOLEAN,
        notes=array(NOTE),
        transitions=array(TRANSITION),
        reachability=REACHABILITY,
        viewers=array(NAMED),
        time_zone=STRING,
        server_time=TIMESTAMP,
    ),
)

HISTORY_PAGE = schema(
    "HistoryPage",
    obj(["messages", "has_older_messages"], messages=array(MESSAGE), has_older_messages=BOOLEAN),
)

CONVERSATION_RESULT = obj(["conversation"], conversation=CONVERSATION)
