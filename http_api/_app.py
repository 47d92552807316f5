"""The Quart-trio application: envelope, error boundary, request ids and request logs,
plus the hooks every request passes: body size, rate limits, CORS and security headers."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from quart import Response, g, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from storage import StorageUnavailable

from . import (
    _admin_routes,
    _auth_routes,
    _conversation_routes,
    _docs,
    _engagement_routes,
    _health,
    _metrics,
    _nda_routes,
    _notification_routes,
    _pitch_routes,
    _room_history_routes,
    _static,
    _user_routes,
)
from ._context import AppDeps
from ._envelope import failure
from ._errors import ApiError, PayloadTooLarge
from ._headers import add_headers
from ._limits import limit_request, rate_limit_headers
from ._openapi import IdConverter, install_openapi

log = structlog.get_logger("http_api")

MAX_BODY_BYTES = 1024 * 1024
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable_entity",
    429: "rate_limited",
}


def create_app(deps: AppDeps) -> QuartTrio:
    """Build the app around the node's storage and settings."""
    app = QuartTrio("pitchey")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["JSON_SORT_KEYS"] = False
    app.extensions["pitchey"] = deps
    app.url_map.converters["id"] = IdConverter
    install_openapi(app)
    for module in (
        _health,
        _docs,
        _auth_routes,
        _user_routes,
        _pitch_routes,
        _engagement_routes,
        _nda_routes,
        _conversation_routes,
        _notification_routes,
        _room_history_routes,
        _static,
        _admin_routes,
        _metrics,
    ):
        app.register_blueprint(module.blueprint)
    _metrics.install_metrics(app, deps.metrics_registry, deps.node_id)
    app.before_request(_start_request)
    app.before_request(limit_request)
    app.after_request(_finish_request)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(StorageUnavailable, _storage_unavailable)
    app.register_error_handler(Exception, _unexpected_error)
    return app


async def _start_request() -> None:
    supplied = request.headers.get("X-Request-ID", "")
    g.request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
    g.started = time.perf_counter()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=g.request_id)
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes.")


async def _finish_request(response: Response) -> Response:
    request_id = getattr(g, "request_id", None) or uuid.uuid4().hex
    response.headers["X-Request-ID"] = request_id
    for name, value in rate_limit_headers().items():
        response.headers.setdefault(name, value)
    add_headers(response)
    started = getattr(g, "started", None)
    log.info(
        "http_request",
        method=request.method,
        route=request.url_rule.rule if request.url_rule else None,
        path=request.path,
        status=response.status_code,
        ms=round((time.perf_counter() - started) * 1000, 2) if started else None,
        request_id=request_id,
        user_id=getattr(g, "user_id", None),
    )
    return response


async def _api_error(exc: ApiError) -> tuple[dict[str, Any], int, dict[str, str]]:
    return failure(exc.code, exc.message, exc.details), exc.status, exc.headers


async def _http_error(exc: HTTPException) -> tuple[dict[str, Any], int, dict[str, str]]:
    status = exc.code or 500
    code = _HTTP_CODES.get(status, "http_error")
    headers: dict[str, str] = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    return failure(code, exc.description or exc.name), status, headers


async def _storage_unavailable(exc: StorageUnavailable) -> tuple[dict[str, Any], int, dict]:
    log.warning("dependency_unavailable", dependency=exc.dependency, error=str(exc))
    message = f"{exc.dependency} is unavailable; try again shortly"
    return failure("unavailable", message), 503, {"Retry-After": "5"}


async def _unexpected_error(exc: Exception) -> tuple[dict[str, Any], int]:
    reference = getattr(g, "request_id", None) or uuid.uuid4().hex
    log.error("http_unhandled_error", reference=reference, exc_info=exc)
    body = failure("internal_error", "Something went wrong on our side.", {"reference": reference})
    return body, 500
