"""The signed-in user's own account, public profiles and follows (a new follower is
notified live: ``new_follower``)."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import tag_blueprint

from storage import (
    IntegrityViolation,
    change_password,
    get_public_profile,
    get_user,
    set_follow,
    update_profile,
)

from ._auth import current_user
from ._context import deps
from ._errors import Forbidden, NotFound, Unauthorized, Unprocessable, ValidationFailed
from ._events import publish_notifications
from ._passwords import hash_password, verify_password
from ._schema import Ok, body, responds
from ._user_models import FollowOut, MeOut, ProfileOut, UpdateMeBody

blueprint = Blueprint("users", __name__, url_prefix="/api/users")
tag_blueprint(blueprint, ["users"])

_PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "company_name",
    "bio",
    "location",
    "avatar_url",
    "email_notifications",
    "muted_notification_kinds",
)


@blueprint.get("/me")
@responds(Ok[MeOut])
async def me() -> Ok[MeOut]:
    """The signed-in user's own account, private fields included."""
    principal = await current_user()
    assert principal is not None
    user = await get_user(deps().storage, principal.user_id)
    if user is None:
        raise Unauthorized("The account no longer exists.", code="token_revoked")
    return Ok(data=MeOut.of(user))


@blueprint.patch("/me")
@body(UpdateMeBody)
@responds(Ok[MeOut])
async def update_me(data: UpdateMeBody) -> Ok[MeOut]:
    """Change profile fields; with ``currentPassword`` and ``newPassword``, the password
    (which signs the user out everywhere: every token issued before stops working)."""
    principal = await current_user()
    assert principal is not None
    storage = deps().storage
    changes = {
        name: getattr(data, name) for name in _PROFILE_FIELDS if name in data.model_fields_set
    }
    user = await update_profile(storage, principal.user_id, changes)
    if data.new_password is not None:
        if data.current_password is None:
            raise ValidationFailed(
                "Changing the password needs the current one.",
                details=[{"field": "currentPassword", "message": "required", "type": "missing"}],
            )
        if not await verify_password(user.password_hash, data.current_password):
            raise Forbidden("The current password is wrong.", code="invalid_credentials")
        user = await change_password(
            storage, principal.user_id, await hash_password(data.new_password)
        )
    return Ok(data=MeOut.of(user))


@blueprint.get("/<id:user_id>")
@responds(Ok[ProfileOut])
async def profile(user_id: int) -> Ok[ProfileOut]:
    """A user's public profile (no email, no private fields)."""
    principal = await current_user(required=False)
    found = await get_public_profile(
        deps().storage, user_id, principal.user_id if principal else None
    )
    if found is None:
        raise NotFound("No such user.")
    return Ok(data=ProfileOut.of(found))


@blueprint.post("/<id:user_id>/follow")
@responds(Ok[FollowOut])
async def follow(user_id: int) -> Ok[FollowOut]:
    """Follow a user (idempotent)."""
    return Ok(data=await _follow(user_id, on=True))


@blueprint.delete("/<id:user_id>/follow")
@responds(Ok[FollowOut])
async def unfollow(user_id: int) -> Ok[FollowOut]:
    """Stop following a user (idempotent)."""
    return Ok(data=await _follow(user_id, on=False))


async def _follow(user_id: int, *, on: bool) -> FollowOut:
    principal = await current_user()
    assert principal is not None
    if user_id == principal.user_id:
        raise Unprocessable("You cannot follow yourself.", code="cannot_follow_self")
    try:
        counted = await set_follow(deps().storage, principal.user_id, user_id, on=on)
    except IntegrityViolation:
        raise Unprocessable("You cannot follow yourself.", code="cannot_follow_self") from None
    if counted is None:
        raise NotFound("No such user.")
    if counted.notification is not None:
        await publish_notifications([counted.notification])
    return FollowOut(following=on, follower_count=counted.count)
