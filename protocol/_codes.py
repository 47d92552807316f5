"""Error codes (sent in ``error`` messages) and WebSocket close codes."""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    """Stable machine-readable codes carried by the ``error`` server message."""

    BAD_REQUEST = "bad_request"
    """The frame could not be decoded into a protocol value tree."""
    INVALID_MESSAGE = "invalid_message"
    """The frame decoded but violates the schema of its kind."""
    UNKNOWN_TYPE = "unknown_type"
    FRAME_TOO_LARGE = "frame_too_large"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    NOT_JOINED = "not_joined"
    TOO_MANY_ROOMS = "too_many_rooms"
    RATE_LIMITED = "rate_limited"
    CONFLICT = "conflict"
    UNAUTHORIZED = "unauthorized"
    INTERNAL = "internal"
    UNAVAILABLE = "unavailable"
    """A dependency (e.g. storage) is down; the request was not carried out."""
    TOO_MANY_CONNECTIONS = "too_many_connections"


class CloseCode(enum.IntEnum):
    """WebSocket close codes used by the server (4xxx are application codes)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    POLICY = 1008
    TOO_LARGE = 1009
    INTERNAL = 1011
    TRY_AGAIN_LATER = 1013
    SLOW_CONSUMER = 4008
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    TOO_MANY_CONNECTIONS = 4409
    RATE_LIMITED = 4429
