"""The codec interface and its two implementations (msgpack and JSON)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final, NoReturn, Protocol, runtime_checkable

import msgpack

from ._codes import ErrorCode
from ._constants import MAX_FRAME_BYTES
from ._errors import ProtocolError


@runtime_checkable
class Codec(Protocol):
    """Serializes wire maps to frame payloads and back.

    ``name`` is the WebSocket subprotocol; ``binary`` says whether frames are binary
    (``dumps`` returns ``bytes``) or text (``dumps`` returns ``str``).  ``loads`` parses
    one frame payload and raises :class:`ProtocolError` (``bad_request``) for anything
    that is not a well-formed document; it does not validate message schemas.
    """

    @property
    def name(self) -> str: ...

    @property
    def binary(self) -> bool: ...

    def dumps(self, obj: object) -> bytes | str: ...

    def loads(self, data: bytes | str, *, max_bytes: int = MAX_FRAME_BYTES) -> object: ...


def _unique_pairs(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate map key")
    return result


def _reject_ext(code: int, data: bytes) -> NoReturn:
    raise ValueError("msgpack ext types are not allowed")


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not allowed")


def _malformed(what: str, exc: BaseException) -> ProtocolError:
    detail = str(exc)[:120] or type(exc).__name__
    return ProtocolError(ErrorCode.BAD_REQUEST, f"malformed {what}: {detail}")


class _MsgpackCodec:
    __slots__ = ()
    name: Final = "pitchey.v1.msgpack"
    binary: Final = True

    def dumps(self, obj: object) -> bytes:
        return msgpack.packb(obj, use_bin_type=True)  # type: ignore[no-any-return]

    def loads(self, data: bytes | str, *, max_bytes: int = MAX_FRAME_BYTES) -> object:
        if not isinstance(data, bytes | bytearray):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "msgpack payload must be bytes")
        try:
            return msgpack.unpackb(
                data,
                raw=False,
                strict_map_key=True,
                use_list=True,
                object_pairs_hook=_unique_pairs,
                ext_hook=_reject_ext,
                max_str_len=max_bytes,
                max_bin_len=0,
                max_ext_len=0,
                max_array_len=max_bytes,
                max_map_len=max_bytes // 2,
            )
        except (ValueError, TypeError, RecursionError, msgpack.UnpackException) as exc:
            raise _malformed("msgpack", exc) from None

    def __repr__(self) -> str:
        return "<Codec pitchey.v1.msgpack>"


class _JsonCodec:
    __slots__ = ()
    name: Final = "pitchey.v1.json"
    binary: Final = False
    _encoder: Final = json.JSONEncoder(
        ensure_ascii=False, allow_nan=False, separators=(",", ":"), check_circular=False
    )

    def dumps(self, obj: object) -> str:
        return self._encoder.encode(obj)

    def loads(self, data: bytes | str, *, max_bytes: int = MAX_FRAME_BYTES) -> object:
        try:
            if isinstance(data, bytes | bytearray):
                data = bytes(data).decode("utf-8")
            if not isinstance(data, str):
                raise TypeError("JSON payload must be text")
            return json.loads(
                data, object_pairs_hook=_unique_pairs, parse_constant=_reject_constant
            )
        except (ValueError, TypeError, RecursionError) as exc:
            raise _malformed("JSON", exc) from None

    def __repr__(self) -> str:
        return "<Codec pitchey.v1.json>"


MSGPACK: Final[Codec] = _MsgpackCodec()
"""Binary frames, subprotocol ``pitchey.v1.msgpack`` (the preferred codec)."""
JSON: Final[Codec] = _JsonCodec()
"""Text frames, subprotocol ``pitchey.v1.json`` (for debugging tools)."""

_CODECS: Final = (MSGPACK, JSON)
SUBPROTOCOLS: Final[tuple[str, ...]] = tuple(codec.name for codec in _CODECS)
"""Supported subprotocols in server preference order."""


def codec_for_subprotocol(name: str) -> Codec | None:
    """The codec for subprotocol *name*, or ``None`` if it is not supported."""
    for codec in _CODECS:
        if codec.name == name:
            return codec
    return None


def select_subprotocol(offered: Iterable[str]) -> Codec | None:
    """Pick the server-preferred codec among the subprotocols a client *offered*."""
    offered = {name.strip() for name in offered}
    for codec in _CODECS:
        if codec.name in offered:
            return codec
    return None
