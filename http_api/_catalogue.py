"""The public catalogue (``GET /api/pitches``, ``GET /api/browse``) behind a short-lived
Redis cache.

A cached page holds the pitch records as stored, so it is the same for every viewer; what
each viewer may see is decided afterwards by ``present``. A signed-in viewer costs one
extra query only when the page holds NDA-protected pitches (to learn which of them the
viewer is entitled to). Publishing, archiving, deleting or editing a published pitch
clears the whole cache.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

import structlog

from storage import (
    Access,
    Owner,
    PitchPage,
    PitchQuery,
    PitchRecord,
    StorageError,
    cache_clear,
    cache_get,
    cache_put,
    entitled_pitch_ids,
    list_published,
)

from ._auth import Principal
from ._context import deps
from ._pitch_models import PitchOut, present

log = structlog.get_logger("http_api.catalogue")

NAMESPACE = "pitch-lists"
_DATES = ("published_at", "created_at", "updated_at")


async def public_page(query: PitchQuery, viewer: Principal | None) -> tuple[list[PitchOut], int]:
    """One page of the public catalogue as ``viewer`` may see it, and the total."""
    page = await _cached(query)
    entitled: set[int] = set()
    protected = [p.id for p in page.items if p.require_nda]
    if viewer is not None and protected:
        entitled = await entitled_pitch_ids(deps().storage, viewer.user_id, protected)
    items = [
        present(
            pitch,
            Access(
                is_owner=viewer is not None and pitch.owner.id == viewer.user_id,
                has_nda=pitch.id in entitled,
            ),
        )
        for pitch in page.items
    ]
    return items, page.total


async def invalidate() -> None:
    """Drop every cached page (a published pitch appeared, changed or went away)."""
    try:
        await cache_clear(deps().storage, NAMESPACE)
    except StorageError as exc:
        log.warning("catalogue_cache_not_cleared", error=str(exc))


async def _cached(query: PitchQuery) -> PitchPage:
    storage = deps().storage
    key = json.dumps(dataclasses.asdict(query), sort_keys=True)
    try:
        hit = await cache_get(storage, NAMESPACE, key)
    except StorageError as exc:
        log.warning("catalogue_cache_unavailable", error=str(exc))
        hit = None
    if hit is not None:
        return _decode(hit)
    page = await list_published(storage, query)
    try:
        await cache_put(storage, NAMESPACE, key, _encode(page), ttl=deps().list_cache_ttl)
    except StorageError as exc:
        log.warning("catalogue_cache_unavailable", error=str(exc))
    return page


def _encode(page: PitchPage) -> bytes:
    def record(pitch: PitchRecord) -> dict[str, Any]:
        data = dataclasses.asdict(pitch)
        for name in _DATES:
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        return data

    return json.dumps({"total": page.total, "items": [record(p) for p in page.items]}).encode()


def _decode(raw: bytes) -> PitchPage:
    data = json.loads(raw)
    items = []
    for item in data["items"]:
        item["owner"] = Owner(**item["owner"])
        for name in _DATES:
            value = item[name]
            item[name] = datetime.fromisoformat(value) if value is not None else None
        items.append(PitchRecord(**item))
    return PitchPage(items, data["total"])
