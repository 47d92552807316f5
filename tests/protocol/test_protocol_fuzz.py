"""Property-based fuzzing: decoding never fails with anything but ProtocolError."""

from __future__ import annotations

import json
from typing import Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import protocol
from protocol import (
    JSON,
    MSGPACK,
    ClientChat,
    Codec,
    ErrorCode,
    Message,
    ProtocolError,
    decode_client,
    decode_server,
    encode,
)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WIRE_KEYS = sorted(
    {
        wire
        for registry in (protocol.CLIENT_MESSAGES, protocol.SERVER_MESSAGES)
        for cls in registry.values()
        for wire, _ in cls._SPEC.encode
    }
)

# Values that are valid for some field, so random maps often pass deep into validation.
scalars = st.one_of(
    st.sampled_from(["pitch:1", "conversation:2", "pitch:0", "online", "dnd", "", " ", "c1"]),
    st.sampled_from(sorted(protocol.SERVER_PRESENCE_STATUSES | protocol.NDA_STATUSES)),
    st.sampled_from(sorted(ErrorCode)),
    st.integers(min_value=-3, max_value=3),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.booleans(),
    st.none(),
    st.text(max_size=80),
)
plausible = st.one_of(
    scalars,
    st.dictionaries(st.sampled_from(sorted(protocol.EDITABLE_PITCH_FIELDS)), scalars, max_size=3),
    st.just({"id": 1, "username": "ana", "userType": "creator"}),
    st.lists(st.just({"type": "chat", "seq": 1}), max_size=2),
    st.dictionaries(st.sampled_from(["1", "2"]), st.sampled_from(["online", "gone"])),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)

msgpack_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=20)
    | st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=8)),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.text(max_size=10) | st.integers(-5, 5) | st.binary(max_size=4), children, max_size=5
        )
    ),
    max_leaves=30,
)


@st.composite
def typed_maps(draw: st.DrawFn, registry: Any, values: st.SearchStrategy[Any]) -> dict[str, Any]:
    """A map with a valid ``type``, most of that kind's fields, sometimes extra keys."""
    type_name = draw(st.sampled_from(sorted(registry)))
    payload: dict[str, Any] = {"type": type_name}
    for wire, _ in registry[type_name]._SPEC.encode:
        if draw(st.integers(0, 9)) < 9:
            payload[wire] = draw(st.one_of(plausible, values))
    for key in draw(st.lists(st.sampled_from(WIRE_KEYS) | st.text(max_size=12), max_size=2)):
        payload[key] = draw(st.one_of(plausible, values))
    return payload


def _check(data: bytes | str, codec: Codec, *, server: bool = False) -> None:
    """Decoding returns a message or raises ProtocolError; accepted messages re-encode."""
    decode = decode_server if server else decode_client
    try:
        message = decode(data, codec)
    except ProtocolError as exc:
        assert isinstance(exc.code, ErrorCode)
        return
    assert isinstance(message, Message)
    for other in (MSGPACK, JSON):
        assert decode(encode(message, other), other) == message


@FUZZ
@given(st.binary(max_size=256))
def test_random_bytes_never_crash_msgpack_decoding(data: bytes) -> None:
    _check(data, MSGPACK)


@FUZZ
@given(st.text(max_size=256))
def test_random_text_never_crashes_json_decoding(data: str) -> None:
    _check(data, JSON)


@FUZZ
@given(msgpack_values)
def test_random_msgpack_structures_never_crash_decoding(value: Any) -> None:
    _check(msgpack.packb(value, use_bin_type=True), MSGPACK)


@FUZZ
@given(json_values)
def test_random_json_structures_never_crash_decoding(value: Any) -> None:
    _check(json.dumps(value), JSON)


@FUZZ
@given(typed_maps(protocol.CLIENT_MESSAGES, msgpack_values))
def test_random_client_maps_never_crash_msgpack_decoding(payload: dict[str, Any]) -> None:
    _check(msgpack.packb(payload, use_bin_type=True), MSGPACK)


@FUZZ
@given(typed_maps(protocol.CLIENT_MESSAGES, json_values))
def test_random_client_maps_never_crash_json_decoding(payload: dict[str, Any]) -> None:
    _check(json.dumps(payload), JSON)


@FUZZ
@given(typed_maps(protocol.SERVER_MESSAGES, msgpack_values))
def test_random_server_maps_never_crash_decode_server(payload: dict[str, Any]) -> None:
    _check(msgpack.packb(payload, use_bin_type=True), MSGPACK, server=True)


@FUZZ
@given(
    st.binary(min_size=1, max_size=200),
    st.integers(min_value=0, max_value=199),
    st.integers(min_value=0, max_value=255),
)
def test_corrupted_valid_frames_never_crash_decoding(pad: bytes, index: int, byte: int) -> None:
    message = ClientChat(room="pitch:1", body="hello", client_id="c1", id=pad.hex()[:64])
    frame = bytearray(encode(message, MSGPACK))
    frame[index % len(frame)] = byte
    _check(bytes(frame), MSGPACK)
    _check(bytes(frame[: index % len(frame)]), MSGPACK)


chat_bodies = st.text(min_size=1, max_size=protocol.MAX_CHAT_LENGTH).filter(
    lambda s: s.strip() and "\x00" not in s
)
message_ids = st.none() | st.text(min_size=1, max_size=64).filter(lambda s: "\x00" not in s)


@FUZZ
@given(chat_bodies, message_ids, st.integers(min_value=1, max_value=protocol.MAX_SAFE_INTEGER))
def test_valid_chats_round_trip_through_both_codecs(
    body: str, msg_id: str | None, room_id: int
) -> None:
    message = ClientChat(room=protocol.pitch_room(room_id), body=body, client_id="c", id=msg_id)
    for codec in (MSGPACK, JSON):
        assert decode_client(encode(message, codec), codec) == message
