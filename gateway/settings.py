"""Process settings, read once from `SWITCHBOARD_*` environment variables (and an optional
`.env` file), typed and frozen, then passed explicitly to whatever needs them. Settings that
differ per organization (numbers, widget origins, timers) live in the database instead."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, NonNegativeInt, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.errors import ConfigurationError

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SWITCHBOARD_", env_file=".env", extra="ignore", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    var_dir: Path = Path("var")
    database_url: str | None = None
    redis_url: str | None = None
    public_url: str | None = None
    secret_key: SecretStr | None = None
    log_level: str = "INFO"
    widget_max_message_chars: int = Field(2000, ge=1)
    widget_messages_per_minute: int = Field(20, ge=1)
    widget_token_max_age_days: int = Field(90, ge=1)
    widget_new_visitors_per_hour: int = Field(30, ge=1)
    sql_echo: bool = False
    # Each gateway process's connection pool (PostgreSQL; a SQLite file too): a request
    # that waits longer than the timeout for a connection is answered 503 with Retry-After.
    database_pool_size: int = Field(10, ge=1, le=500)
    database_max_overflow: int = Field(20, ge=0, le=500)
    database_pool_timeout_seconds: float = Field(30.0, gt=0, le=300)
    # The bearer token `GET /metrics` asks for; unset, the endpoint answers 404.
    metrics_token: SecretStr | None = None
    # Twilio Messaging: the REST API's base URL (a regional edge such as
    # https://api.dublin.ie1.twilio.com, or a local sandbox), whether to rebuild the URL
    # Twilio signed from X-Forwarded-Proto/-Host/-Port when no public URL is set (only
    # behind a proxy that sets them), and the largest media file kept or sent.
    twilio_api_base_url: str = "https://api.twilio.com"
    trust_forwarded_headers: bool = False
    media_max_bytes: int = Field(5 * 1024 * 1024, ge=1024)

    @field_validator("twilio_api_base_url")
    @classmethod
    def _twilio_api_base_url_is_http(cls, value: str) -> str:
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("must look like https://api.twilio.com")
        return value.rstrip("/")

    # Outgoing notification mail to agents (reminders, escalations):
    # smtp://user:pass@host:587?starttls=true, or smtps://... for TLS from the start.
    smtp_url: SecretStr | None = None
    mail_from: str = "Switchboard <switchboard@localhost>"
    # Where the inbound SMTP server listens (host:port), for `switchboard smtp` and `up`.
    inbound_smtp: str | None = None
    inbound_smtp_max_bytes: int = Field(25 * 1024 * 1024, ge=1024)
    # Seconds between the attempts to deliver an outgoing webhook.
    webhook_retry_intervals: list[NonNegativeInt] = Field(
        default=[10, 60, 300, 1800, 7200], min_length=1
    )
    # Outgoing webhooks to loopback, link-local and private addresses are refused unless
    # this is set (an on-premises integration on the private network).
    webhooks_allow_private: bool = False
    # A hosted model behind any OpenAI-compatible chat-completions endpoint (OpenAI, Azure
    # OpenAI, vLLM, Ollama, LM Studio); unset means the offline knowledge-base responder.
    # With `llm_api_version` (Azure) the key goes in an `api-key` header and the version in
    # an `api-version` query parameter; otherwise the key is a Bearer token.
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_api_version: str | None = None
    llm_timeout_seconds: float = Field(8.0, gt=0, le=120)

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_is_smtp(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parsed = urlsplit(value.get_secret_value())
            if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
                raise ValueError("must look like smtp://user:pass@host:port or smtps://...")
        return value

    @field_validator("llm_base_url")
    @classmethod
    def _llm_base_url_is_http(cls, value: str | None) -> str | None:
        if value:
            parsed = urlsplit(value)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise ValueError("must look like https://host/v1")
            return value.rstrip("/")
        return None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'switchboard.db').resolve()}"

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def require_redis_url(self) -> str:
        if not self.redis_url:
            raise ConfigurationError(
                "SWITCHBOARD_REDIS_URL is required (or use `switchboard up`, which starts Redis)"
            )
        return self.redis_url

    def require_secret_key(self) -> str:
        if self.secret_key is None:
            raise ConfigurationError(
                "SWITCHBOARD_SECRET_KEY is required (or run `switchboard up` once to create one)"
            )
        return self.secret_key.get_secret_value()


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; a secret key left by `switchboard up` in the state
    folder is used when none is configured. Invalid values fail with their names."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        names = ", ".join(
            "SWITCHBOARD_" + str(err["loc"][0]).upper() for err in exc.errors() if err["loc"]
        )
        # The values stay out of the message: a URL may carry a password.
        reasons = "; ".join(err["msg"] for err in exc.errors(include_input=False))
        raise ConfigurationError(f"invalid setting(s): {names}: {reasons}") from None
    if settings.secret_key is None:
        stored = settings.var_dir / SECRET_KEY_FILE
        if stored.exists():
            settings = settings.model_copy(
                update={"secret_key": SecretStr(stored.read_text().strip())}
            )
    return settings


def ensure_secret_key(settings: Settings) -> Settings:
    """Create and keep a secret key in the state folder (first run of `switchboard up`)."""
    if settings.secret_key is not None:
        return settings
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    stored = settings.var_dir / SECRET_KEY_FILE
    # Created readable by its owner only from the start, and only if no key is there yet:
    # an existing key is kept, since sessions and signed links depend on it.
    with contextlib.suppress(FileExistsError):
        created = os.open(stored, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(created, "w") as file:
            file.write(secrets.token_urlsafe(48))
    return settings.model_copy(update={"secret_key": SecretStr(stored.read_text().strip())})
