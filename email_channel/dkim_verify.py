"""Checking in the app that a mail claiming an agent's address carries a DKIM signature
of that address's own domain, for mailboxes that turn it on (`verify_dkim`): mail that
reaches Switchboard with no trusted server in front to vouch for it. dkimpy verifies
(the same check as `dkim.verify`, applied to each signature whose `d=` is the sender's
domain rather than only the topmost one); the public key comes from DNS through dkimpy's
`dnsfunc` (dnspython by default; anything with the same shape can be given instead).

A signature counts only when its `d=` is exactly the sender's domain (not a parent: a
provider signing for every customer's subdomain with its own domain would vouch for
strangers), it signs the From header, it covers the whole body (no `l=`, which would let
text be appended after signing), and the mail has a single From. A DNS failure or timeout
counts as no signature, logged in plain words: intake never fails on it, and the lookup
runs in a worker thread bounded by `timeout` so the event loop keeps serving."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dkim
from dkim.dnsplug import get_txt
from dkim.util import parse_tag_value

log = logging.getLogger(__name__)
# dkimpy's own log lines name exceptions and bytes; people read ours instead.
_dkimpy_log = logging.getLogger(f"{__name__}.dkimpy")
_dkimpy_log.addHandler(logging.NullHandler())
_dkimpy_log.propagate = False

# dkimpy's `dnsfunc`: the TXT record at a DNS name (bytes, trailing dot), None when none.
TxtLookup = Callable[..., bytes | None]
MAX_SIGNATURES = 3  # of the sender's domain checked per mail: bounds the DNS work


@dataclass(frozen=True, slots=True)
class DkimVerifier:
    dnsfunc: TxtLookup = get_txt
    timeout: int = 4  # seconds per DNS lookup (dnspython's lifetime)

    async def signed_by_sender(self, raw: bytes, sender: str) -> bool:
        """Whether `raw` carries a valid DKIM signature of `sender`'s domain."""
        domain = sender.rpartition("@")[2].lower()
        if not domain:
            return False
        return await asyncio.to_thread(self._verify, raw, sender.lower(), domain)

    def _verify(self, raw: bytes, sender: str, domain: str) -> bool:
        try:
            checker = dkim.DKIM(raw, logger=_dkimpy_log, timeout=self.timeout)
        except Exception:  # an unreadable message has no signature worth trusting
            log.info("DKIM check: a mail from %s could not be read; not authenticated", sender)
            return False
        froms = [value for name, value in checker.headers if name.lower() == b"from"]
        if len(froms) != 1 or sender.encode() not in froms[0].lower():
            log.info("DKIM check: a mail from %s has no single From header", sender)
            return False
        # `verify(index)` counts DKIM-Signature headers only, topmost first.
        every = [value for name, value in checker.headers if name.lower() == b"dkim-signature"]
        signatures = [index for index, value in enumerate(every) if _usable(value, domain)]
        if not signatures:
            log.info("DKIM check: a mail from %s has no usable signature of %s", sender, domain)
            return False
        failures: list[str] = []
        lookup = _recording(self.dnsfunc, failures)
        for index in signatures[:MAX_SIGNATURES]:
            try:
                if checker.verify(index, dnsfunc=lookup):
                    return True
            except dkim.DKIMException as error:
                log.info("DKIM check: a signature of %s did not verify (%s)", domain, error)
            except Exception:  # never let a checker's fault stop intake: not authenticated
                log.exception("DKIM check: checking a signature of %s failed", domain)
        if failures:
            log.warning(
                "DKIM check: the key of %s could not be looked up in DNS (%s); the mail "
                "from %s is treated as not authenticated",
                domain,
                failures[0],
                sender,
            )
        else:
            log.info("DKIM check: %s's signature on a mail from %s is not valid", domain, sender)
        return False


def _usable(value: bytes, domain: str) -> bool:
    """A signature by exactly `domain` that signs From and the whole body."""
    try:
        tags = parse_tag_value(value)
    except Exception:
        return False
    signed = {name.strip().lower() for name in tags.get(b"h", b"").split(b":")}
    return (
        tags.get(b"d", b"").strip().lower().decode("ascii", "replace") == domain
        and b"from" in signed
        and b"l" not in tags
    )


def _recording(dnsfunc: TxtLookup, failures: list[str]) -> TxtLookup:
    """`dnsfunc`, with each failure noted and handed to dkimpy as the DNS timeout it
    reports as a failed check (any other exception would escape `verify`)."""

    def lookup(name: bytes, timeout: int = 5, **options: Any) -> bytes | None:
        try:
            return dnsfunc(name, timeout=timeout, **options)
        except Exception as error:
            failures.append(f"{name.decode('ascii', 'replace')}: {error or type(error).__name__}")
            raise dkim.DnsTimeoutError(str(error)) from error

    return lookup
