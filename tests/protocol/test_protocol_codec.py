"""Codecs, subprotocol negotiation, frame-level decoding and encoding."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

import protocol
from protocol import (
    JSON,
    MSGPACK,
    SUBPROTOCOLS,
    CloseCode,
    Codec,
    ErrorCode,
    Notification,
    Ping,
    ProtocolError,
    codec_for_subprotocol,
    decode_client,
    decode_server,
    encode,
    select_subprotocol,
)

CODECS = [pytest.param(MSGPACK, id="msgpack"), pytest.param(JSON, id="json")]


def _error(data: bytes | str, codec: Codec) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        decode_client(data, codec)
    return info.value


def _nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


# --- codec objects and negotiation ----------------------------------------------------


def test_msgpack_codec_name_and_frame_kind() -> None:
    assert (MSGPACK.name, MSGPACK.binary) == ("pitchey.v1.msgpack", True)


def test_json_codec_name_and_frame_kind() -> None:
    assert (JSON.name, JSON.binary) == ("pitchey.v1.json", False)


def test_subprotocols_prefer_msgpack() -> None:
    assert SUBPROTOCOLS == ("pitchey.v1.msgpack", "pitchey.v1.json")


@pytest.mark.parametrize("codec", CODECS)
def test_codecs_satisfy_the_codec_protocol(codec: Codec) -> None:
    assert isinstance(codec, Codec)


@pytest.mark.parametrize("codec", CODECS)
def test_codec_for_subprotocol_finds_codec(codec: Codec) -> None:
    assert codec_for_subprotocol(codec.name) is codec


def test_codec_for_unknown_subprotocol_is_none() -> None:
    assert codec_for_subprotocol("pitchey.v2.msgpack") is None


def test_select_subprotocol_uses_server_preference() -> None:
    assert select_subprotocol(["pitchey.v1.json", "pitchey.v1.msgpack"]) is MSGPACK


def test_select_subprotocol_falls_back_to_json() -> None:
    assert select_subprotocol(["chat", "pitchey.v1.json"]) is JSON


def test_select_subprotocol_without_match_is_none() -> None:
    assert select_subprotocol(["graphql-ws"]) is None


# --- encoding ---------------------------------------------------------------------------


def test_msgpack_encodes_to_bytes() -> None:
    assert isinstance(encode(Ping(), MSGPACK), bytes)


def test_json_encodes_to_compact_text() -> None:
    assert encode(Ping(id=1), JSON) == '{"type":"ping","id":1}'


def test_json_keeps_non_ascii_unescaped() -> None:
    text = encode(protocol.ClientChat(room="pitch:1", body="café 🎬", client_id="c"), JSON)
    assert "café 🎬" in text


def test_msgpack_encodes_strings_as_str_type() -> None:
    assert MSGPACK.dumps("é") == b"\xa2\xc3\xa9"


@pytest.mark.parametrize("codec", CODECS)
def test_unencodable_value_raises_internal_error(codec: Codec) -> None:
    message = Notification(id=1, kind="k", title="", body="", data={"x": object()}, created_at=0)
    with pytest.raises(ProtocolError) as info:
        encode(message, codec)
    assert info.value.code is ErrorCode.INTERNAL


def test_json_refuses_to_encode_nan() -> None:
    message = Notification(
        id=1, kind="k", title="", body="", data={"x": float("nan")}, created_at=0
    )
    with pytest.raises(ProtocolError):
        encode(message, JSON)


def test_encoded_broadcast_is_reusable_bytes() -> None:
    chat = protocol.ServerChat(
        room="pitch:1", seq=1, message_id=1, user_id=1, body="b", client_id="c", created_at=0
    )
    assert encode(chat, MSGPACK) == encode(chat, MSGPACK)


# --- frame kind and size -----------------------------------------------------------------


def test_text_frame_on_msgpack_is_unsupported_data() -> None:
    error = _error('{"type":"ping"}', MSGPACK)
    assert (error.code, error.close_code) == (ErrorCode.BAD_REQUEST, CloseCode.UNSUPPORTED_DATA)


def test_binary_frame_on_json_is_unsupported_data() -> None:
    error = _error(b'{"type":"ping"}', JSON)
    assert (error.code, error.close_code) == (ErrorCode.BAD_REQUEST, CloseCode.UNSUPPORTED_DATA)


@pytest.mark.parametrize("codec", CODECS)
def test_frame_over_the_limit_is_too_large(codec: Codec) -> None:
    pad = "x" * protocol.MAX_FRAME_BYTES
    error = _error(codec.dumps({"type": "ping", "pad": pad}), codec)
    assert (error.code, error.close_code) == (ErrorCode.FRAME_TOO_LARGE, CloseCode.TOO_LARGE)


def test_json_frame_size_is_measured_in_utf8_bytes() -> None:
    # 22k three-byte characters: under the limit in characters, over it in bytes.
    text = JSON.dumps({"type": "ping", "pad": "€" * 22_000})
    assert len(text) < protocol.MAX_FRAME_BYTES
    assert _error(text, JSON).code is ErrorCode.FRAME_TOO_LARGE


@pytest.mark.parametrize("codec", CODECS)
def test_frame_of_exactly_the_limit_is_decoded(codec: Codec) -> None:
    overhead = len(codec.dumps({"type": "ping", "pad": "x" * 1000})) - 1000
    frame = codec.dumps({"type": "ping", "pad": "x" * (protocol.MAX_FRAME_BYTES - overhead)})
    assert len(frame) == protocol.MAX_FRAME_BYTES
    assert _error(frame, codec).code is ErrorCode.INVALID_MESSAGE  # unknown field, not size


def test_server_frames_may_exceed_the_client_limit() -> None:
    history = tuple(
        {"type": "chat", "room": "pitch:1", "seq": n, "body": "y" * 4000} for n in range(1, 101)
    )
    joined = protocol.Joined(room="pitch:1", seq=100, members=(), presence={}, history=history)
    frame = encode(joined, MSGPACK)
    assert len(frame) > protocol.MAX_FRAME_BYTES
    assert decode_server(frame, MSGPACK) == joined


# --- malformed msgpack ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\xc1",
        b"\x82\xa4type",
        msgpack.packb({"type": "ping"})[:-1],
        msgpack.packb({"type": "ping"}) + b"\x00",
        b"\xdf\xff\xff\xff\xff",
        b"\xdd\xff\xff\xff\xff",
        b"\xdb\xff\xff\xff\xff",
        b"\xa2\xff\xfe",
    ],
    ids=[
        "empty",
        "reserved-byte",
        "truncated",
        "truncated-value",
        "trailing-data",
        "huge-map-header",
        "huge-array-header",
        "huge-str-header",
        "invalid-utf8",
    ],
)
def test_malformed_msgpack_is_bad_request(frame: bytes) -> None:
    assert _error(frame, MSGPACK).code is ErrorCode.BAD_REQUEST


def test_msgpack_ext_type_is_rejected() -> None:
    frame = msgpack.packb({"type": "ping", "id": msgpack.ExtType(1, b"x")})
    assert _error(frame, MSGPACK).code is ErrorCode.BAD_REQUEST


def test_msgpack_timestamp_is_rejected() -> None:
    frame = msgpack.packb({"type": "ping", "id": msgpack.Timestamp(1, 0)})
    assert _error(frame, MSGPACK).code is ErrorCode.BAD_REQUEST


def test_msgpack_binary_value_is_rejected() -> None:
    frame = msgpack.packb({"type": "ping", "id": b"bin"}, use_bin_type=True)
    assert _error(frame, MSGPACK).code is ErrorCode.BAD_REQUEST


def test_msgpack_integer_key_is_rejected() -> None:
    assert _error(msgpack.packb({"type": "ping", 1: 2}), MSGPACK).code is ErrorCode.BAD_REQUEST


def test_msgpack_binary_key_is_rejected() -> None:
    frame = msgpack.packb({"type": "ping", b"k": 2}, use_bin_type=True)
    assert _error(frame, MSGPACK).code is ErrorCode.BAD_REQUEST


def test_msgpack_duplicate_key_is_rejected() -> None:
    frame = b"\x82\xa4type\xa4ping\xa4type\xa4ping"  # fixmap: "type" twice
    assert _error(frame, MSGPACK).code is ErrorCode.BAD_REQUEST


def test_msgpack_depth_bomb_is_rejected() -> None:
    frame = b"\x81\xa1a" + b"\x91" * 10_000 + b"\xc0"
    assert _error(frame, MSGPACK).code is ErrorCode.BAD_REQUEST


def test_msgpack_integer_beyond_safe_range_is_rejected() -> None:
    frame = msgpack.packb({"type": "join", "room": "pitch:1", "since": 2**64 - 1})
    assert _error(frame, MSGPACK).code is ErrorCode.BAD_REQUEST


# --- malformed JSON --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        '{"type":"ping",}',
        "{'type':'ping'}",
        '{"type":"ping"} {}',
        '{"type":"ping","id":NaN}',
        '{"type":"ping","id":Infinity}',
        '{"type":"ping","id":' + "9" * 5000 + "}",
    ],
    ids=[
        "empty",
        "truncated",
        "trailing-comma",
        "single-quotes",
        "two-documents",
        "nan",
        "infinity",
        "huge-integer",
    ],
)
def test_malformed_json_is_bad_request(text: str) -> None:
    assert _error(text, JSON).code is ErrorCode.BAD_REQUEST


def test_json_duplicate_key_is_rejected() -> None:
    assert _error('{"type":"ping","type":"ping"}', JSON).code is ErrorCode.BAD_REQUEST


def test_json_overflowing_float_is_rejected() -> None:
    assert _error('{"type":"ping","x":1e999}', JSON).code is ErrorCode.BAD_REQUEST


def test_json_recursion_bomb_is_rejected() -> None:
    text = '{"a":' + "[" * 30_000 + "]" * 30_000 + "}"
    assert _error(text, JSON).code is ErrorCode.BAD_REQUEST


def test_json_lone_surrogate_is_rejected() -> None:
    assert _error('{"type":"ping","id":"\\ud800"}', JSON).code is ErrorCode.BAD_REQUEST


@pytest.mark.parametrize("codec", CODECS)
def test_nul_character_is_rejected(codec: Codec) -> None:
    frame = codec.dumps({"type": "chat", "room": "pitch:1", "body": "a\x00b", "clientId": "c"})
    assert _error(frame, codec).code is ErrorCode.BAD_REQUEST


@pytest.mark.parametrize("codec", CODECS)
def test_nesting_at_the_depth_limit_is_accepted(codec: Codec) -> None:
    value = _nested(protocol.MAX_NESTING_DEPTH - 2)  # top map + fields map + arrays
    frame = codec.dumps(
        {"type": "pitch_update", "room": "pitch:1", "version": 1, "fields": {"themes": value}}
    )
    assert decode_client(frame, codec).fields == {"themes": value}


@pytest.mark.parametrize("codec", CODECS)
def test_nesting_beyond_the_depth_limit_is_rejected(codec: Codec) -> None:
    value = _nested(protocol.MAX_NESTING_DEPTH - 1)
    frame = codec.dumps(
        {"type": "pitch_update", "room": "pitch:1", "version": 1, "fields": {"themes": value}}
    )
    assert _error(frame, codec).code is ErrorCode.BAD_REQUEST


@pytest.mark.parametrize("codec", CODECS)
def test_codec_loads_reports_malformed_input_as_protocol_error(codec: Codec) -> None:
    with pytest.raises(ProtocolError):
        codec.loads(b"\xc1" if codec.binary else "{")


def test_json_raw_lone_surrogate_is_rejected() -> None:
    assert _error('{"type":"ping","id":"\ud800"}', JSON).code is ErrorCode.BAD_REQUEST


def test_json_codec_loads_accepts_utf8_bytes() -> None:
    assert JSON.loads('{"a":"é"}'.encode()) == {"a": "é"}


@pytest.mark.parametrize("data", [None, 5, memoryview(b"\x80")], ids=repr)
def test_non_frame_input_is_bad_request(data: object) -> None:
    assert _error(data, MSGPACK).code is ErrorCode.BAD_REQUEST  # type: ignore[arg-type]
