"""HTTP API errors: each carries its status and a stable ``code`` string.

    ApiError                    any error the API reports on purpose
    ├── NotFound       404      not_found
    ├── Conflict       409      conflict
    └── Unavailable    503      unavailable (a dependency is down)

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
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class Unavailable(ApiError):
    status = 503
    code = "unavailable"
