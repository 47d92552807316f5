"""Who is calling: access tokens from the ``Authorization`` header or a cookie.

A presented token must be well-formed, correctly signed, unexpired and of the user's
current token version (else 401, whatever the route). Requests that change something and
are authenticated by cookie must come from an allowed origin (else 403), which is what
keeps another site from riding a browser's cookies.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog
from quart import g, request

from storage import InvalidToken, token_version_matches, verify_access_token

from ._context import deps
from ._errors import Forbidden, Unauthorized

ACCESS_COOKIE = "pitchey_access"
REFRESH_COOKIE = "pitchey_refresh"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    user_type: str


def presented_token() -> tuple[str | None, bool]:
    """(token, came from a cookie) of this request; a malformed header is 401."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("Use 'Authorization: Bearer <token>'.", code="invalid_token")
        return value.strip(), False
    cookie = request.cookies.get(ACCESS_COOKIE)
    return (cookie, True) if cookie else (None, False)


def claimed_user_id() -> int | None:
    """The user id a validly signed token claims, without asking the database (for rate
    limiting before the handler runs); None when absent or invalid."""
    try:
        token, _ = presented_token()
        return verify_access_token(deps().jwt_secret, token).user_id if token else None
    except (Unauthorized, InvalidToken):
        return None


async def current_user(*, required: bool = True) -> Principal | None:
    """The authenticated caller (cached per request); None for an anonymous caller when
    not ``required``, 401 when required."""
    if "principal" in g:
        principal = g.principal
    else:
        principal = await _authenticate()
        g.principal = principal
    if principal is None and required:
        raise Unauthorized()
    return principal


async def require_user(*types: str) -> Principal:
    """The authenticated caller, who must be of one of ``types`` (when given)."""
    principal = await current_user()
    assert principal is not None
    if types and principal.user_type not in types:
        raise Forbidden(f"Only {' or '.join(types)} accounts may do this.", code="wrong_user_type")
    return principal


async def _authenticate() -> Principal | None:
    token, via_cookie = presented_token()
    if token is None:
        return None
    try:
        claims = verify_access_token(deps().jwt_secret, token)
    except InvalidToken as exc:
        expired = "expired" in str(exc)
        raise Unauthorized(
            "The access token has expired." if expired else "The access token is not valid.",
            code="token_expired" if expired else "invalid_token",
        ) from None
    if not await token_version_matches(deps().storage, claims):
        raise Unauthorized("The access token has been revoked.", code="token_revoked")
    if via_cookie and request.method not in SAFE_METHODS:
        check_origin()
    g.user_id = claims.user_id
    structlog.contextvars.bind_contextvars(user_id=claims.user_id)
    return Principal(claims.user_id, claims.user_type)


def check_origin() -> None:
    """403 unless the request's Origin (or, failing that, Referer) is an allowed one."""
    origin = request.headers.get("Origin")
    if not origin:
        referer = urlsplit(request.headers.get("Referer", ""))
        origin = f"{referer.scheme}://{referer.netloc}" if referer.netloc else ""
    if origin.rstrip("/") not in deps().allowed_origins:
        raise Forbidden(
            "Cookie-authenticated changes must come from an allowed origin.",
            code="origin_not_allowed",
        )


def client_ip() -> str:
    """The peer address (forwarding headers are not trusted: any client can send them)."""
    return request.remote_addr or "unknown"


def request_is_secure() -> bool:
    """True when the request arrived over TLS, directly or at a TLS-terminating proxy."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.scheme == "https" or forwarded == "https"
