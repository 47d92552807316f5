"""The HTTP side of a Pitchey node: a Quart-trio app served by Hypercorn."""

from ._app import MAX_BODY_BYTES, create_app
from ._context import AppDeps, RateLimits
from ._demo import DEMO_PASSWORD, seed_demo
from ._docs import render as render_docs
from ._errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    Locked,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    Unavailable,
    Unprocessable,
    UnsupportedMediaType,
    ValidationFailed,
)
from ._passwords import hash_password, verify_password

__all__ = [
    "DEMO_PASSWORD",
    "MAX_BODY_BYTES",
    "ApiError",
    "AppDeps",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "Locked",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "RateLimits",
    "Unauthorized",
    "Unavailable",
    "Unprocessable",
    "UnsupportedMediaType",
    "ValidationFailed",
    "create_app",
    "hash_password",
    "render_docs",
    "seed_demo",
    "verify_password",
]
