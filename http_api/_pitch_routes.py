"""Pitches: create, read, edit with an optimistic version, delete, publish, archive,
collaborators, the public list and browse tabs, and a creator's own pitches.

Drafts and archived pitches exist only for their owner and collaborators (404 for anyone
else); what a viewer sees of a published pitch is decided by ``present``.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint
from quart_schema import tag_blueprint

from protocol import pitch_room
from storage import (
    PITCH_WIRE_NAMES,
    Access,
    Outcome,
    PitchChange,
    PitchQuery,
    change_collaborator,
    create_pitch,
    delete_pitch,
    get_pitch,
    list_collaborators,
    list_owned,
    set_pitch_status,
    update_pitch,
)

from . import _catalogue
from ._auth import current_user, require_user
from ._context import deps
from ._errors import Conflict, Forbidden, NotFound
from ._events import append_room_event, publish
from ._pitch_models import (
    BrowseQuery,
    CollaboratorBody,
    CollaboratorsOut,
    CreatePitchBody,
    ListQuery,
    MineQuery,
    PersonOut,
    PitchOut,
    UpdatePitchBody,
    present,
)
from ._schema import Done, Ok, Paged, body, page_meta, query, responds

blueprint = Blueprint("pitches", __name__)
tag_blueprint(blueprint, ["pitches"])


@blueprint.post("/api/pitches")
@body(CreatePitchBody)
@responds(Ok[PitchOut], 201)
async def create(data: CreatePitchBody) -> tuple[Ok[PitchOut], int]:
    """Create a pitch (creators only); it starts as a draft."""
    principal = await require_user("creator")
    fields = _columns(data, data.model_fields_set | {"title"})
    pitch = await create_pitch(deps().storage, principal.user_id, fields)
    return Ok(data=present(pitch, _owner_access())), 201


@blueprint.get("/api/pitches")
@query(ListQuery)
@responds(Paged[PitchOut])
async def list_pitches(query: ListQuery) -> Paged[PitchOut]:
    """Published pitches: filter, search (full text, ranked) and sort."""
    viewer = await current_user(required=False)
    search = query.search.strip() if query.search and query.search.strip() else None
    pitch_query = PitchQuery(
        page=query.page,
        limit=query.limit,
        genre=query.genre,
        format=query.format,
        budget_range=query.budget_range,
        search=search,
        sort=query.sort,
    )
    items, total = await _catalogue.public_page(pitch_query, viewer)
    return Paged(data=items, meta=page_meta(query.page, query.limit, total))


@blueprint.get("/api/browse")
@query(BrowseQuery)
@responds(Paged[PitchOut])
async def browse(query: BrowseQuery) -> Paged[PitchOut]:
    """The browse tabs: trending, new or popular published pitches."""
    viewer = await current_user(required=False)
    pitch_query = PitchQuery(
        page=query.page, limit=query.limit, genre=query.genre, format=query.format,
        sort=query.tab,
    )  # fmt: skip
    items, total = await _catalogue.public_page(pitch_query, viewer)
    return Paged(data=items, meta=page_meta(query.page, query.limit, total))


@blueprint.get("/api/pitches/mine")
@query(MineQuery)
@responds(Paged[PitchOut])
async def mine(query: MineQuery) -> Paged[PitchOut]:
    """The caller's own pitches and those they co-edit, in every status."""
    principal = await current_user()
    assert principal is not None
    page = await list_owned(
        deps().storage, principal.user_id, page=query.page, limit=query.limit,
        status=query.status,
    )  # fmt: skip
    items = [
        present(p, _owner_access() if p.owner.id == principal.user_id else _collab_access())
        for p in page.items
    ]
    return Paged(data=items, meta=page_meta(query.page, query.limit, page.total))


@blueprint.get("/api/pitches/<id:pitch_id>")
@responds(Ok[PitchOut])
async def detail(pitch_id: int) -> Ok[PitchOut]:
    """One pitch, as the caller may see it."""
    viewer = await current_user(required=False)
    found = await get_pitch(deps().storage, pitch_id, viewer.user_id if viewer else None)
    if found is None or (found[0].status != "published" and not found[1].can_edit):
        raise NotFound("No such pitch.")
    return Ok(data=present(*found))


@blueprint.patch("/api/pitches/<id:pitch_id>")
@body(UpdatePitchBody)
@responds(Ok[PitchOut])
async def update(pitch_id: int, data: UpdatePitchBody) -> Ok[PitchOut]:
    """Edit (owner or collaborator), based on ``version``: a stale one is 409 carrying
    the current pitch."""
    principal = await current_user()
    assert principal is not None
    names = data.model_fields_set - {"version"}
    changes = _columns(data, names)
    change = await update_pitch(deps().storage, pitch_id, principal.user_id, data.version, changes)
    _raise_for(change, "edit")
    if change.outcome is Outcome.CONFLICT:
        assert change.pitch is not None
        raise Conflict(
            f"The pitch changed since version {data.version}; it is at version "
            f"{change.pitch.version}.",
            code="version_conflict",
            details={
                "currentVersion": change.pitch.version,
                "pitch": present(change.pitch, change.access).model_dump(
                    by_alias=True, mode="json"
                ),
            },
        )
    assert change.pitch is not None
    if change.previous_status == "published":
        await _catalogue.invalidate()
    shown = present(change.pitch, change.access).model_dump(by_alias=True, mode="json")
    fields = {
        PITCH_WIRE_NAMES[n]: shown.get(PITCH_WIRE_NAMES[n])
        for n in changes
        if n in PITCH_WIRE_NAMES
    }
    if fields:
        room = pitch_room(pitch_id)
        await append_room_event(
            room,
            {
                "type": "pitch_updated",
                "room": room,
                "version": change.pitch.version,
                "fields": fields,
                "userId": principal.user_id,
            },
        )
    return Ok(data=present(change.pitch, change.access))


@blueprint.delete("/api/pitches/<id:pitch_id>")
@responds(Ok[Done])
async def delete(pitch_id: int) -> Ok[Done]:
    """Delete a pitch (owner only)."""
    principal = await current_user()
    assert principal is not None
    change = await delete_pitch(deps().storage, pitch_id, principal.user_id)
    _raise_for(change, "delete")
    if change.previous_status == "published":
        await _catalogue.invalidate()
    await publish("pitch_status", {"pitchId": pitch_id, "status": "deleted"})
    return Ok(data=Done())


@blueprint.post("/api/pitches/<id:pitch_id>/publish")
@responds(Ok[PitchOut])
async def publish_pitch(pitch_id: int) -> Ok[PitchOut]:
    """Publish a draft or archived pitch (owner only)."""
    return Ok(data=await _set_status(pitch_id, "published", frozenset({"draft", "archived"})))


@blueprint.post("/api/pitches/<id:pitch_id>/archive")
@responds(Ok[PitchOut])
async def archive(pitch_id: int) -> Ok[PitchOut]:
    """Archive a draft or published pitch (owner only)."""
    return Ok(data=await _set_status(pitch_id, "archived", frozenset({"draft", "published"})))


@blueprint.get("/api/pitches/<id:pitch_id>/collaborators")
@responds(Ok[CollaboratorsOut])
async def collaborators(pitch_id: int) -> Ok[CollaboratorsOut]:
    """Who may edit the pitch besides its owner (owner and collaborators only)."""
    principal = await current_user()
    assert principal is not None
    found = await get_pitch(deps().storage, pitch_id, principal.user_id)
    if found is None or not found[1].can_edit:
        raise NotFound("No such pitch.")
    people = await list_collaborators(deps().storage, pitch_id)
    return Ok(data=CollaboratorsOut(collaborators=[PersonOut.of(p) for p in people]))


@blueprint.post("/api/pitches/<id:pitch_id>/collaborators")
@body(CollaboratorBody)
@responds(Ok[CollaboratorsOut])
async def add_collaborator(pitch_id: int, data: CollaboratorBody) -> Ok[CollaboratorsOut]:
    """Let another user edit the pitch (owner only; idempotent)."""
    return Ok(data=await _collaborator(pitch_id, data.user_id, add=True))


@blueprint.delete("/api/pitches/<id:pitch_id>/collaborators")
@body(CollaboratorBody)
@responds(Ok[CollaboratorsOut])
async def remove_collaborator(pitch_id: int, data: CollaboratorBody) -> Ok[CollaboratorsOut]:
    """Stop a collaborator editing the pitch (owner only; idempotent)."""
    return Ok(data=await _collaborator(pitch_id, data.user_id, add=False))


async def _collaborator(pitch_id: int, user_id: int, *, add: bool) -> CollaboratorsOut:
    principal = await current_user()
    assert principal is not None
    change = await change_collaborator(
        deps().storage, pitch_id, principal.user_id, user_id, add=add
    )
    if change.outcome is Outcome.NOT_FOUND:
        raise NotFound("No such pitch.")
    if change.outcome is Outcome.FORBIDDEN:
        raise Forbidden("Only the pitch's owner may change its collaborators.")
    if change.outcome is Outcome.CONFLICT:
        if change.reason == "no_such_user":
            raise NotFound("No such user.", code="user_not_found")
        raise Conflict("The owner is not a collaborator.", code="owner_not_collaborator")
    return CollaboratorsOut(collaborators=[PersonOut.of(p) for p in change.collaborators])


async def _set_status(pitch_id: int, target: str, allowed_from: frozenset[str]) -> PitchOut:
    principal = await current_user()
    assert principal is not None
    change = await set_pitch_status(
        deps().storage, pitch_id, principal.user_id, target, allowed_from
    )
    _raise_for(change, "publish or archive")
    if change.outcome is Outcome.CONFLICT:
        assert change.pitch is not None
        raise Conflict(
            f"The pitch is {change.pitch.status}; it cannot become {target}.",
            code="invalid_state",
            details={"currentStatus": change.pitch.status},
        )
    assert change.pitch is not None
    await _catalogue.invalidate()
    await publish("pitch_status", {"pitchId": pitch_id, "status": target})
    return present(change.pitch, change.access)


def _raise_for(change: PitchChange, what: str) -> None:
    if change.outcome is Outcome.NOT_FOUND:
        raise NotFound("No such pitch.")
    if change.outcome is Outcome.FORBIDDEN:
        raise Forbidden(f"You may not {what} this pitch.")


def _columns(data: CreatePitchBody | UpdatePitchBody, names: set[str]) -> dict[str, Any]:
    """Column values of the given fields, jsonb ones in their stored (camelCase) shape."""
    columns: dict[str, Any] = {}
    for name in names:
        value = getattr(data, name)
        if name == "protected_content":
            value = value.model_dump(by_alias=True, exclude_none=True, mode="json")
        elif name == "characters":
            value = [c.model_dump(by_alias=True, exclude_none=True) for c in value]
        columns[name] = value
    return columns


def _owner_access() -> Access:
    return Access(is_owner=True)


def _collab_access() -> Access:
    return Access(is_collaborator=True)
