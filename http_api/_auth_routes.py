"""Registration, portal logins, token refresh with rotation, logout and the session.

Logins answer ``{user, accessToken, refreshToken, expiresAt}`` and set the same tokens as
HttpOnly, SameSite cookies. A wrong portal is 403 before the password is looked at, so
the answer never says whether the password was right. Five wrong passwords in a row lock
the account for 15 minutes (423 with Retry-After), counted in PostgreSQL.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import structlog
from quart import Blueprint, Response, after_this_request, request
from quart_schema import tag_blueprint

from storage import (
    REFRESH_TOKEN_TTL,
    RefreshOutcome,
    UniqueViolation,
    UserRecord,
    bump_token_version,
    create_user,
    find_user_by_email,
    get_user,
    issue_access_token,
    record_login_failure,
    revoke_refresh_family,
    rotate_refresh_token,
    start_session,
)

from ._auth import (
    ACCESS_COOKIE,
    REFRESH_COOKIE,
    check_origin,
    client_ip,
    current_user,
    request_is_secure,
)
from ._context import deps
from ._errors import Conflict, Forbidden, Locked, Unauthorized
from ._limits import limit_account
from ._passwords import hash_password, verify_password
from ._schema import Done, Ok, body, responds
from ._user_models import (
    AuthOut,
    LoginBody,
    LogoutBody,
    MeOut,
    RefreshBody,
    RegisterBody,
    SessionOut,
    UserType,
)

log = structlog.get_logger("http_api.auth")
blueprint = Blueprint("auth", __name__, url_prefix="/api/auth")
tag_blueprint(blueprint, ["auth"])

_dummy_hash: str | None = None  # verified against for unknown emails (same timing)


@blueprint.post("/register")
@body(RegisterBody)
@responds(Ok[AuthOut], 201)
async def register(data: RegisterBody) -> tuple[Ok[AuthOut], int]:
    """Create an account (creator, investor or production) and sign it in."""
    await limit_account(data.email)
    password_hash = await hash_password(data.password)
    try:
        user = await create_user(
            deps().storage,
            email=data.email,
            username=data.username,
            password_hash=password_hash,
            user_type=data.user_type,
            first_name=data.first_name,
            last_name=data.last_name,
            company_name=data.company_name,
        )
    except UniqueViolation as exc:
        field = "email" if "email" in (exc.constraint or "") else "username"
        raise Conflict(
            f"That {field} is already registered.",
            code=f"{field}_taken",
            details=[{"field": field, "message": "already registered", "type": "taken"}],
        ) from None
    log.info("user_registered", registered_user_id=user.id, user_type=user.user_type)
    return Ok(data=await _signed_in(user)), 201


@blueprint.post("/login")
@body(LoginBody)
@responds(Ok[AuthOut])
async def login(data: LoginBody) -> Ok[AuthOut]:
    """Sign in through whichever portal the account belongs to."""
    return Ok(data=await _login(data, None))


def _portal_login(portal: UserType) -> Any:
    async def portal_login(data: LoginBody) -> Ok[AuthOut]:
        return Ok(data=await _login(data, portal))

    portal_login.__name__ = f"login_{portal}"
    portal_login.__doc__ = (
        f"Sign in through the {portal} portal (403 for accounts of another type)."
    )
    return responds(Ok[AuthOut])(body(LoginBody)(portal_login))


for _portal in ("creator", "investor", "production"):
    blueprint.add_url_rule(f"/{_portal}/login", view_func=_portal_login(_portal), methods=["POST"])


@blueprint.post("/refresh")
@body(RefreshBody, optional=True)
@responds(Ok[AuthOut])
async def refresh(data: RefreshBody) -> Ok[AuthOut]:
    """Exchange a refresh token (body or cookie) for new tokens; the old one is used up."""
    token = data.refresh_token or _refresh_cookie()
    if token is None:
        raise Unauthorized("No refresh token.", code="invalid_refresh_token")
    result = await rotate_refresh_token(
        deps().storage, token, ip=client_ip(), user_agent=request.headers.get("User-Agent")
    )
    if result.outcome is RefreshOutcome.REUSED:
        log.warning("refresh_token_reused")
        _clear_cookies()
        raise Unauthorized(
            "This refresh token was already used; every session of its login is revoked.",
            code="refresh_token_reused",
        )
    if result.outcome is not RefreshOutcome.ROTATED:
        raise Unauthorized("The refresh token is not valid.", code="invalid_refresh_token")
    assert result.user is not None and result.token is not None
    return Ok(data=_tokens(result.user, result.token))


@blueprint.post("/logout")
@body(LogoutBody, optional=True)
@responds(Ok[Done])
async def logout(data: LogoutBody) -> Ok[Done]:
    """Revoke this login's refresh tokens; with ``allDevices`` every token of the user."""
    token = data.refresh_token or _refresh_cookie()
    if token is not None:
        await revoke_refresh_family(deps().storage, token)
    if data.all_devices:
        principal = await current_user()
        assert principal is not None
        await bump_token_version(deps().storage, principal.user_id)
    _clear_cookies()
    return Ok(data=Done())


@blueprint.get("/session")
@responds(Ok[SessionOut])
async def session() -> Ok[SessionOut]:
    """The signed-in user."""
    principal = await current_user()
    assert principal is not None
    user = await get_user(deps().storage, principal.user_id)
    if user is None:
        raise Unauthorized("The account no longer exists.", code="token_revoked")
    return Ok(data=SessionOut(user=MeOut.of(user)))


async def _login(data: LoginBody, portal: str | None) -> AuthOut:
    global _dummy_hash
    await limit_account(data.email)
    storage = deps().storage
    user = await find_user_by_email(storage, data.email)
    if user is None:
        _dummy_hash = _dummy_hash or await hash_password("not-a-real-password-1")
        await verify_password(_dummy_hash, data.password)
        raise Unauthorized("Email or password is wrong.", code="invalid_credentials")
    now = datetime.now(UTC)
    if user.locked_until is not None and user.locked_until > now:
        raise _locked(user.locked_until, now)
    if portal is not None and user.user_type != portal:
        raise Forbidden(
            f"This account cannot sign in through the {portal} portal.", code="wrong_portal"
        )
    if not await verify_password(user.password_hash, data.password):
        failure = await record_login_failure(storage, user.id)
        log.info("login_failed", login_user_id=user.id, failures=failure.failed_count)
        if failure.locked_until is not None:
            raise _locked(failure.locked_until, now)
        raise Unauthorized("Email or password is wrong.", code="invalid_credentials")
    return await _signed_in(user)


def _locked(until: datetime, now: datetime) -> Locked:
    return Locked(
        "Too many failed logins; the account is locked for now.",
        retry_after=math.ceil((until - now).total_seconds()),
        details={"lockedUntil": until.isoformat()},
    )


async def _signed_in(user: UserRecord) -> AuthOut:
    refresh_token = await start_session(
        deps().storage,
        user.id,
        ip=client_ip(),
        user_agent=request.headers.get("User-Agent"),
    )
    return _tokens(user, refresh_token)


def _tokens(user: UserRecord, refresh_token: str) -> AuthOut:
    access_token, claims = issue_access_token(
        deps().jwt_secret,
        user_id=user.id,
        user_type=user.user_type,
        token_version=user.token_version,
    )
    secure = request_is_secure()
    access_max_age = max(0, int(claims.expires_at - datetime.now(UTC).timestamp()))

    @after_this_request
    async def set_cookies(response: Response) -> Response:
        response.set_cookie(
            ACCESS_COOKIE,
            access_token,
            max_age=access_max_age,
            httponly=True,
            secure=secure,
            samesite="Lax",
            path="/",
        )
        response.set_cookie(
            REFRESH_COOKIE,
            refresh_token,
            max_age=REFRESH_TOKEN_TTL,
            httponly=True,
            secure=secure,
            samesite="Strict",
            path="/api/auth",
        )
        return response

    return AuthOut(
        user=MeOut.of(user),
        access_token=access_token,
        refresh_token=refresh_token,
        expires_at=datetime.fromtimestamp(claims.expires_at, UTC),
    )


def _refresh_cookie() -> str | None:
    token = request.cookies.get(REFRESH_COOKIE)
    if token:
        check_origin()
    return token or None


def _clear_cookies() -> None:
    @after_this_request
    async def clear(response: Response) -> Response:
        response.delete_cookie(ACCESS_COOKIE, path="/")
        response.delete_cookie(REFRESH_COOKIE, path="/api/auth")
        return response
