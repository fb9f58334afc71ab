"""Process settings, read once from `SWITCHBOARD_*` environment variables (and an optional
`.env` file), typed and frozen, then passed explicitly to whatever needs them. Settings that
differ per organization (numbers, widget origins, timers) live in the database instead."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
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
    sql_echo: bool = False

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
        raise ConfigurationError(f"invalid setting(s): {names}: {exc}") from exc
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
    stored.write_text(secrets.token_urlsafe(48))
    stored.chmod(0o600)
    return settings.model_copy(update={"secret_key": SecretStr(stored.read_text().strip())})
