"""The operators' series, defined once for every process (gateway, worker, mail intake),
and the few helpers the core calls where something countable happens. With
PROMETHEUS_MULTIPROC_DIR set (`switchboard up` sets it) each process writes its values to
files in that folder and `GET /metrics` adds them up, so several gateway and worker
processes give one answer; without it the values live in this process only. Every label
takes a bounded set of values (route rules, channel and plug-in names, queue names, rule
names, delivery states), never a path, an address or an id, so that the number of series
stays fixed however much traffic arrives."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

# Seconds: the buckets of a web request, and of how long a customer waits for a person.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CLAIM_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)
UNMATCHED_ROUTE = "<unmatched>"  # a 404: one series for every unknown path
OTHER = "other"  # a label value that does not look like a name (it is not trusted)
_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,39}")

REQUESTS = Counter(
    "switchboard_http_requests",
    "HTTP requests answered, by route rule, method and status code.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "switchboard_http_request_duration_seconds",
    "Time to answer an HTTP request, by route rule and method.",
    ["route", "method"],
    buckets=REQUEST_BUCKETS,
)
WEBHOOKS = Counter(
    "switchboard_channel_webhooks",
    "Requests posted to a channel plug-in's endpoints (provider webhooks, the chat widget), "
    "accepted (below 400) or refused (400 to 499), by plug-in.",
    ["plugin", "outcome"],
)
MESSAGES_RECEIVED = Counter(
    "switchboard_messages_received",
    "New customer messages stored by the intake (repeats of a provider's id not counted), "
    "by channel.",
    ["channel"],
)
HANDOFFS = Counter(
    "switchboard_handoffs",
    "Conversations queued for a person, by the first policy rule that fired.",
    ["rule"],
)
TIME_TO_CLAIM = Histogram(
    "switchboard_time_to_claim_seconds",
    "How long a queued conversation waited until a person claimed it.",
    buckets=CLAIM_BUCKETS,
)
DELIVERIES = Counter(
    "switchboard_deliveries",
    "Outbound messages the send job finished with, by channel and the state it left them "
    "in (sent, queued at the provider, refused, failed, dropped); a provider's later "
    "delivery reports are not counted here.",
    ["channel", "state"],
)
RECONCILER_SWEEPS = Counter(
    "switchboard_reconciler_sweeps",
    "Reconciler passes that ran (held the lock).",
)
RECONCILER_REENQUEUED = Counter(
    "switchboard_reconciler_reenqueued",
    "What the reconciler re-enqueued or resolved, by kind.",
    ["kind"],
)
LIVE_SOCKETS = Gauge(
    "switchboard_live_sockets",
    "WebSockets open now (agents' live pages, chat visitors), by blueprint.",
    ["blueprint"],
    multiprocess_mode="livesum",  # a dead process's sockets are gone with it
)


def name_label(value: object) -> str:
    """`value` when it looks like a name, else OTHER: a label never carries free text."""
    text = str(value)
    return text if _NAME.fullmatch(text) else OTHER


def handoff_rule(rule_hits: Iterable[Mapping[str, Any]] | None) -> str:
    """The label of a handoff: the first rule that fired, by name."""
    for hit in rule_hits or ():
        if hit.get("fired") and hit.get("rule"):
            return name_label(hit["rule"])
    return "none"


def count_handoff(rule_hits: Iterable[Mapping[str, Any]] | None) -> None:
    HANDOFFS.labels(rule=handoff_rule(rule_hits)).inc()


def observe_claim(waiting_since: datetime | None, claimed_at: datetime) -> None:
    if waiting_since is not None:
        TIME_TO_CLAIM.observe(max(0.0, (claimed_at - waiting_since).total_seconds()))


def count_delivery(channel: str, state: str) -> None:
    DELIVERIES.labels(channel=name_label(channel), state=name_label(state)).inc()


def count_message_received(channel: str) -> None:
    MESSAGES_RECEIVED.labels(channel=name_label(channel)).inc()


def count_reconciler_pass(counts: Mapping[str, int]) -> None:
    RECONCILER_SWEEPS.inc()
    for kind, number in counts.items():
        if number:
            RECONCILER_REENQUEUED.labels(kind=name_label(kind)).inc(number)
