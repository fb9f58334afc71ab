"""The channel contract and the registry. A channel has two halves: an adapter (`Channel`:
a `name`, a `parse` that turns a provider payload into `InboundMessage`s, and an `async
send`) and a declaration (`ChannelSpec`: how agents and customers read its name, what it
can carry, when a reply cannot reach the customer, the default wording of each notice).
The composition root builds one registry from its plug-ins (`gateway.plugins`); everything
else looks channels up by name here and never writes a channel's name itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from gateway.errors import ConfigurationError, UnknownChannel
from gateway.messages import InboundMessage, OutboundMessage, SendResult

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from gateway.models import Conversation
    from gateway.reachability import Unreachable
    from gateway.runtime import Services

# A channel's own reason a free-form reply cannot reach the customer now (WhatsApp's
# 24-hour window, say), on top of the opt-out every channel honours.
ReachabilityRule = Callable[["Conversation", datetime], "Unreachable | None"]
# An address at which a channel takes an organization's mail in (None: it has none there),
# for the Reply-To of the notification mails sent to agents.
ReplyInbox = Callable[["AsyncSession", int], Awaitable["str | None"]]


@runtime_checkable
class Channel(Protocol):
    name: str

    def parse(self, organization_id: int, payload: Mapping[str, Any]) -> list[InboundMessage]:
        """Turn one verified provider payload into normalized inbound messages."""
        ...

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one message; raise TransientDeliveryError or PermanentDeliveryError."""
        ...


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """Everything the rest of the system needs to know about one channel name."""

    name: str
    label: str  # as the agents' lists show it: "Web chat", "SMS"
    short: str  # the badge on a queue row: "WEB", "SMS"
    phrase: str  # inside a sentence: "Replies go to the customer by web chat."
    max_attachments: int = 0  # images one outgoing message may carry; 0: none
    max_text_chars: int | None = None  # the longest reply text the channel takes
    max_cc: int = 0  # addresses an agent's reply may copy in (Cc); 0: none
    # the text goes out in SMS segments, whose count and encoding the composer shows
    counts_segments: bool = False
    # Whether a contact's opt-out (a STOP keyword, a mailbox that bounced for good) silences
    # this channel. A call is not a message sent to the customer: they are on the line and
    # asked for the conversation, so a text opt-out does not make the AI hang up on them.
    honours_opt_out: bool = True
    reachability: ReachabilityRule | None = None
    # How the channel reaches the team with no agent online on the desk, given the
    # organization's settings (JSON), in words for the decision's record ("the call's
    # transfer targets are rung"); None when it cannot. A call rings agents' phones, so
    # nobody online there does not make the handoff policy keep the AI or warn the caller.
    staffed_without_desk: Callable[[Mapping[str, Any]], str | None] | None = None
    # The disclosure under a failed message that holds the provider's own words.
    detail_label: str = "What the provider said"
    notices: Mapping[str, str] = field(default_factory=dict)  # notice kind -> default text
    # What agents read when the customer's address takes nothing more ({address}, {since},
    # {how}): a keyword opt-out by default; a channel words its own (a bounced mailbox).
    opted_out_wording: str = (
        "The customer opted out of messages on {since} ({how}). Nothing more can be sent to "
        "them until they opt back in by replying START."
    )

    @property
    def accepts_media(self) -> bool:
        return self.max_attachments > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "short": self.short,
            "phrase": self.phrase,
            "accepts_media": self.accepts_media,
            "max_attachments": self.max_attachments,
            "max_text_chars": self.max_text_chars,
            "max_cc": self.max_cc,
            "counts_segments": self.counts_segments,
            "detail_label": self.detail_label,
        }


@dataclass(frozen=True, slots=True)
class Sweep:
    """A pass a channel adds to the reconciler: find its own work that a crash or a Redis
    loss left undone and enqueue it again. Returns how many it re-enqueued, reported
    under `name`; like every reconciler pass it must be harmless to repeat."""

    name: str
    run: Callable[[Services, datetime], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class AdminSetting:
    """Something admins manage for a channel, and where: the admin page lists these."""

    label: str
    description: str
    api: str  # the JSON API path that reads and changes it
    page: str | None = None  # the agents' web page where admins manage it, if there is one

    def to_json(self) -> dict[str, str | None]:
        return {
            "label": self.label,
            "description": self.description,
            "api": self.api,
            "page": self.page,
        }


def unknown_spec(name: str) -> ChannelSpec:
    """How to show a channel no longer registered (an old conversation's, say)."""
    return ChannelSpec(name=name, label=name, short=name[:4].upper(), phrase=name)


class ChannelRegistry:
    """The adapters and declarations of the channels this process serves, by name."""

    def __init__(self, channels: Iterable[tuple[Channel, ChannelSpec]] = ()) -> None:
        self._channels: dict[str, Channel] = {}
        self._specs: dict[str, ChannelSpec] = {}
        self.sweeps: list[Sweep] = []
        self.admin_settings: list[AdminSetting] = []
        self.reply_inboxes: list[ReplyInbox] = []
        for channel, spec in channels:
            self.register(channel, spec)

    def register(self, channel: Channel, spec: ChannelSpec) -> None:
        if channel.name != spec.name:
            raise ConfigurationError(f"channel {channel.name!r} is declared as {spec.name!r}")
        if channel.name in self._channels:
            raise ConfigurationError(f"two channels are named {channel.name!r}")
        self._channels[channel.name] = channel
        self._specs[channel.name] = spec

    def get(self, name: str) -> Channel:
        try:
            return self._channels[name]
        except KeyError:
            raise UnknownChannel(f"no channel named {name!r} is registered") from None

    def spec(self, name: str) -> ChannelSpec:
        """The channel's declaration; a plain one for a name no longer registered."""
        return self._specs.get(name) or unknown_spec(name)

    def specs(self) -> list[ChannelSpec]:
        return [self._specs[name] for name in self.names()]

    def names(self) -> list[str]:
        return sorted(self._channels)

    async def reply_inbox(self, session: AsyncSession, organization_id: int) -> str | None:
        """Where an agent's reply to a notification mail reaches Switchboard, if anywhere."""
        for inbox in self.reply_inboxes:
            if address := await inbox(session, organization_id):
                return address
        return None
