"""The public surface of the ``protocol`` package."""

from __future__ import annotations

import inspect
import subprocess
import sys
import types
import typing

import protocol
from protocol import CloseCode, ErrorCode


def _public_names() -> set[str]:
    return {
        name
        for name, value in vars(protocol).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }


def test_all_matches_public_names() -> None:
    assert set(protocol.__all__) == _public_names()


def test_all_has_no_duplicates() -> None:
    assert len(protocol.__all__) == len(set(protocol.__all__))


def test_every_name_in_all_is_defined() -> None:
    missing = [name for name in protocol.__all__ if not hasattr(protocol, name)]
    assert missing == []


def test_public_functions_are_fully_annotated() -> None:
    unannotated = []
    for name in protocol.__all__:
        obj = getattr(protocol, name)
        if not inspect.isfunction(obj):
            continue
        hints = typing.get_type_hints(obj)
        params = inspect.signature(obj).parameters
        if "return" not in hints or any(p not in hints for p in params):
            unannotated.append(name)
    assert unannotated == []


def test_public_methods_of_protocol_error_are_annotated() -> None:
    hints = typing.get_type_hints(protocol.ProtocolError.to_message, localns=vars(protocol))
    assert hints["return"] is protocol.ErrorMessage


def test_importing_protocol_imports_no_async_framework() -> None:
    code = (
        "import sys, protocol; "
        "bad = {'trio', 'asyncio', 'anyio', 'socket'} & set(sys.modules); "
        "print(sorted(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_every_message_class_is_exported() -> None:
    classes = {*protocol.CLIENT_MESSAGES.values(), *protocol.SERVER_MESSAGES.values()}
    assert {cls.__name__ for cls in classes} <= set(protocol.__all__)


def test_specified_constants() -> None:
    assert (
        protocol.PROTOCOL_VERSION,
        protocol.MAX_FRAME_BYTES,
        protocol.MAX_ROOMS_PER_CONNECTION,
        protocol.MAX_CONNECTIONS_PER_USER,
        protocol.RATE_LIMIT_PER_SECOND,
        protocol.RATE_LIMIT_BURST,
        protocol.MAX_CHAT_LENGTH,
        protocol.HEARTBEAT_INTERVAL_MS,
        protocol.HEARTBEAT_TIMEOUT_MS,
        protocol.TYPING_TTL_MS,
        protocol.HISTORY_ON_JOIN,
    ) == (1, 65536, 50, 10, 20, 50, 4000, 20000, 10000, 5000, 100)


def test_editable_pitch_fields() -> None:
    expected = {
        "title",
        "logline",
        "genre",
        "format",
        "budgetRange",
        "shortSynopsis",
        "longSynopsis",
        "targetAudience",
        "comparableTitles",
        "themes",
        "characters",
        "protectedContent",
        "requireNda",
    }
    assert expected == protocol.EDITABLE_PITCH_FIELDS


def test_error_code_values() -> None:
    assert {code.value for code in ErrorCode} == {
        "bad_request",
        "invalid_message",
        "unknown_type",
        "frame_too_large",
        "forbidden",
        "not_found",
        "not_joined",
        "too_many_rooms",
        "rate_limited",
        "conflict",
        "unauthorized",
        "internal",
        "unavailable",
        "too_many_connections",
    }


def test_close_code_values() -> None:
    assert {code.name: code.value for code in CloseCode} == {
        "NORMAL": 1000,
        "GOING_AWAY": 1001,
        "PROTOCOL_ERROR": 1002,
        "UNSUPPORTED_DATA": 1003,
        "POLICY": 1008,
        "TOO_LARGE": 1009,
        "INTERNAL": 1011,
        "TRY_AGAIN_LATER": 1013,
        "SLOW_CONSUMER": 4008,
        "UNAUTHORIZED": 4401,
        "FORBIDDEN": 4403,
        "TOO_MANY_CONNECTIONS": 4409,
        "RATE_LIMITED": 4429,
    }
