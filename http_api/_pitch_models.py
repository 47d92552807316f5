"""Pitch request and response models, and the one function that decides what a viewer
sees of a pitch.

For a pitch that requires an NDA, ``protectedContent`` and the creator's identity
(``creator``, ``ownerId``) go only to the owner, collaborators and holders of a signed,
unexpired NDA; everyone else gets the public fields and ``ndaRequired: true``, with no
``protectedContent`` key at all. Every response that carries a pitch (detail, list,
search, browse, saved, mine) is built by :func:`present`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_serializer

from storage import Access, Owner, PitchRecord

from ._schema import MAX_LIMIT, MAX_PAGE, Schema
from ._user_models import URL_PATTERN

Sort = Literal["new", "trending", "popular"]
_TEXT = 20_000
_HIDDEN_WHEN_NONE = ("protectedContent", "creator", "ownerId")


class Attachment(Schema):
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(max_length=2000, pattern=URL_PATTERN)


class ProtectedContent(Schema):
    budget_breakdown: str | None = Field(None, max_length=_TEXT)
    production_timeline: str | None = Field(None, max_length=_TEXT)
    attached_talent: str | None = Field(None, max_length=_TEXT)
    financial_projections: str | None = Field(None, max_length=_TEXT)
    distribution_plan: str | None = Field(None, max_length=_TEXT)
    marketing_strategy: str | None = Field(None, max_length=_TEXT)
    private_attachments: list[Attachment] | None = Field(None, max_length=50)
    contact_details: str | None = Field(None, max_length=_TEXT)
    revenue_model: str | None = Field(None, max_length=_TEXT)


class Character(Schema):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)


class _PitchFields(Schema):
    logline: str = Field("", max_length=1000)
    genre: str | None = Field(None, max_length=50)
    format: str | None = Field(None, max_length=50)
    budget_range: str | None = Field(None, max_length=50)
    short_synopsis: str | None = Field(None, max_length=2000)
    long_synopsis: str | None = Field(None, max_length=_TEXT)
    target_audience: str | None = Field(None, max_length=1000)
    comparable_titles: str | None = Field(None, max_length=1000)
    themes: str | None = Field(None, max_length=1000)
    characters: list[Character] = Field(default_factory=list, max_length=50)
    thumbnail_url: str | None = Field(None, max_length=2000, pattern=URL_PATTERN)
    visibility: Literal["public", "private"] = "public"
    require_nda: bool = False
    protected_content: ProtectedContent = Field(default_factory=ProtectedContent)


class CreatePitchBody(_PitchFields):
    title: str = Field(min_length=1, max_length=200)


class UpdatePitchBody(Schema):
    """Only the fields present change; ``version`` is the one the edit was based on."""

    version: int = Field(ge=1, le=2**31 - 1)
    title: str = Field(None, min_length=1, max_length=200)  # type: ignore[assignment]
    logline: str = Field(None, max_length=1000)  # type: ignore[assignment]
    genre: str | None = Field(None, max_length=50)
    format: str | None = Field(None, max_length=50)
    budget_range: str | None = Field(None, max_length=50)
    short_synopsis: str | None = Field(None, max_length=2000)
    long_synopsis: str | None = Field(None, max_length=_TEXT)
    target_audience: str | None = Field(None, max_length=1000)
    comparable_titles: str | None = Field(None, max_length=1000)
    themes: str | None = Field(None, max_length=1000)
    characters: list[Character] = Field(None, max_length=50)  # type: ignore[assignment]
    thumbnail_url: str | None = Field(None, max_length=2000, pattern=URL_PATTERN)
    visibility: Literal["public", "private"] = None  # type: ignore[assignment]
    require_nda: bool = None  # type: ignore[assignment]
    protected_content: ProtectedContent = None  # type: ignore[assignment]


class CollaboratorBody(Schema):
    user_id: int = Field(ge=1, le=2**63 - 1)


class ListQuery(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    limit: int = Field(20, ge=1, le=MAX_LIMIT)
    genre: str | None = Field(None, max_length=50)
    format: str | None = Field(None, max_length=50)
    budget_range: str | None = Field(None, max_length=50)
    search: str | None = Field(None, max_length=200)
    sort: Sort | None = None


class BrowseQuery(Schema):
    tab: Sort = "trending"
    page: int = Field(1, ge=1, le=MAX_PAGE)
    limit: int = Field(20, ge=1, le=MAX_LIMIT)
    genre: str | None = Field(None, max_length=50)
    format: str | None = Field(None, max_length=50)


class MineQuery(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    limit: int = Field(20, ge=1, le=MAX_LIMIT)
    status: Literal["draft", "published", "archived"] | None = None


class PersonOut(Schema):
    id: int
    username: str
    first_name: str | None
    last_name: str | None
    company_name: str | None
    user_type: str

    @classmethod
    def of(cls, owner: Owner) -> PersonOut:
        return cls(
            id=owner.id,
            username=owner.username,
            first_name=owner.first_name,
            last_name=owner.last_name,
            company_name=owner.company_name,
            user_type=owner.user_type,
        )


class PitchOut(Schema):
    """A pitch as this viewer may see it (see the module docstring)."""

    id: int
    title: str
    logline: str
    genre: str | None
    format: str | None
    budget_range: str | None
    short_synopsis: str | None
    long_synopsis: str | None
    target_audience: str | None
    comparable_titles: str | None
    themes: str | None
    characters: list[dict[str, Any]]
    thumbnail_url: str | None
    visibility: str
    status: str
    require_nda: bool
    nda_required: bool  # true: protected content is withheld from this viewer
    view_count: int
    like_count: int
    save_count: int
    nda_count: int
    version: int
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    owner_id: int | None = None
    creator: PersonOut | None = None
    protected_content: dict[str, Any] | None = None
    can_edit: bool = False

    @model_serializer(mode="wrap")
    def _omit_withheld(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        for key in _HIDDEN_WHEN_NONE:
            if data.get(key, 0) is None:
                del data[key]
        return data


class CollaboratorsOut(Schema):
    collaborators: list[PersonOut]


def present(pitch: PitchRecord, access: Access) -> PitchOut:
    """What a viewer with ``access`` may see of ``pitch``."""
    shown = access.entitled or not pitch.require_nda
    return PitchOut(
        id=pitch.id,
        title=pitch.title,
        logline=pitch.logline,
        genre=pitch.genre,
        format=pitch.format,
        budget_range=pitch.budget_range,
        short_synopsis=pitch.short_synopsis,
        long_synopsis=pitch.long_synopsis,
        target_audience=pitch.target_audience,
        comparable_titles=pitch.comparable_titles,
        themes=pitch.themes,
        characters=pitch.characters,
        thumbnail_url=pitch.thumbnail_url,
        visibility=pitch.visibility,
        status=pitch.status,
        require_nda=pitch.require_nda,
        nda_required=not shown,
        view_count=pitch.view_count,
        like_count=pitch.like_count,
        save_count=pitch.save_count,
        nda_count=pitch.nda_count,
        version=pitch.version,
        published_at=pitch.published_at,
        created_at=pitch.created_at,
        updated_at=pitch.updated_at,
        owner_id=pitch.owner.id if shown else None,
        creator=PersonOut.of(pitch.owner) if shown else None,
        protected_content=pitch.protected_content if shown else None,
        can_edit=access.can_edit,
    )
