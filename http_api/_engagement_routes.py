"""Likes, saves and views of pitches, and the saved list. Counters are exact (see
``storage._engagement``); like, save and view need a signed-in user. A new like notifies
the pitch's owner live (``pitch_liked``)."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import tag_blueprint

from storage import Access, Engagement, entitled_pitch_ids, list_saved, record_view, set_engagement

from ._auth import current_user
from ._context import deps
from ._errors import NotFound
from ._events import publish_notifications
from ._pitch_models import PitchOut, present
from ._schema import Ok, Paged, PageQuery, Schema, page_meta, query, responds

blueprint = Blueprint("engagement", __name__)
tag_blueprint(blueprint, ["engagement"])


class LikeOut(Schema):
    liked: bool
    like_count: int


class SaveOut(Schema):
    saved: bool
    save_count: int


class ViewOut(Schema):
    counted: bool  # false: already counted for this user today
    view_count: int


@blueprint.post("/api/pitches/<id:pitch_id>/like")
@responds(Ok[LikeOut])
async def like(pitch_id: int) -> Ok[LikeOut]:
    """Like a pitch (idempotent)."""
    count = await _engage(Engagement.LIKE, pitch_id, on=True)
    return Ok(data=LikeOut(liked=True, like_count=count))


@blueprint.delete("/api/pitches/<id:pitch_id>/like")
@responds(Ok[LikeOut])
async def unlike(pitch_id: int) -> Ok[LikeOut]:
    """Take a like back (idempotent)."""
    count = await _engage(Engagement.LIKE, pitch_id, on=False)
    return Ok(data=LikeOut(liked=False, like_count=count))


@blueprint.post("/api/pitches/<id:pitch_id>/save")
@responds(Ok[SaveOut])
async def save(pitch_id: int) -> Ok[SaveOut]:
    """Save (bookmark) a pitch (idempotent)."""
    count = await _engage(Engagement.SAVE, pitch_id, on=True)
    return Ok(data=SaveOut(saved=True, save_count=count))


@blueprint.delete("/api/pitches/<id:pitch_id>/save")
@responds(Ok[SaveOut])
async def unsave(pitch_id: int) -> Ok[SaveOut]:
    """Remove a pitch from the saved list (idempotent)."""
    count = await _engage(Engagement.SAVE, pitch_id, on=False)
    return Ok(data=SaveOut(saved=False, save_count=count))


@blueprint.post("/api/pitches/<id:pitch_id>/view")
@responds(Ok[ViewOut])
async def view(pitch_id: int) -> Ok[ViewOut]:
    """Record a view, counted at most once per user, pitch and day."""
    principal = await current_user()
    assert principal is not None
    counted = await record_view(deps().storage, pitch_id, principal.user_id)
    if counted is None:
        raise NotFound("No such pitch.")
    return Ok(data=ViewOut(counted=counted.changed, view_count=counted.count))


@blueprint.get("/api/saved")
@query(PageQuery)
@responds(Paged[PitchOut])
async def saved(query: PageQuery) -> Paged[PitchOut]:
    """The caller's saved pitches that are still published, newest save first."""
    principal = await current_user()
    assert principal is not None
    storage = deps().storage
    page = await list_saved(storage, principal.user_id, page=query.page, limit=query.limit)
    protected = [p.id for p in page.items if p.require_nda]
    entitled = (
        await entitled_pitch_ids(storage, principal.user_id, protected) if protected else set()
    )
    items = [
        present(
            p,
            Access(is_owner=p.owner.id == principal.user_id, has_nda=p.id in entitled),
        )
        for p in page.items
    ]
    return Paged(data=items, meta=page_meta(query.page, query.limit, page.total))


async def _engage(kind: Engagement, pitch_id: int, *, on: bool) -> int:
    principal = await current_user()
    assert principal is not None
    counted = await set_engagement(deps().storage, kind, principal.user_id, pitch_id, on=on)
    if counted is None:
        raise NotFound("No such pitch.")
    if counted.notification is not None:
        await publish_notifications([counted.notification])
    return counted.count
