"""Message kinds: round-trips, wire shape and validation rules."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import protocol
from protocol import (
    JSON,
    MSGPACK,
    Ack,
    Auth,
    AuthExpiring,
    ClientChat,
    ClientPresence,
    ClientTyping,
    Codec,
    Conflict,
    ErrorCode,
    ErrorMessage,
    GoAway,
    Join,
    Joined,
    Kicked,
    Leave,
    MemberJoined,
    MemberLeft,
    NdaStatus,
    Notification,
    Ping,
    PitchUpdate,
    PitchUpdated,
    Pong,
    ProtocolError,
    Resync,
    ServerChat,
    ServerPresence,
    ServerTyping,
    Welcome,
    decode_client,
    decode_server,
    encode,
    to_wire,
)

CODECS = [pytest.param(MSGPACK, id="msgpack"), pytest.param(JSON, id="json")]
USER = {"id": 7, "username": "ana", "userType": "creator"}

CLIENT_SAMPLES = [
    Join(room="pitch:1"),
    Join(room="conversation:99", since=0, id="j1"),
    Leave(room="pitch:1", id=3),
    ClientChat(room="conversation:2", body="hello 🎬", client_id="c-1", id="m1"),
    ClientTyping(room="pitch:1", typing=True),
    ClientPresence(status="dnd"),
    PitchUpdate(
        room="pitch:5",
        version=3,
        fields={"title": "New title", "requireNda": True, "themes": ["grief", "hope"]},
        id=9,
    ),
    Auth(token="eyJ.token.sig", id="a"),
    Ping(),
    Ping(id=-4),
]

SERVER_SAMPLES = [
    Welcome(connection_id="c1", user=USER, node="node-a", server_time=1_700_000_000_000),
    Joined(
        room="pitch:1",
        seq=2,
        members=(USER,),
        presence={"7": "online"},
        history=(
            {"type": "member_joined", "room": "pitch:1", "seq": 1, "user": USER},
            {"type": "chat", "room": "pitch:1", "seq": 2, "body": "hi"},
        ),
        pitch={"id": 1, "title": "T", "version": 4},
    ),
    Joined(room="conversation:3", seq=0, members=(), presence={}, history=()),
    MemberJoined(room="pitch:1", seq=3, user=USER),
    MemberLeft(room="pitch:1", seq=4, user_id=7),
    ServerChat(
        room="pitch:1",
        seq=5,
        message_id=101,
        user_id=7,
        body="hello",
        client_id="c-1",
        created_at=1_700_000_000_001,
        user=USER,
    ),
    ServerChat(
        room="pitch:1",
        seq=6,
        message_id="m-uuid",
        user_id="u-7",
        body="hi",
        client_id="c-2",
        created_at=1,
    ),
    ServerTyping(room="pitch:1", user_id=7, typing=False),
    ServerPresence(user_id=7, status="offline"),
    ServerPresence(user_id=7, status="away", room="conversation:3"),
    PitchUpdated(room="pitch:1", seq=7, version=5, fields={"logline": "x"}, user_id=7),
    Ack(),
    Ack(id="m1", seq=5, client_id="c-1"),
    Conflict(room="pitch:1", version=6, fields={"title": "Theirs"}, id=9),
    Notification(
        id=55,
        kind="nda_request",
        title="NDA requested",
        body="Bob asked",
        data={"pitchId": 1},
        created_at=2,
    ),
    Kicked(room="pitch:1", reason="access_revoked"),
    Resync(room="pitch:1"),
    AuthExpiring(expires_at=1_700_000_060_000),
    GoAway(reason="draining", retry_after_ms=2500),
    ErrorMessage(code=ErrorCode.NOT_JOINED, message="join the room first", id="m2"),
    Pong(id=1),
    NdaStatus(pitch_id=1, nda_id=2, status="signed"),
]


def _client_error(payload: Any, codec: Codec = MSGPACK) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        decode_client(codec.dumps(payload), codec)
    return info.value


def _chat(**overrides: Any) -> dict[str, Any]:
    payload = {"type": "chat", "room": "pitch:1", "body": "hi", "clientId": "c1"}
    payload.update(overrides)
    return payload


# --- round trips and wire shape ---------------------------------------------------


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("message", CLIENT_SAMPLES, ids=lambda m: m.TYPE)
def test_client_message_round_trips(message: Any, codec: Codec) -> None:
    assert decode_client(encode(message, codec), codec) == message


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("message", SERVER_SAMPLES, ids=lambda m: m.TYPE)
def test_server_message_round_trips(message: Any, codec: Codec) -> None:
    assert decode_server(encode(message, codec), codec) == message


def test_every_client_kind_has_a_sample() -> None:
    assert {m.TYPE for m in CLIENT_SAMPLES} == set(protocol.CLIENT_MESSAGES)


def test_every_server_kind_has_a_sample() -> None:
    assert {m.TYPE for m in SERVER_SAMPLES} == set(protocol.SERVER_MESSAGES)


def test_wire_names_are_camel_case() -> None:
    wire = to_wire(GoAway(reason="draining", retry_after_ms=10))
    assert wire == {"type": "goaway", "reason": "draining", "retryAfterMs": 10}


def test_client_id_is_client_id_on_the_wire() -> None:
    wire = MSGPACK.loads(encode(ClientChat(room="pitch:1", body="b", client_id="x"), MSGPACK))
    assert wire == {"type": "chat", "room": "pitch:1", "body": "b", "clientId": "x"}


def test_welcome_wire_names() -> None:
    wire = to_wire(SERVER_SAMPLES[0])
    assert list(wire) == [
        "type",
        "connectionId",
        "user",
        "node",
        "serverTime",
        "heartbeatMs",
        "protocolVersion",
    ]


def test_type_is_the_first_wire_key() -> None:
    assert next(iter(to_wire(Ack(id=1)))) == "type"


def test_unset_optional_fields_are_omitted() -> None:
    assert to_wire(Ack()) == {"type": "ack"}


def test_welcome_defaults_to_protocol_version_and_heartbeat() -> None:
    welcome = SERVER_SAMPLES[0]
    assert welcome.protocol_version == protocol.PROTOCOL_VERSION
    assert welcome.heartbeat_ms == protocol.HEARTBEAT_INTERVAL_MS


def test_error_code_is_sent_as_its_string_value() -> None:
    text = encode(ErrorMessage(code=ErrorCode.RATE_LIMITED, message="slow down"), JSON)
    assert text == '{"type":"error","code":"rate_limited","message":"slow down"}'


def test_decoded_error_code_is_an_error_code() -> None:
    message = decode_server(JSON.dumps({"type": "error", "code": "conflict", "message": ""}), JSON)
    assert message.code is ErrorCode.CONFLICT


def test_arrays_are_stored_as_tuples() -> None:
    joined = Joined(room="pitch:1", seq=0, members=[USER], presence={}, history=[])
    assert joined.members == (USER,)
    assert joined.history == ()


def test_optional_field_may_be_null_on_the_wire() -> None:
    message = decode_client(JSON.dumps({"type": "join", "room": "pitch:1", "since": None}), JSON)
    assert message == Join(room="pitch:1")


# --- structure of the classes -------------------------------------------------------


def test_client_messages_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CLIENT_SAMPLES[0].room = "pitch:2"  # type: ignore[misc]


def test_server_messages_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SERVER_SAMPLES[0].node = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "cls", [*protocol.CLIENT_MESSAGES.values(), *protocol.SERVER_MESSAGES.values()]
)
def test_message_classes_are_slotted_frozen_dataclasses(cls: type) -> None:
    assert dataclasses.is_dataclass(cls)
    assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert "__slots__" in cls.__dict__


def test_registries_map_type_to_class() -> None:
    assert protocol.CLIENT_MESSAGES["chat"] is ClientChat
    assert protocol.SERVER_MESSAGES["chat"] is ServerChat


def test_registries_are_read_only() -> None:
    with pytest.raises(TypeError):
        protocol.CLIENT_MESSAGES["x"] = Ping  # type: ignore[index]


def test_auth_repr_hides_the_token() -> None:
    assert "secret" not in repr(Auth(token="secret-token"))


def test_constructing_an_invalid_message_raises_protocol_error() -> None:
    with pytest.raises(ProtocolError) as info:
        Join(room="lobby")
    assert info.value.code is ErrorCode.INVALID_MESSAGE


def test_to_wire_rejects_non_messages() -> None:
    with pytest.raises(TypeError):
        to_wire({"type": "ping"})  # type: ignore[arg-type]


# --- client validation rules ----------------------------------------------------------


def test_unknown_type_is_rejected() -> None:
    assert _client_error({"type": "teleport"}).code is ErrorCode.UNKNOWN_TYPE


def test_server_only_type_is_unknown_to_decode_client() -> None:
    assert _client_error({"type": "welcome"}).code is ErrorCode.UNKNOWN_TYPE


def test_client_only_type_is_unknown_to_decode_server() -> None:
    with pytest.raises(ProtocolError) as info:
        decode_server(MSGPACK.dumps({"type": "join", "room": "pitch:1"}), MSGPACK)
    assert info.value.code is ErrorCode.UNKNOWN_TYPE


def test_missing_type_is_invalid() -> None:
    assert _client_error({"room": "pitch:1"}).code is ErrorCode.INVALID_MESSAGE


def test_non_string_type_is_invalid() -> None:
    assert _client_error({"type": 1}).code is ErrorCode.INVALID_MESSAGE


@pytest.mark.parametrize("payload", [[], "join", 1, None, True], ids=repr)
def test_non_map_top_level_is_bad_request(payload: Any) -> None:
    assert _client_error(payload).code is ErrorCode.BAD_REQUEST


def test_unknown_field_is_rejected() -> None:
    error = _client_error({"type": "ping", "extra": 1})
    assert error.code is ErrorCode.INVALID_MESSAGE
    assert "extra" in error.message


def test_snake_case_field_name_is_an_unknown_field() -> None:
    payload = {"type": "chat", "room": "pitch:1", "body": "hi", "client_id": "c1"}
    assert _client_error(payload).code is ErrorCode.INVALID_MESSAGE


def test_missing_required_field_is_rejected() -> None:
    error = _client_error({"type": "chat", "room": "pitch:1", "body": "hi"})
    assert error.code is ErrorCode.INVALID_MESSAGE
    assert "clientId" in error.message


def test_null_required_field_is_rejected() -> None:
    assert _client_error({"type": "leave", "room": None}).code is ErrorCode.INVALID_MESSAGE


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "join", "room": "pitch:1", "since": True},
        {"type": "join", "room": "pitch:1", "since": False},
        {"type": "pitch_update", "room": "pitch:1", "version": True, "fields": {"title": "t"}},
        {"type": "ping", "id": True},
    ],
    ids=["since", "since-false", "version", "id"],
)
def test_bool_is_rejected_where_an_int_is_expected(payload: dict[str, Any]) -> None:
    assert _client_error(payload).code is ErrorCode.INVALID_MESSAGE


def test_int_is_rejected_where_a_bool_is_expected() -> None:
    payload = {"type": "typing", "room": "pitch:1", "typing": 1}
    assert _client_error(payload).code is ErrorCode.INVALID_MESSAGE


def test_float_is_rejected_where_an_int_is_expected() -> None:
    payload = {"type": "join", "room": "pitch:1", "since": 1.0}
    assert _client_error(payload).code is ErrorCode.INVALID_MESSAGE


def test_negative_since_is_rejected() -> None:
    payload = {"type": "join", "room": "pitch:1", "since": -1}
    assert _client_error(payload).code is ErrorCode.INVALID_MESSAGE


@pytest.mark.parametrize(
    "room",
    [
        "",
        "pitch",
        "pitch:",
        "pitch:0",
        "pitch:-1",
        "pitch:01",
        "pitch:1.5",
        "pitch: 1",
        "pitch:1 ",
        "Pitch:1",
        "lobby:1",
        "conversation:abc",
        "pitch:\u0661",  # Arabic-Indic digit one
        "pitch:99999999999999999",
        5,
        None,
    ],
    ids=repr,
)
def test_invalid_room_is_rejected(room: Any) -> None:
    assert _client_error({"type": "join", "room": room}).code is ErrorCode.INVALID_MESSAGE


def test_chat_at_the_length_limit_is_accepted() -> None:
    body = "x" * protocol.MAX_CHAT_LENGTH
    assert decode_client(MSGPACK.dumps(_chat(body=body)), MSGPACK).body == body


def test_oversize_chat_is_rejected() -> None:
    error = _client_error(_chat(body="x" * (protocol.MAX_CHAT_LENGTH + 1)))
    assert error.code is ErrorCode.INVALID_MESSAGE


def test_empty_chat_is_rejected() -> None:
    assert _client_error(_chat(body="")).code is ErrorCode.INVALID_MESSAGE


def test_whitespace_only_chat_is_rejected() -> None:
    assert _client_error(_chat(body=" \n\t ")).code is ErrorCode.INVALID_MESSAGE


def test_chat_body_is_kept_unstripped() -> None:
    assert decode_client(MSGPACK.dumps(_chat(body=" hi\n")), MSGPACK).body == " hi\n"


@pytest.mark.parametrize("client_id", ["", "c" * 65, 5], ids=["empty", "long", "int"])
def test_invalid_client_id_is_rejected(client_id: Any) -> None:
    assert _client_error(_chat(clientId=client_id)).code is ErrorCode.INVALID_MESSAGE


def test_unknown_presence_status_is_rejected() -> None:
    payload = {"type": "presence", "status": "offline"}
    assert _client_error(payload).code is ErrorCode.INVALID_MESSAGE


@pytest.mark.parametrize("token", ["", "t" * 4097, 1], ids=["empty", "long", "int"])
def test_invalid_token_is_rejected(token: Any) -> None:
    assert _client_error({"type": "auth", "token": token}).code is ErrorCode.INVALID_MESSAGE


def _update(**overrides: Any) -> dict[str, Any]:
    payload = {"type": "pitch_update", "room": "pitch:1", "version": 1, "fields": {"title": "t"}}
    payload.update(overrides)
    return payload


def test_pitch_update_requires_a_pitch_room() -> None:
    assert _client_error(_update(room="conversation:1")).code is ErrorCode.INVALID_MESSAGE


def test_pitch_update_requires_version_of_at_least_one() -> None:
    assert _client_error(_update(version=0)).code is ErrorCode.INVALID_MESSAGE


def test_pitch_update_requires_fields() -> None:
    assert _client_error(_update(fields={})).code is ErrorCode.INVALID_MESSAGE


def test_pitch_update_rejects_non_editable_field() -> None:
    error = _client_error(_update(fields={"ownerId": 2}))
    assert error.code is ErrorCode.INVALID_MESSAGE
    assert "ownerId" in error.message


def test_pitch_update_accepts_every_editable_field() -> None:
    fields = {name: None for name in protocol.EDITABLE_PITCH_FIELDS if name != "requireNda"}
    message = decode_client(MSGPACK.dumps(_update(fields=fields)), MSGPACK)
    assert message.fields == fields


def test_pitch_update_text_field_must_be_string_or_null() -> None:
    assert _client_error(_update(fields={"logline": 5})).code is ErrorCode.INVALID_MESSAGE


def test_pitch_update_require_nda_must_be_bool() -> None:
    assert _client_error(_update(fields={"requireNda": 1})).code is ErrorCode.INVALID_MESSAGE


@pytest.mark.parametrize("msg_id", ["", "i" * 65, 1.5, [1], 2**53], ids=repr)
def test_invalid_id_is_rejected(msg_id: Any) -> None:
    assert _client_error({"type": "ping", "id": msg_id}).code in {
        ErrorCode.INVALID_MESSAGE,
        ErrorCode.BAD_REQUEST,
    }


def test_id_of_64_chars_is_accepted() -> None:
    assert decode_client(MSGPACK.dumps({"type": "ping", "id": "i" * 64}), MSGPACK).id == "i" * 64


# --- id echo ------------------------------------------------------------------------


def test_protocol_error_echoes_string_id() -> None:
    assert _client_error(_chat(body="", id="m-7")).id == "m-7"


def test_protocol_error_echoes_int_id() -> None:
    assert _client_error(_chat(body="", id=12)).id == 12


def test_protocol_error_echoes_id_for_unknown_type() -> None:
    assert _client_error({"type": "nope", "id": "x"}).id == "x"


def test_protocol_error_echoes_id_for_unknown_field() -> None:
    assert _client_error({"type": "ping", "id": "x", "junk": 1}).id == "x"


def test_protocol_error_echoes_id_for_bad_nested_value() -> None:
    assert _client_error({"type": "ping", "id": "x", "junk": float("nan")}).id == "x"


def test_protocol_error_omits_invalid_id() -> None:
    assert _client_error({"type": "ping", "id": "i" * 65}).id is None


def test_protocol_error_has_no_id_when_frame_is_undecodable() -> None:
    with pytest.raises(ProtocolError) as info:
        decode_client(b"\xc1", MSGPACK)
    assert info.value.id is None


def test_protocol_error_converts_to_error_message() -> None:
    error = _client_error(_chat(body="", id="m-7"))
    assert error.to_message() == ErrorMessage(
        code=ErrorCode.INVALID_MESSAGE, message=error.message, id="m-7"
    )


# --- server validation rules ------------------------------------------------------------


@pytest.mark.parametrize("missing", ["id", "username", "userType"])
def test_user_map_requires_identity_keys(missing: str) -> None:
    user = {k: v for k, v in USER.items() if k != missing}
    with pytest.raises(ProtocolError):
        MemberJoined(room="pitch:1", seq=1, user=user)


def test_history_entries_must_be_durable_events() -> None:
    with pytest.raises(ProtocolError):
        Joined(
            room="pitch:1",
            seq=1,
            members=(),
            presence={},
            history=({"type": "typing", "seq": 1},),
        )


def test_history_entries_need_a_seq() -> None:
    with pytest.raises(ProtocolError):
        Joined(room="pitch:1", seq=1, members=(), presence={}, history=({"type": "chat"},))


def test_presence_map_values_must_be_statuses() -> None:
    with pytest.raises(ProtocolError):
        Joined(room="pitch:1", seq=0, members=(), presence={"7": "sleeping"}, history=())


def test_durable_event_seq_starts_at_one() -> None:
    with pytest.raises(ProtocolError):
        MemberLeft(room="pitch:1", seq=0, user_id=7)


def test_unknown_error_code_is_rejected_by_decode_server() -> None:
    with pytest.raises(ProtocolError) as info:
        decode_server(JSON.dumps({"type": "error", "code": "oops", "message": ""}), JSON)
    assert info.value.code is ErrorCode.INVALID_MESSAGE


def test_unknown_nda_status_is_rejected() -> None:
    with pytest.raises(ProtocolError):
        NdaStatus(pitch_id=1, nda_id=1, status="maybe")


def test_long_protocol_error_message_is_truncated_in_error_message() -> None:
    error = ProtocolError(ErrorCode.INTERNAL, "x" * 10_000)
    assert len(error.to_message().message) == 4096
