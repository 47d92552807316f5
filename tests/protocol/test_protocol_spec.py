"""PROTOCOL.md stays accurate to the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import protocol
from protocol import JSON, CloseCode, ErrorCode, ProtocolError, decode_client, decode_server

SPEC = (Path(protocol.__file__).parent / "PROTOCOL.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "type_name", sorted({*protocol.CLIENT_MESSAGES, *protocol.SERVER_MESSAGES})
)
def test_spec_documents_every_message_kind(type_name: str) -> None:
    assert f"| `{type_name}`" in SPEC


@pytest.mark.parametrize("code", list(ErrorCode), ids=str)
def test_spec_documents_every_error_code(code: ErrorCode) -> None:
    assert f"| `{code.value}`" in SPEC


@pytest.mark.parametrize("code", list(CloseCode), ids=lambda c: c.name)
def test_spec_documents_every_close_code(code: CloseCode) -> None:
    assert f"| {code.value} | `{code.name}`" in SPEC


def test_spec_constant_values_match_the_code() -> None:
    documented = re.findall(r"`([A-Z][A-Z_]+) = (\d+)`", SPEC)
    assert len(documented) >= 10
    assert {name: int(value) for name, value in documented} == {
        name: getattr(protocol, name) for name, _ in documented
    }


def test_spec_lists_the_subprotocols() -> None:
    for name in protocol.SUBPROTOCOLS:
        assert f"`{name}`" in SPEC


def test_spec_lists_every_editable_pitch_field() -> None:
    section = SPEC.split("(`EDITABLE_PITCH_FIELDS`)", 1)[1].split(".", 1)[0]
    assert set(re.findall(r"`(\w+)`", section)) == protocol.EDITABLE_PITCH_FIELDS


def test_worked_session_frames_are_valid() -> None:
    """Every frame in the examples decodes; rejected client frames get the shown error."""
    frames = re.findall(r"^([→←]) (\{.*\})$", SPEC, flags=re.MULTILINE)
    assert len(frames) >= 10
    pending_error: str | None = None
    for direction, text in frames:
        if direction == "→":
            assert pending_error is None
            try:
                decode_client(text, JSON)
            except ProtocolError as exc:
                pending_error = protocol.encode(exc.to_message(), JSON)
        else:
            decode_server(text, JSON)
            if pending_error is not None:
                assert text == pending_error
                pending_error = None
    assert pending_error is None
