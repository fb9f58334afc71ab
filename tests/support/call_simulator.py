"""A phone call played against the app the way Twilio would: it posts signed requests for
the caller's leg, follows the TwiML the gateway returns (Gather, Redirect, Dial with its
action, the conference's hold URL), records what the caller heard, and checks every
document against the TwiML rules. `AgentPhone` plays an agent leg that the gateway placed
through the loopback Calls API: its status and AMD callbacks, the whisper and the keys."""

from __future__ import annotations

import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from tests.support import twiml_rules
from tests.support.fake_twilio import API_VERSION, PUBLIC_URL, Account, post_signed
from tests.support.fake_twilio_calls import Placed

INCOMING = PUBLIC_URL + "/twilio/voice"
STATUS = PUBLIC_URL + "/twilio/voice/status"


@dataclass
class Hop:
    """One request of the call and its answer."""

    url: str
    status: int
    document: str
    seconds: float


@dataclass
class Caller:
    client: Any
    account: Account
    from_: str
    to: str
    sid: str = field(default_factory=lambda: "CA" + uuid.uuid4().hex)
    heard: list[str] = field(default_factory=list)
    hops: list[Hop] = field(default_factory=list)
    gather: str | None = None  # where the next utterance goes
    dial_action: str | None = None
    hold_url: str | None = None
    conference_events: str | None = None
    room: str | None = None
    ended: bool = False
    sequence: int = 0

    def params(self, **extra: str) -> dict[str, str]:
        return {
            "CallSid": self.sid,
            "AccountSid": self.account.sid,
            "From": self.from_,
            "To": self.to,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": API_VERSION,
            **extra,
        }

    async def post(self, url: str, params: dict[str, str], role: str = "call") -> ET.Element:
        started = time.monotonic()
        response = await post_signed(self.client, url, params, self.account.token)
        body = (await response.get_data()).decode()
        self.hops.append(Hop(url, response.status_code, body, time.monotonic() - started))
        assert response.status_code == 200, (url, response.status_code, body)
        assert response.content_type.startswith("text/xml"), response.content_type
        return twiml_rules.check(body, role)

    async def dial_in(self, caller_name: str = "") -> list[str]:
        extra = {"CallStatus": "ringing"}
        if caller_name:
            extra["CallerName"] = caller_name
        return await self._follow(await self.post(INCOMING, self.params(**extra)))

    async def say(self, text: str, confidence: str = "0.91") -> list[str]:
        return await self._answer(SpeechResult=text, Confidence=confidence)

    async def press(self, digits: str) -> list[str]:
        return await self._answer(Digits=digits)

    async def silence(self) -> list[str]:
        return await self._answer()

    async def _answer(self, **form: str) -> list[str]:
        assert self.gather is not None, "the call is not listening"
        url, self.gather = self.gather, None
        return await self._follow(await self.post(url, self.params(**form)))

    async def _follow(self, root: ET.Element) -> list[str]:
        """Follow redirects until the call listens, waits in a conference, or ends."""
        heard: list[str] = []
        while True:
            heard.extend(twiml_rules.spoken(root))
            redirect = root.find("Redirect")
            gather = root.find("Gather")
            dial = root.find("Dial")
            if gather is not None:
                self.gather = gather.get("action")
                break
            if dial is not None:
                conference = dial.find("Conference")
                assert conference is not None
                self.dial_action = dial.get("action")
                self.hold_url = conference.get("waitUrl")
                self.conference_events = conference.get("statusCallback")
                self.room = (conference.text or "").strip()
                break
            if root.find("Hangup") is not None:
                self.ended = True
                break
            assert redirect is not None, ET.tostring(root)
            root = await self.post(redirect.text or "", self.params())
        self.heard.extend(heard)
        return heard

    async def on_hold(self) -> list[str]:
        """One fetch of the hold audio (the conference's wait URL)."""
        assert self.hold_url is not None
        root = await self.post(self.hold_url, self.params(), role="hold")
        return twiml_rules.spoken(root)

    async def conference_over(self) -> list[str]:
        """The conference ended (the agent hung up): Twilio posts the Dial action."""
        assert self.dial_action is not None
        url, self.dial_action = self.dial_action, None
        root = await self.post(url, self.params(DialCallStatus="completed"))
        return await self._follow(root)

    async def moved_to(self, url: str) -> list[str]:
        """Twilio moved the call to `url` (a REST update): fetch and follow it."""
        self.dial_action = None
        return await self._follow(await self.post(url, self.params()))

    async def hang_up(self, sequence: int | None = None, duration: str = "42") -> int:
        self.sequence += 1
        params = self.params(
            CallStatus="completed",
            CallDuration=duration,
            SequenceNumber=str(self.sequence if sequence is None else sequence),
            CallbackSource="call-progress-events",
        )
        response = await post_signed(self.client, STATUS, params, self.account.token)
        self.ended = True
        return int(response.status_code)

    async def status(self, status: str, sequence: int) -> int:
        params = self.params(CallStatus=status, SequenceNumber=str(sequence))
        response = await post_signed(self.client, STATUS, params, self.account.token)
        return int(response.status_code)


@dataclass
class AgentPhone:
    """The agent leg the gateway placed (one `Calls.json` request of the fake)."""

    client: Any
    account: Account
    placed: Placed
    sequence: int = 0
    action: str | None = None
    joined: bool = False

    def params(self, **extra: str) -> dict[str, str]:
        return {
            "CallSid": self.placed.sid,
            "AccountSid": self.account.sid,
            "From": self.placed.get("From") or "",
            "To": self.placed.get("To") or "",
            "Direction": "outbound-api",
            "ApiVersion": API_VERSION,
            **extra,
        }

    async def report(self, status: str, sequence: int | None = None) -> int:
        self.sequence += 1
        url = self.placed.get("StatusCallback") or ""
        params = self.params(
            CallStatus=status, SequenceNumber=str(self.sequence if sequence is None else sequence)
        )
        response = await post_signed(self.client, url, params, self.account.token)
        return int(response.status_code)

    async def machine(self, answered_by: str) -> int:
        url = self.placed.get("AsyncAmdStatusCallback") or ""
        params = self.params(CallStatus="in-progress", AnsweredBy=answered_by)
        response = await post_signed(self.client, url, params, self.account.token)
        return int(response.status_code)

    async def _post(self, url: str, params: dict[str, str], role: str) -> ET.Element:
        response = await post_signed(self.client, url, params, self.account.token)
        body = (await response.get_data()).decode()
        assert response.status_code == 200, (url, response.status_code, body)
        return twiml_rules.check(body, role)

    async def pick_up(self, role: str = "whisper") -> list[str]:
        """Answer: the whisper plays (`role` "call" for a leg that joins without one);
        returns what the agent heard."""
        await self.report("in-progress")
        root = await self._post(
            self.placed.get("Url") or "", self.params(CallStatus="in-progress"), role
        )
        self.joined = root.find("Dial/Conference") is not None
        gather = root.find("Gather")
        self.action = None if gather is None else gather.get("action")
        return twiml_rules.spoken(root)

    async def press(self, digits: str) -> ET.Element:
        assert self.action is not None, "the agent is not being asked"
        return await self._post(
            self.action, self.params(CallStatus="in-progress", Digits=digits), "call"
        )
