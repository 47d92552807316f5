"""Protocol version, limits and timing constants shared by server and clients."""

from __future__ import annotations

from typing import Final

PROTOCOL_VERSION: Final = 1

# --- Frames ---------------------------------------------------------------
#: Largest frame (after WebSocket reassembly) a client may send to the server.
MAX_FRAME_BYTES: Final = 64 * 1024
#: Largest frame the server sends (``joined`` with history can be large).
#: Clients must accept frames of at least this size.
MAX_SERVER_FRAME_BYTES: Final = 4 * 1024 * 1024
#: Maximum nesting of maps/arrays in a client frame (the top-level map counts as 1).
MAX_NESTING_DEPTH: Final = 16
#: Maximum nesting accepted in server frames (history entries embed client values).
MAX_SERVER_NESTING_DEPTH: Final = 32
#: Integers on the wire stay within +/- this bound so JavaScript clients can represent them.
MAX_SAFE_INTEGER: Final = 2**53 - 1

# --- Field limits -----------------------------------------------------------
MAX_CHAT_LENGTH: Final = 4000
MAX_CLIENT_ID_LENGTH: Final = 64
MAX_ID_LENGTH: Final = 64
MAX_TOKEN_LENGTH: Final = 4096

# --- Per-connection / per-user limits ---------------------------------------
MAX_ROOMS_PER_CONNECTION: Final = 50
MAX_CONNECTIONS_PER_USER: Final = 10
#: Token bucket for client messages: refill rate (messages per second) and capacity.
RATE_LIMIT_PER_SECOND: Final = 20
RATE_LIMIT_BURST: Final = 50
#: A connection that has this many messages refused with ``rate_limited`` within
#: ``RATE_LIMIT_CLOSE_WINDOW_MS`` is closed with ``CloseCode.RATE_LIMITED``.
RATE_LIMIT_CLOSE_THRESHOLD: Final = 100
RATE_LIMIT_CLOSE_WINDOW_MS: Final = 10_000

# --- Timing -----------------------------------------------------------------
HEARTBEAT_INTERVAL_MS: Final = 20_000
HEARTBEAT_TIMEOUT_MS: Final = 10_000
TYPING_TTL_MS: Final = 5_000
#: ``auth_expiring`` is sent this long before the connection's credentials expire.
AUTH_EXPIRY_WARNING_MS: Final = 60_000
#: ``goaway.retryAfterMs`` is drawn uniformly from this range when draining.
GOAWAY_RETRY_MIN_MS: Final = 1_000
GOAWAY_RETRY_MAX_MS: Final = 10_000

# --- Rooms and history ------------------------------------------------------
#: Durable events sent in ``joined.history`` for a join without ``since``, and the
#: most a ``since`` join replays before the server answers with ``resync`` instead.
HISTORY_ON_JOIN: Final = 100

# --- Enumerated string values -----------------------------------------------
#: Statuses a client may set with ``presence``.
PRESENCE_STATUSES: Final = frozenset({"online", "away", "busy", "dnd"})
#: Statuses the server may report (a user with no open connection is ``offline``).
SERVER_PRESENCE_STATUSES: Final = PRESENCE_STATUSES | {"offline"}
#: Values of ``nda_status.status``.
NDA_STATUSES: Final = frozenset({"pending", "approved", "rejected", "signed", "expired", "revoked"})
#: Pitch fields that ``pitch_update`` may change (wire names).
EDITABLE_PITCH_FIELDS: Final = frozenset(
    {
        "title",
        "logline",
        "genre",
        "format",
        "budgetRange",
        "shortSynopsis",
        "longSynopsis",
        "targetAudience",
        "comparableTitles",
        "themes",
        "characters",
        "protectedContent",
        "requireNda",
    }
)
#: Server kinds that carry a per-room ``seq`` and are replayed on ``join`` with ``since``.
DURABLE_EVENT_TYPES: Final = frozenset({"chat", "pitch_updated", "member_joined", "member_left"})
