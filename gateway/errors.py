"""The one exception tree of Switchboard. Adapters translate vendor errors into these at
their edge; the HTTP layer turns them into JSON answers with a clear message.

    SwitchboardError
    ├── ConfigurationError          a setting is missing or invalid (fails at start-up)
    ├── BadInput                    the caller sent something we refuse (HTTP 400)
    │   ├── UnknownChannel
    │   ├── MediaTooLarge           an upload over the media limit (HTTP 413)
    │   └── KeyReused               an Idempotency-Key sent with another request (HTTP 422)
    ├── NotAuthenticated            no valid login, token or signature (HTTP 401)
    ├── Forbidden                   authenticated, but not allowed (HTTP 403)
    ├── NotFound                    absent, or belongs to another organization (HTTP 404)
    ├── Conflict                    the state changed under the caller (HTTP 409)
    │   ├── IllegalTransition       the ownership table does not allow this move
    │   └── OwnershipChanged        the ownership version moved on since it was read
    ├── RateLimited                 too many requests (HTTP 429)
    └── DeliveryError               sending on a channel failed (HTTP 502 when a request
                                    waited on it: the provider, not the caller, failed)
        ├── TransientDeliveryError  worth retrying (network, 429, 5xx)
        └── PermanentDeliveryError  retrying will not help (bad address, opt-out, ...)
"""

from __future__ import annotations


class SwitchboardError(Exception):
    """Base of every error Switchboard raises on purpose."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_json(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


class ConfigurationError(SwitchboardError):
    code = "configuration_error"


class BadInput(SwitchboardError):
    status = 400
    code = "bad_input"


class UnknownChannel(BadInput):
    code = "unknown_channel"


class MediaTooLarge(BadInput):
    status = 413
    code = "media_too_large"


class KeyReused(BadInput):
    status = 422
    code = "idempotency_key_reused"


class NotAuthenticated(SwitchboardError):
    status = 401
    code = "not_authenticated"


class Forbidden(SwitchboardError):
    status = 403
    code = "forbidden"


class NotFound(SwitchboardError):
    status = 404
    code = "not_found"


class Conflict(SwitchboardError):
    status = 409
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class OwnershipChanged(Conflict):
    code = "ownership_changed"


class RateLimited(SwitchboardError):
    status = 429
    code = "rate_limited"


class DeliveryError(SwitchboardError):
    status = 502
    code = "delivery_failed"

    def __init__(
        self, message: str, *, provider_code: str | None = None, detail: str | None = None
    ) -> None:
        super().__init__(message)
        self.provider_code = provider_code
        # The provider's own words, when `message` is a plain sentence for agents.
        self.detail = detail


class TransientDeliveryError(DeliveryError):
    code = "delivery_retry"


class PermanentDeliveryError(DeliveryError):
    code = "delivery_refused"
