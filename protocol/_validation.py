"""Value checks: the structural walk of decoded frames and per-field checkers.

A *checker* is ``check(value, label) -> value``: it returns the (possibly normalized)
value or raises :class:`ProtocolError` with ``invalid_message``.  ``label`` names the
field as ``"<type>.<wireName>"`` for the error message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection
from typing import Any, NoReturn

from ._codes import ErrorCode
from ._constants import (
    DURABLE_EVENT_TYPES,
    EDITABLE_PITCH_FIELDS,
    MAX_ID_LENGTH,
    MAX_SAFE_INTEGER,
)
from ._errors import ProtocolError
from ._rooms import RoomKind, _short, is_room, parse_room

Check = Callable[[Any, str], Any]

_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
_MAX_IDENT_LENGTH = 128


# --- structural walk of decoded frames ----------------------------------------


def check_tree(obj: object, max_depth: int) -> None:
    """Check that *obj* is a tree of protocol values; raise ``bad_request`` if not.

    Allowed: maps with string keys, arrays, strings without NUL or unpaired surrogates,
    booleans, null, integers within +/- ``MAX_SAFE_INTEGER`` and finite floats, nested
    at most *max_depth* containers deep.  Iterative, so hostile input cannot exhaust
    the Python stack.
    """
    stack: list[tuple[object, int]] = [(obj, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        value, depth = pop()
        kind = type(value)
        if kind is str:
            if _BAD_CHARS.search(value) is not None:  # type: ignore[arg-type]
                _bad("strings must not contain NUL or unpaired surrogates")
        elif kind is int:
            if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:  # type: ignore[operator]
                _bad("integer out of range")
        elif kind is bool or value is None:
            pass
        elif kind is float:
            if not math.isfinite(value):  # type: ignore[arg-type]
                _bad("non-finite number")
        elif kind is dict:
            if depth >= max_depth:
                _bad(f"nesting deeper than {max_depth}")
            for key, item in value.items():  # type: ignore[attr-defined]
                if type(key) is not str:
                    _bad("map keys must be strings")
                if _BAD_CHARS.search(key) is not None:
                    _bad("strings must not contain NUL or unpaired surrogates")
                push((item, depth + 1))
        elif kind is list:
            if depth >= max_depth:
                _bad(f"nesting deeper than {max_depth}")
            for item in value:  # type: ignore[attr-defined]
                push((item, depth + 1))
        else:
            _bad(f"unsupported value of type {kind.__name__}")


def _bad(why: str) -> NoReturn:
    raise ProtocolError(ErrorCode.BAD_REQUEST, why)


# --- field checkers ----------------------------------------------------------------


def _fail(label: str, what: str) -> NoReturn:
    raise ProtocolError(ErrorCode.INVALID_MESSAGE, f"{label}: {what}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def string(min_len: int = 1, max_len: int = 256, *, not_blank: bool = False) -> Check:
    """A string of *min_len*..*max_len* characters (optionally not only whitespace)."""

    def check(value: Any, label: str) -> Any:
        if not isinstance(value, str):
            _fail(label, "must be a string")
        if not min_len <= len(value) <= max_len:
            _fail(label, f"length must be {min_len}..{max_len}")
        if not_blank and not value.strip():
            _fail(label, "must not be blank")
        return value

    return check


def integer(min_value: int = 0, max_value: int = MAX_SAFE_INTEGER) -> Check:
    """An integer (not a boolean) in ``min_value..max_value``."""

    def check(value: Any, label: str) -> Any:
        if not _is_int(value):
            _fail(label, "must be an integer")
        if not min_value <= value <= max_value:
            _fail(label, f"must be in {min_value}..{max_value}")
        return value

    return check


def boolean(value: Any, label: str) -> Any:
    if not isinstance(value, bool):
        _fail(label, "must be a boolean")
    return value


def one_of(values: Collection[str]) -> Check:
    allowed = "|".join(sorted(values))

    def check(value: Any, label: str) -> Any:
        if not isinstance(value, str) or value not in values:
            _fail(label, f"must be one of {allowed}")
        return value

    return check


def room(value: Any, label: str) -> Any:
    if not is_room(value):
        _fail(label, f"invalid room name {_short(value)}")
    return value


def pitch_room(value: Any, label: str) -> Any:
    if not is_room(value) or parse_room(value)[0] is not RoomKind.PITCH:
        _fail(label, f"must be a pitch room, got {_short(value)}")
    return value


def message_id(value: Any, label: str) -> Any:
    """A client message id: a string of 1..64 characters or a safe integer."""
    if isinstance(value, str):
        if not 1 <= len(value) <= MAX_ID_LENGTH:
            _fail(label, f"length must be 1..{MAX_ID_LENGTH}")
    elif not _is_int(value) or not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        _fail(label, "must be a string or an integer")
    return value


def is_message_id(value: object) -> bool:
    try:
        message_id(value, "id")
    except ProtocolError:
        return False
    return True


def ident(value: Any, label: str) -> Any:
    """An entity id: a positive integer or a string of 1..128 characters."""
    if isinstance(value, str):
        if not 1 <= len(value) <= _MAX_IDENT_LENGTH:
            _fail(label, f"length must be 1..{_MAX_IDENT_LENGTH}")
    elif not _is_int(value) or not 1 <= value <= MAX_SAFE_INTEGER:
        _fail(label, "must be a positive integer or a string")
    return value


def mapping(value: Any, label: str) -> Any:
    """A map with string keys (values are not inspected)."""
    if not isinstance(value, dict):
        _fail(label, "must be a map")
    for key in value:
        if not isinstance(key, str):
            _fail(label, "map keys must be strings")
    return value


def user(value: Any, label: str) -> Any:
    """A user map with at least ``id``, ``username`` and ``userType``."""
    mapping(value, label)
    for key in ("id", "username", "userType"):
        if key not in value:
            _fail(label, f"missing {key!r}")
    ident(value["id"], f"{label}.id")
    string(1, 256)(value["username"], f"{label}.username")
    string(1, 64)(value["userType"], f"{label}.userType")
    return value


def members(value: Any, label: str) -> Any:
    """An array of user maps, returned as a tuple."""
    if not isinstance(value, list | tuple):
        _fail(label, "must be an array")
    for item in value:
        user(item, f"{label}[]")
    return tuple(value)


def presence_map(statuses: Collection[str]) -> Check:
    """A map of user id (as a string) to presence status."""
    status = one_of(statuses)

    def check(value: Any, label: str) -> Any:
        mapping(value, label)
        for item in value.values():
            status(item, f"{label}{{}}")
        return value

    return check


def history(value: Any, label: str) -> Any:
    """An array of durable event maps (each with ``type`` and ``seq``), as a tuple."""
    if not isinstance(value, list | tuple):
        _fail(label, "must be an array")
    seq = integer(1)
    for item in value:
        mapping(item, f"{label}[]")
        if item.get("type") not in DURABLE_EVENT_TYPES:
            _fail(f"{label}[]", "type must be a durable event type")
        seq(item.get("seq"), f"{label}[].seq")
    return tuple(value)


_TEXT_PITCH_FIELDS = frozenset(
    {
        "title",
        "logline",
        "genre",
        "format",
        "budgetRange",
        "shortSynopsis",
        "longSynopsis",
        "targetAudience",
    }
)


def pitch_fields(*, allow_empty: bool) -> Check:
    """A map of editable pitch field name to value.

    Text fields must be a string or null and ``requireNda`` a boolean; other values are
    free-form (any protocol value).
    """

    def check(value: Any, label: str) -> Any:
        mapping(value, label)
        if not value and not allow_empty:
            _fail(label, "must not be empty")
        for key, item in value.items():
            if key not in EDITABLE_PITCH_FIELDS:
                _fail(label, f"{_short(key)} is not an editable pitch field")
            if key in _TEXT_PITCH_FIELDS and item is not None and not isinstance(item, str):
                _fail(f"{label}.{key}", "must be a string or null")
            if key == "requireNda" and not isinstance(item, bool):
                _fail(f"{label}.{key}", "must be a boolean")
        return value

    return check


def error_code(value: Any, label: str) -> Any:
    try:
        return ErrorCode(value)
    except (ValueError, TypeError):
        _fail(label, f"unknown error code {_short(value)}")
