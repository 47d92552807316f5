"""Request and response models of accounts, sessions and profiles."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from storage import PublicProfile, UserRecord

from ._schema import Schema

UserType = Literal["creator", "investor", "production"]
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,30}$"
URL_PATTERN = r"^https?://\S+$"


def check_password_policy(password: str) -> str:
    """At least 8 characters, and not all of one class (lower, upper, digit, other)."""
    classes = {
        "lower"
        if ch.islower()
        else "upper"
        if ch.isupper()
        else "digit"
        if ch.isdigit()
        else "other"
        for ch in password
    }
    if len(classes) < 2:
        raise ValueError("must mix at least two of: lowercase, uppercase, digits, symbols")
    return password


class RegisterBody(Schema):
    email: str = Field(max_length=320, pattern=EMAIL_PATTERN)
    username: str = Field(pattern=USERNAME_PATTERN)
    password: str = Field(min_length=8, max_length=128)
    user_type: UserType
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    company_name: str | None = Field(None, max_length=200)

    password_policy = field_validator("password")(check_password_policy)


class LoginBody(Schema):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class RefreshBody(Schema):
    refresh_token: str | None = Field(None, min_length=1, max_length=200)


class LogoutBody(Schema):
    refresh_token: str | None = Field(None, min_length=1, max_length=200)
    all_devices: bool = False


class UpdateMeBody(Schema):
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    company_name: str | None = Field(None, max_length=200)
    bio: str | None = Field(None, max_length=5000)
    location: str | None = Field(None, max_length=200)
    avatar_url: str | None = Field(None, max_length=2000, pattern=URL_PATTERN)
    email_notifications: bool = None  # type: ignore[assignment]  # absent: unchanged
    muted_notification_kinds: list[str] = Field(None, max_length=50)  # type: ignore[assignment]
    current_password: str | None = Field(None, min_length=1, max_length=1024)
    new_password: str | None = Field(None, min_length=8, max_length=128)

    @field_validator("new_password")
    @classmethod
    def new_password_policy(cls, value: str | None) -> str | None:
        return None if value is None else check_password_policy(value)


class MeOut(Schema):
    """The signed-in user, private fields included."""

    id: int
    email: str
    username: str
    user_type: str
    first_name: str | None
    last_name: str | None
    company_name: str | None
    bio: str | None
    location: str | None
    avatar_url: str | None
    email_notifications: bool
    muted_notification_kinds: list[str]
    last_login_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, user: UserRecord) -> MeOut:
        return cls(
            id=user.id,
            email=user.email,
            username=user.username,
            user_type=user.user_type,
            first_name=user.first_name,
            last_name=user.last_name,
            company_name=user.company_name,
            bio=user.bio,
            location=user.location,
            avatar_url=user.avatar_url,
            email_notifications=user.email_notifications,
            muted_notification_kinds=user.muted_notification_kinds,
            last_login_at=user.last_login_at,
            created_at=user.created_at,
        )


class ProfileOut(Schema):
    """A user as anyone may see them: no email, no settings."""

    id: int
    username: str
    user_type: str
    first_name: str | None
    last_name: str | None
    company_name: str | None
    bio: str | None
    location: str | None
    avatar_url: str | None
    created_at: datetime
    follower_count: int
    following_count: int
    pitch_count: int
    is_following: bool

    @classmethod
    def of(cls, profile: PublicProfile) -> ProfileOut:
        user = profile.user
        return cls(
            id=user.id,
            username=user.username,
            user_type=user.user_type,
            first_name=user.first_name,
            last_name=user.last_name,
            company_name=user.company_name,
            bio=user.bio,
            location=user.location,
            avatar_url=user.avatar_url,
            created_at=user.created_at,
            follower_count=profile.follower_count,
            following_count=profile.following_count,
            pitch_count=profile.pitch_count,
            is_following=profile.is_followed,
        )


class AuthOut(Schema):
    user: MeOut
    access_token: str
    refresh_token: str
    expires_at: datetime  # when the access token expires


class SessionOut(Schema):
    user: MeOut


class FollowOut(Schema):
    following: bool
    follower_count: int
