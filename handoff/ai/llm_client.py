"""A small client for any OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI,
vLLM, Ollama, LM Studio): which endpoint, model and key apply to an organization, one
`complete()` call under a wall-clock budget, and its answer reduced to the text and tool
calls the responder and the summaries need. Every failure (timeout, connection, HTTP
status, a body that is not a completion) becomes one `LLMError`, so callers fall back in
one place. The key is sent only to the process-wide endpoint and never appears in a log."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from pydantic import SecretStr

from gateway.org_settings import OrganizationSettings
from gateway.settings import Settings

log = logging.getLogger(__name__)

Message = dict[str, Any]
ERROR_BODY_CHARS = 200


class LLMError(Exception):
    """The hosted model gave no usable answer in time."""


@dataclass(frozen=True, slots=True)
class LLMConfig:
    base_url: str
    model: str
    api_key: SecretStr | None = field(default=None, repr=False)
    api_version: str | None = None  # Azure OpenAI
    timeout: float = 8.0

    @property
    def url(self) -> str:
        return f"{self.base_url.rstrip('/')}/chat/completions"

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key is not None:
            secret = self.api_key.get_secret_value()
            if self.api_version:
                headers["api-key"] = secret
            else:
                headers["Authorization"] = f"Bearer {secret}"
        return headers


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Completion:
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None


def llm_config(settings: Settings, org: OrganizationSettings) -> LLMConfig | None:
    """The endpoint and model for this organization, or None for the offline responder.
    An organization's own endpoint gets no key: the process-wide key is not theirs to
    send elsewhere."""
    base_url = (org.llm_base_url or settings.llm_base_url or "").rstrip("/")
    model = org.llm_model or settings.llm_model
    if not base_url or not model:
        return None
    parsed = urlsplit(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        log.error("ignoring the organization's llm_base_url: it is not an http(s) URL")
        return None
    own_endpoint = base_url == (settings.llm_base_url or "").rstrip("/")
    return LLMConfig(
        base_url=base_url,
        model=model,
        api_key=settings.llm_api_key if own_endpoint else None,
        api_version=settings.llm_api_version if own_endpoint else None,
        timeout=settings.llm_timeout_seconds,
    )


async def complete(
    config: LLMConfig,
    messages: list[Message],
    *,
    tools: list[dict[str, Any]] | None = None,
    budget: float | None = None,
    http: aiohttp.ClientSession | None = None,
) -> Completion:
    """One chat completion within `budget` seconds (the config's timeout by default),
    through the kept connections of `http` when given, else a connection of its own."""
    seconds = config.timeout if budget is None else budget
    body: dict[str, Any] = {"model": config.model, "messages": messages}
    if tools:
        body["tools"] = tools
    params = {"api-version": config.api_version} if config.api_version else None
    try:
        async with asyncio.timeout(seconds):
            status, raw = await _post(config, body, params, http)
    except TimeoutError:
        raise LLMError(f"no answer within {seconds:.1f} s") from None
    except aiohttp.ClientError as error:
        raise LLMError(f"request failed: {type(error).__name__}: {error}") from None
    if status >= 400:
        snippet = raw[:ERROR_BODY_CHARS].decode("utf-8", "replace")
        raise LLMError(f"HTTP {status}: {snippet}")
    return parse_completion(raw)


async def _post(
    config: LLMConfig,
    body: dict[str, Any],
    params: dict[str, str] | None,
    http: aiohttp.ClientSession | None,
) -> tuple[int, bytes]:
    """The request, bounded by the caller's `asyncio.timeout`."""
    if http is None:
        async with aiohttp.ClientSession() as own:
            return await _post(config, body, params, own)
    async with http.post(
        config.url, json=body, headers=config.headers(), params=params
    ) as response:
        return response.status, await response.read()


def parse_completion(raw: bytes) -> Completion:
    """The first choice's text and tool calls; anything else is an `LLMError`."""
    try:
        payload = json.loads(raw)
        choice = payload["choices"][0]
        message = choice["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise LLMError("the answer is not a chat completion") from None
    if not isinstance(message, dict):
        raise LLMError("the answer's message is not an object")
    content = message.get("content")
    calls = []
    for raw_call in message.get("tool_calls") or ():
        function = raw_call.get("function") if isinstance(raw_call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise LLMError("a tool call without a function name")
        calls.append(ToolCall(function["name"], _arguments(function.get("arguments"))))
    finish = choice.get("finish_reason")
    return Completion(
        content if isinstance(content, str) else "",
        tuple(calls),
        finish if isinstance(finish, str) else None,
    )


def _arguments(raw: object) -> dict[str, Any]:
    """Tool arguments arrive as a JSON string; models do not always produce valid JSON,
    and a call whose arguments cannot be read still counts as the call."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str) and raw.strip():
        try:
            decoded = json.loads(raw)
        except ValueError:
            return {}
        return decoded if isinstance(decoded, dict) else {}
    return {}
