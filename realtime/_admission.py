"""Who may open a WebSocket: decided on the upgrade request, before any socket exists.

Credentials: a single-use ``?ticket=`` (from ``GET /api/ws/token``), or an access token as
``?token=`` or ``Authorization: Bearer``. A present ``Origin`` must be allowed. Refusals are
plain HTTP: 404 wrong path, 400 no supported subprotocol, 403 bad origin, 401 credentials.
Tokens are never logged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import structlog

from protocol import Codec, select_subprotocol
from storage import (
    ACCESS_TOKEN_TTL,
    InvalidToken,
    Storage,
    StorageError,
    consume_ws_ticket,
    load_member,
    token_version_matches,
    verify_access_token,
)

from ._ws_transport import Admission, Handshake, Rejection

log = structlog.get_logger("realtime.admission")

WS_PATH = "/ws"


@dataclass(frozen=True, slots=True)
class Identity:
    """The authenticated user of a connection and until when (epoch seconds)."""

    user: dict[str, Any]
    expires_at: float
    codec: Codec

    @property
    def user_id(self) -> int:
        return int(self.user["id"])


class Admitter:
    def __init__(
        self, storage: Storage, *, jwt_secret: str, allowed_origins: tuple[str, ...]
    ) -> None:
        self._storage = storage
        self._secret = jwt_secret
        self._origins = frozenset(allowed_origins)

    async def __call__(self, handshake: Handshake) -> Admission | Rejection:
        if handshake.path != WS_PATH:
            return Rejection(404, "no WebSocket here; connect to /ws")
        codec = select_subprotocol(handshake.subprotocols or ("pitchey.v1.msgpack",))
        if codec is None:
            return Rejection(400, "unsupported subprotocol; offer pitchey.v1.msgpack")
        origin = handshake.headers.get("origin")
        if origin is not None and origin.rstrip("/") not in self._origins:
            log.info("ws_refused", reason="origin", origin=origin, remote=handshake.remote)
            return Rejection(403, "origin not allowed")
        try:
            user_id, expires_at = await self._authenticate(handshake)
            user = await load_member(self._storage, user_id) if user_id is not None else None
        except StorageError as exc:
            log.warning("ws_refused", reason="storage", error=str(exc))
            return Rejection(503, "temporarily unavailable; retry shortly")
        if user is None:
            log.info("ws_refused", reason="credentials", remote=handshake.remote)
            return Rejection(401, "missing or invalid credentials")
        subprotocol = codec.name if handshake.subprotocols else None
        return Admission(subprotocol, Identity(user, expires_at, codec))

    async def _authenticate(self, handshake: Handshake) -> tuple[int | None, float]:
        query = parse_qs(handshake.query)
        ticket = (query.get("ticket") or [None])[0]
        if ticket:
            user_id = await consume_ws_ticket(self._storage, ticket)
            return user_id, time.time() + ACCESS_TOKEN_TTL
        token = (query.get("token") or [None])[0]
        header = handshake.headers.get("authorization", "")
        if not token and header.lower().startswith("bearer "):
            token = header[7:].strip()
        if not token:
            return None, 0.0
        return await self.verify(token)

    async def verify(self, token: str) -> tuple[int | None, float]:
        """The user id and expiry of a valid, unrevoked access token; (None, 0) if not."""
        try:
            claims = verify_access_token(self._secret, token)
        except InvalidToken:
            return None, 0.0
        if not await token_version_matches(self._storage, claims):
            return None, 0.0
        return claims.user_id, claims.expires_at
