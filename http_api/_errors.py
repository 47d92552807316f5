"""HTTP API errors: each carries its status and a stable ``code`` string.

    ApiError                        any error the API reports on purpose
    ├── BadRequest           400    bad_request
    │   └── ValidationFailed 400    validation_error (details: one entry per field)
    ├── Unauthorized         401    unauthorized (also invalid_credentials, token_expired…)
    ├── Forbidden            403    forbidden (also wrong_portal, origin_not_allowed…)
    ├── NotFound             404    not_found
    ├── Conflict             409    conflict (also version_conflict, invalid_state…)
    ├── PayloadTooLarge      413    payload_too_large
    ├── UnsupportedMediaType 415    unsupported_media_type
    ├── Unprocessable        422    unprocessable_entity (also nda_not_required…)
    ├── Locked               423    account_locked, with Retry-After
    ├── RateLimited          429    rate_limited, with Retry-After
    └── Unavailable          503    unavailable (a dependency is down)

Unexpected exceptions become a 500 ``internal_error`` with a reference id (the request id)
and no stack trace; storage outages become 503 ``unavailable``.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        details: Any = None,
        status: int | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = dict(headers or {})
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class ValidationFailed(BadRequest):
    """The request did not match its schema; ``details`` lists ``{field, message, type}``."""

    code = "validation_error"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"

    def __init__(self, message: str = "Authentication required.", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="pitchey"')


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


class Unprocessable(ApiError):
    status = 422
    code = "unprocessable_entity"


class _RetryLater(ApiError):
    def __init__(self, message: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))
        self.headers["Retry-After"] = str(self.retry_after)


class Locked(_RetryLater):
    status = 423
    code = "account_locked"


class RateLimited(_RetryLater):
    status = 429
    code = "rate_limited"


class Unavailable(ApiError):
    status = 503
    code = "unavailable"
