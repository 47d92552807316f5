"""The HTTP side of a Pitchey node: a Quart-trio app served by Hypercorn."""

from ._app import MAX_BODY_BYTES, create_app
from ._context import AppDeps
from ._demo import DEMO_PASSWORD, seed_demo
from ._errors import ApiError, Conflict, NotFound, Unavailable
from ._passwords import hash_password, verify_password

__all__ = [
    "DEMO_PASSWORD",
    "MAX_BODY_BYTES",
    "ApiError",
    "AppDeps",
    "Conflict",
    "NotFound",
    "Unavailable",
    "create_app",
    "hash_password",
    "seed_demo",
    "verify_password",
]
