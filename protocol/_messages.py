"""Machinery shared by all message kinds: field specs, validation, wire mapping.

Each kind is a frozen, slotted, keyword-only dataclass deriving from :class:`Message`
with a class-level ``TYPE``.  Every field is annotated ``Annotated[T, checker]``; its
wire name is the camelCase form of the attribute name.  A field whose default is
``None`` is optional on the wire (omitted when ``None``); every other field is required
on the wire, even if it has a Python default.  :func:`register` precomputes, once per
class, everything the hot paths need (attribute getter, wire names, required set), so
encoding does no per-call reflection.
"""

from __future__ import annotations

import dataclasses
import operator
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from ._codes import ErrorCode
from ._errors import ProtocolError
from ._rooms import _short
from ._validation import Check

MessageId = str | int
"""Type of the optional client message ``id`` (echoed by replies)."""

_M = TypeVar("_M", bound="type[Message]")


def camel(name: str) -> str:
    """``retry_after_ms`` -> ``retryAfterMs``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclasses.dataclass(frozen=True, slots=True)
class _Spec:
    type: str
    # (attribute, label, checker, optional) in declaration order
    checks: tuple[tuple[str, str, Check, bool], ...]
    # (wire name, optional) aligned with ``getter``'s output
    encode: tuple[tuple[str, bool], ...]
    getter: Callable[[Any], tuple[Any, ...]]
    attr_by_wire: Mapping[str, str]
    required: frozenset[str]


class Message:
    """Base class of every message kind."""

    __slots__ = ()
    TYPE: ClassVar[str]
    _SPEC: ClassVar[_Spec]

    def __post_init__(self) -> None:
        for attr, label, check, optional in self._SPEC.checks:
            value = getattr(self, attr)
            if value is None and optional:
                continue
            checked = check(value, label)
            if checked is not value:
                object.__setattr__(self, attr, checked)


def _tuple_getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    if len(names) == 1:
        (name,) = names
        return lambda obj: (getattr(obj, name),)
    if not names:
        return lambda obj: ()
    return operator.attrgetter(*names)


def register(registry: dict[str, type[Message]]) -> Callable[[_M], _M]:
    """Class decorator: compute the class's wire spec and add it to *registry*."""

    def decorate(cls: _M) -> _M:
        type_name = cls.__dict__["TYPE"]
        if type_name in registry:
            raise RuntimeError(f"duplicate message type {type_name!r}")
        checks = []
        encode = []
        attr_by_wire = {}
        required = set()
        hints = typing.get_type_hints(cls, include_extras=True)
        for f in dataclasses.fields(cls):
            wire = camel(f.name)
            optional = f.default is None
            (check,) = hints[f.name].__metadata__
            checks.append((f.name, f"{type_name}.{wire}", check, optional))
            encode.append((wire, optional))
            attr_by_wire[wire] = f.name
            if not optional:
                required.add(wire)
        cls._SPEC = _Spec(
            type=type_name,
            checks=tuple(checks),
            encode=tuple(encode),
            getter=_tuple_getter(tuple(name for name, *_ in checks)),
            attr_by_wire=attr_by_wire,
            required=frozenset(required),
        )
        registry[type_name] = cls
        return cls

    return decorate


def to_wire(message: Message) -> dict[str, Any]:
    """The wire map of *message*: ``type`` first, camelCase keys, ``None`` optionals omitted."""
    try:
        spec = message._SPEC
    except AttributeError:
        raise TypeError(f"not a protocol message: {message!r}") from None
    out: dict[str, Any] = {"type": spec.type}
    for (wire, optional), value in zip(spec.encode, spec.getter(message), strict=True):
        if value is None and optional:
            continue
        out[wire] = value
    return out


def from_wire(data: dict[str, Any], registry: Mapping[str, type[Message]]) -> Message:
    """Build and validate the message described by the wire map *data*."""
    type_name = data.get("type")
    if type_name is None:
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "missing 'type'")
    if type(type_name) is not str:
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "'type' must be a string")
    cls = registry.get(type_name)
    if cls is None:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {_short(type_name)}")
    spec = cls._SPEC
    attr_by_wire = spec.attr_by_wire
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key == "type":
            continue
        attr = attr_by_wire.get(key)
        if attr is None:
            raise ProtocolError(
                ErrorCode.INVALID_MESSAGE, f"{type_name}: unknown field {_short(key)}"
            )
        kwargs[attr] = value
    missing = spec.required.difference(data)
    if missing:
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE,
            f"{type_name}: missing field(s) {', '.join(sorted(missing))}",
        )
    return cls(**kwargs)
