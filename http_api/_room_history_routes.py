"""A pitch room's earlier events, for scrolling back past what ``joined.history`` held.

``GET /api/pitches/{id}/history?before=S`` answers the room's durable events with
``seq < S`` (the newest ``limit`` of them, oldest first), each in the form it is sent live,
to whoever may join the room: the same access rule as the WebSocket ``join``. Rooms keep
about their last 1000 events (``storage.HISTORY_LENGTH``); older ones are not served here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from quart import Blueprint
from quart_schema import tag_blueprint

from protocol import pitch_room
from storage import Verdict, check_room_access, read_history

from ._auth import current_user
from ._context import deps
from ._errors import Forbidden, NotFound
from ._schema import Schema, query, responds

blueprint = Blueprint("room_history", __name__)
tag_blueprint(blueprint, ["pitches"])

MAX_SEQ = 2**53 - 1


class HistoryQuery(Schema):
    before: int | None = Field(None, ge=1, le=MAX_SEQ)
    limit: int = Field(50, ge=1, le=100)


class HistoryMeta(Schema):
    room: str
    seq: int  # the room's latest sequence number
    has_more: bool  # earlier events exist: ask again with ``before`` = the first one's seq


class HistoryOut(Schema):
    success: Literal[True] = True
    data: list[dict[str, Any]]
    meta: HistoryMeta


@blueprint.get("/api/pitches/<id:pitch_id>/history")
@query(HistoryQuery)
@responds(HistoryOut)
async def history(pitch_id: int, query: HistoryQuery) -> HistoryOut:
    """The pitch room's durable events before ``before`` (default: the newest), oldest
    first, for those who may join the room (owner, collaborators, anyone for a public
    pitch, signed NDA holders for a protected one)."""
    principal = await current_user()
    assert principal is not None
    access = await check_room_access(deps().storage, "pitch", pitch_id, principal.user_id)
    if access.verdict is Verdict.NOT_FOUND:
        raise NotFound("No such pitch.")
    if access.verdict is not Verdict.ALLOWED:
        raise Forbidden("Only those who may join this pitch's room may read its history.")
    room = pitch_room(pitch_id)
    until = None if query.before is None else query.before - 1
    current, events = await read_history(deps().storage, room, until=until, count=query.limit)
    has_more = bool(events) and events[0]["seq"] > 1
    return HistoryOut(data=events, meta=HistoryMeta(room=room, seq=current, has_more=has_more))
