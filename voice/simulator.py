"""The phone simulator: a call to a Switchboard number played on one machine. It posts
webhooks signed exactly as Twilio signs them to the running gateway, follows the TwiML it
gets back (Gather, Redirect, the conference's hold audio, the Dial action), and says what
the caller would hear. It plays the agent's phone too: the calls the gateway places
arrive at the phone sandbox (`voice.sandbox`), and the simulator answers them, plays the
whisper and presses the keys. `switchboard call` drives it from the keyboard; tests drive
the same class with scripted input."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator

# posts a signed form to a path of the gateway; returns the answer's status and body
Transport = Callable[[str, dict[str, str], str], Awaitable[tuple[int, str]]]


@dataclass
class Leg:
    """One side of the call as Twilio would see it."""

    sid: str
    from_: str
    to: str
    sequence: int = 0

    def form(self, account_sid: str, **extra: str) -> dict[str, str]:
        return {
            "CallSid": self.sid,
            "AccountSid": account_sid,
            "From": self.from_,
            "To": self.to,
            "ApiVersion": "2010-04-01",
            **extra,
        }


@dataclass
class Phone:
    public_url: str
    account_sid: str
    auth_token: str
    transport: Transport
    say: Callable[[str], None] = print
    caller: Leg = field(default_factory=lambda: Leg("CA" + uuid.uuid4().hex, "", ""))
    listening: str | None = None  # where what the caller says next goes
    hold_url: str | None = None
    dial_action: str | None = None
    ended: bool = False

    async def post(self, url: str, form: dict[str, str]) -> ET.Element:
        signature = RequestValidator(self.auth_token).compute_signature(url, form)
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        status, body = await self.transport(path, form, signature)
        if status != 200:
            raise RuntimeError(f"the gateway answered {status}: {body[:300]}")
        return ET.fromstring(body)  # noqa: S314 (TwiML from the user's own gateway)

    # --- the caller -----------------------------------------------------------------------

    async def dial(self, from_: str, to: str) -> None:
        self.caller = Leg(self.caller.sid, from_, to)
        form = self.caller.form(self.account_sid, CallStatus="ringing", Direction="inbound")
        await self.follow(await self.post(self.public_url + "/twilio/voice", form))

    async def speak(self, text: str = "", digits: str = "") -> None:
        if self.listening is None:
            raise RuntimeError("the call is not listening now")
        url, self.listening = self.listening, None
        extra = {"CallStatus": "in-progress"}
        if text:
            extra.update(SpeechResult=text, Confidence="0.93")
        if digits:
            extra["Digits"] = digits
        await self.follow(await self.post(url, self.caller.form(self.account_sid, **extra)))

    async def follow(self, root: ET.Element) -> None:
        """Play the TwiML: say its lines, follow redirects, stop where the call waits."""
        while True:
            for element in root.iter("Say"):
                self.say(f"  caller hears: {element.text}")
            gather, dial, redirect = root.find("Gather"), root.find("Dial"), root.find("Redirect")
            if gather is not None:
                self.listening = gather.get("action")
                return
            if dial is not None:
                conference = dial.find("Conference")
                self.dial_action = dial.get("action")
                self.hold_url = None if conference is None else conference.get("waitUrl")
                self.say("  (the caller waits on hold)")
                await self.hold_audio()
                return
            if root.find("Hangup") is not None or redirect is None:
                self.ended = True
                self.say("  (the call has ended)")
                return
            form = self.caller.form(self.account_sid, CallStatus="in-progress")
            root = await self.post(redirect.text or "", form)

    async def hold_audio(self) -> None:
        if self.hold_url:
            form = self.caller.form(self.account_sid, CallStatus="in-progress")
            root = await self.post(self.hold_url, form)
            for element in root.iter("Say"):
                self.say(f"  hold line: {element.text}")

    async def moved(self, url: str) -> None:
        """The gateway moved the call (off hold): fetch the new TwiML."""
        self.hold_url = self.dial_action = None
        form = self.caller.form(self.account_sid, CallStatus="in-progress")
        await self.follow(await self.post(url, form))

    async def conference_over(self) -> None:
        if self.dial_action is None:
            return
        url, self.dial_action = self.dial_action, None
        form = self.caller.form(
            self.account_sid, CallStatus="in-progress", DialCallStatus="completed"
        )
        await self.follow(await self.post(url, form))

    async def hang_up(self) -> None:
        self.caller.sequence += 1
        form = self.caller.form(
            self.account_sid,
            CallStatus="completed",
            CallDuration="60",
            SequenceNumber=str(self.caller.sequence),
        )
        await self.post(self.public_url + "/twilio/voice/status", form)
        self.ended = True
        self.say("  (the caller hung up)")


@dataclass
class AgentCall:
    """An agent's phone ringing: the call the gateway placed through the sandbox."""

    phone: Phone
    leg: Leg
    params: dict[str, str]
    prompt: str | None = None  # where the agent's key goes

    async def report(self, status: str) -> None:
        self.leg.sequence += 1
        form = self.leg.form(
            self.phone.account_sid, CallStatus=status, SequenceNumber=str(self.leg.sequence)
        )
        await self.phone.post(self.params["StatusCallback"], form)

    async def answer(self) -> None:
        await self.report("in-progress")
        form = self.leg.form(self.phone.account_sid, CallStatus="in-progress")
        root = await self.phone.post(self.params["Url"], form)
        self._play(root)

    async def machine(self) -> None:
        await self.report("in-progress")
        form = self.leg.form(
            self.phone.account_sid, CallStatus="in-progress", AnsweredBy="machine_start"
        )
        await self.phone.post(self.params["AsyncAmdStatusCallback"], form)

    async def press(self, digits: str) -> bool:
        """The agent's key; True when the agent is now connected to the caller."""
        if self.prompt is None:
            return False
        url, self.prompt = self.prompt, None
        form = self.leg.form(self.phone.account_sid, CallStatus="in-progress", Digits=digits)
        root = await self.phone.post(url, form)
        self._play(root)
        return root.find("Dial/Conference") is not None

    def _play(self, root: ET.Element) -> None:
        for element in root.iter("Say"):
            self.phone.say(f"  agent hears: {element.text}")
        gather = root.find("Gather")
        self.prompt = None if gather is None else gather.get("action")
