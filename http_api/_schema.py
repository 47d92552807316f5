"""Schemas shared by every route: the camelCase base model, the response envelopes, paging,
and the decorators that validate a request's body and query string against a model.

The decorators record their model where quart-schema looks for it, so the OpenAPI document
is derived from the same models that validate requests. Validation failures are 400
``validation_error`` with one ``{field, message, type}`` per problem and never echo the
submitted value (it may be a password).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel
from quart import request
from quart_schema import DataSource, validate_response
from quart_schema.validation import (
    QUART_SCHEMA_QUERYSTRING_ATTRIBUTE,
    QUART_SCHEMA_REQUEST_ATTRIBUTE,
)

from ._errors import BadRequest, UnsupportedMediaType, ValidationFailed

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])

MAX_PAGE = 10_000
MAX_LIMIT = 50


class Schema(BaseModel):
    """Base of every request and response model: snake_case in Python, camelCase in JSON,
    unknown fields refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def no_nul_characters(cls, value: Any) -> Any:
        """PostgreSQL text cannot hold U+0000: refuse it here rather than fail there."""
        if _has_nul(value):
            raise ValueError("must not contain NUL (U+0000) characters")
        return value


class Ok(Schema, Generic[T]):
    success: Literal[True] = True
    data: T


class PageMeta(Schema):
    page: int
    limit: int
    total: int
    pages: int


class Paged(Schema, Generic[T]):
    success: Literal[True] = True
    data: list[T]
    meta: PageMeta


class ErrorInfo(Schema):
    code: str
    message: str
    details: Any = None


class ErrorBody(Schema):
    """Every error: a stable ``code``, a human message and optional details."""

    success: Literal[False] = False
    error: ErrorInfo


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    limit: int = Field(20, ge=1, le=MAX_LIMIT)


class Done(Schema):
    """An acknowledgement with nothing else to say."""

    ok: Literal[True] = True


def page_meta(page: int, limit: int, total: int) -> PageMeta:
    return PageMeta(page=page, limit=limit, total=total, pages=-(-total // limit))


def responds(model: type[BaseModel], status: int = 200) -> Callable[[F], F]:
    """Document (and check the type of) a success response."""
    return validate_response(model, status)


def body(model: type[M], *, optional: bool = False) -> Callable[[F], F]:
    """Validate the JSON body against ``model``; the handler gets it as ``data=``.

    An empty body is ``model()`` when ``optional``; a body that is not JSON is 415."""

    def decorator(func: F) -> F:
        setattr(func, QUART_SCHEMA_REQUEST_ATTRIBUTE, (model, DataSource.JSON))

        @wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            raw = await request.get_data()
            if not raw.strip():
                if not optional:
                    raise ValidationFailed(
                        "A JSON body is required.",
                        details=[{"field": "body", "message": "required", "type": "missing"}],
                    )
                return await func(*args, data=model(), **kwargs)
            if not _is_json(request.mimetype):
                raise UnsupportedMediaType("Send the body as application/json.")
            try:
                payload = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                raise BadRequest("The body is not valid JSON.", code="invalid_json") from None
            return await func(*args, data=load(model, payload), **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def query(model: type[M]) -> Callable[[F], F]:
    """Validate the query string against ``model``; the handler gets it as ``query=``."""

    def decorator(func: F) -> F:
        setattr(func, QUART_SCHEMA_QUERYSTRING_ATTRIBUTE, model)

        @wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {key: request.args.get(key) for key in request.args}
            return await func(*args, query=load(model, values), **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def load(model: type[M], payload: Any) -> M:
    """``model`` validated from ``payload``, or ValidationFailed with per-field details."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise ValidationFailed("The request is not valid.", details=field_errors(exc)) from None


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join(str(part) for part in error["loc"]) or "body",
            "message": error["msg"],
            "type": error["type"],
        }
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")
