"""NDAs over HTTP: request, list, read, approve, reject, sign, revoke.

The state machine lives in ``storage._ndas``; here each outcome becomes a response. An
illegal transition is 409 ``invalid_state`` naming the current state. After each commit
the ``nda_changed`` and ``notification`` domain events are published (also for NDAs found
expired on the way).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field
from quart import Blueprint, request
from quart_schema import tag_blueprint

from storage import (
    NdaAction,
    NdaChange,
    NdaRecord,
    NdaResult,
    get_nda,
    get_pitch,
    get_pitch_nda,
    list_ndas,
    request_nda,
    transition_nda,
)

from ._auth import Principal, client_ip, current_user, require_user
from ._context import deps
from ._errors import Conflict, Forbidden, NotFound, Unprocessable
from ._events import publish_all
from ._schema import MAX_LIMIT, MAX_PAGE, Ok, Paged, Schema, body, page_meta, query, responds

blueprint = Blueprint("ndas", __name__)
tag_blueprint(blueprint, ["ndas"])

NdaStatus = Literal["pending", "approved", "rejected", "signed", "expired", "revoked"]


class CompanyInfo(Schema):
    name: str | None = Field(None, max_length=200)
    website: str | None = Field(None, max_length=500)
    role: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=5000)


class NdaRequestBody(Schema):
    message: str | None = Field(None, max_length=5000)
    company_info: CompanyInfo | None = None


class ApproveBody(Schema):
    terms: str | None = Field(None, max_length=20_000)
    expires_at: datetime | None = None  # when the signed NDA lapses (default: a year)


class RejectBody(Schema):
    reason: str = Field(min_length=1, max_length=2000)


class SignBody(Schema):
    full_name: str = Field(min_length=1, max_length=200)
    accept: Literal[True]


class NdaQuery(Schema):
    direction: Literal["incoming", "outgoing"] = "incoming"
    status: NdaStatus | None = None
    page: int = Field(1, ge=1, le=MAX_PAGE)
    limit: int = Field(20, ge=1, le=MAX_LIMIT)


class RequesterOut(Schema):
    id: int
    username: str
    user_type: str


class NdaOut(Schema):
    id: int
    pitch_id: int
    pitch_title: str
    requester: RequesterOut
    owner_id: int | None  # withheld from the requester until the NDA is signed
    status: NdaStatus
    message: str | None
    company_info: dict[str, Any] | None
    reason: str | None
    terms: str | None
    document_version: str | None
    signer_name: str | None
    requested_at: datetime
    responded_at: datetime | None
    signed_at: datetime | None
    expires_at: datetime | None
    valid_until: datetime | None
    revoked_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, nda: NdaRecord, viewer_id: int) -> NdaOut:
        show_owner = viewer_id == nda.owner_id or nda.status == "signed"
        return cls(
            id=nda.id,
            pitch_id=nda.pitch_id,
            pitch_title=nda.pitch_title,
            requester=RequesterOut(
                id=nda.requester_id, username=nda.requester_username, user_type=nda.requester_type
            ),
            owner_id=nda.owner_id if show_owner else None,
            status=nda.status,  # type: ignore[arg-type]
            message=nda.message,
            company_info=nda.company_info,
            reason=nda.reason,
            terms=nda.terms,
            document_version=nda.document_version,
            signer_name=nda.signer_name,
            requested_at=nda.requested_at,
            responded_at=nda.responded_at,
            signed_at=nda.signed_at,
            expires_at=nda.expires_at,
            valid_until=nda.valid_until,
            revoked_at=nda.revoked_at,
            updated_at=nda.updated_at,
        )


@blueprint.post("/api/pitches/<id:pitch_id>/nda")
@body(NdaRequestBody, optional=True)
@responds(Ok[NdaOut], 201)
async def request_for_pitch(pitch_id: int, data: NdaRequestBody) -> tuple[Ok[NdaOut], int]:
    """Request an NDA for a pitch that requires one (investors and production companies)."""
    principal = await require_user("investor", "production")
    info = (
        data.company_info.model_dump(by_alias=True, exclude_none=True)
        if data.company_info
        else None
    )
    change = await request_nda(
        deps().storage, pitch_id, principal.user_id, message=data.message, company_info=info,
        ip=client_ip(),
    )  # fmt: skip
    await _publish(change, transition=True)
    if change.result is NdaResult.NOT_FOUND:
        raise NotFound("No such pitch.")
    if change.result is NdaResult.NOT_REQUIRED:
        raise Unprocessable("This pitch does not require an NDA.", code="nda_not_required")
    if change.result is NdaResult.ACTIVE:
        assert change.nda is not None
        raise Conflict(
            f"You already have a {change.nda.status} NDA for this pitch.",
            code="nda_exists",
            details={"ndaId": change.nda.id, "currentStatus": change.nda.status},
        )
    if change.result is NdaResult.COOLDOWN:
        assert change.available_at is not None
        wait = max(1, int((change.available_at - datetime.now(UTC)).total_seconds()))
        raise Conflict(
            "Your last request was declined; you may ask again after a week.",
            code="nda_cooldown",
            details={"availableAt": change.available_at.isoformat()},
            headers={"Retry-After": str(wait)},
        )
    return Ok(data=_out(change, principal)), 201


@blueprint.get("/api/pitches/<id:pitch_id>/nda")
@responds(Ok[NdaOut | None])
async def for_pitch(pitch_id: int) -> Ok[NdaOut | None]:
    """The caller's most recent NDA for a pitch, or null."""
    principal = await current_user()
    assert principal is not None
    change = await get_pitch_nda(deps().storage, pitch_id, principal.user_id)
    await _publish(change)
    if change.nda is None:
        found = await get_pitch(deps().storage, pitch_id, principal.user_id)
        if found is None or (found[0].status != "published" and not found[1].can_edit):
            raise NotFound("No such pitch.")
        return Ok(data=None)
    return Ok(data=_out(change, principal))


@blueprint.get("/api/ndas")
@query(NdaQuery)
@responds(Paged[NdaOut])
async def list_mine(query: NdaQuery) -> Paged[NdaOut]:
    """NDAs the caller received as a pitch owner (incoming) or requested (outgoing)."""
    principal = await current_user()
    assert principal is not None
    page = await list_ndas(
        deps().storage, principal.user_id, direction=query.direction, status=query.status,
        page=query.page, limit=query.limit,
    )  # fmt: skip
    await publish_all(
        [("nda_changed", nda.event_data()) for nda in page.expired]
        + [("notification", n.event_data()) for n in page.notifications]
    )
    items = [NdaOut.of(nda, principal.user_id) for nda in page.items]
    return Paged(data=items, meta=page_meta(query.page, query.limit, page.total))


@blueprint.get("/api/ndas/<id:nda_id>")
@responds(Ok[NdaOut])
async def detail(nda_id: int) -> Ok[NdaOut]:
    """One NDA (its requester and the pitch owner only)."""
    principal = await current_user()
    assert principal is not None
    change = await get_nda(deps().storage, nda_id, principal.user_id)
    await _publish(change)
    if change.nda is None:
        raise NotFound("No such NDA.")
    return Ok(data=_out(change, principal))


@blueprint.post("/api/ndas/<id:nda_id>/approve")
@body(ApproveBody, optional=True)
@responds(Ok[NdaOut])
async def approve(nda_id: int, data: ApproveBody) -> Ok[NdaOut]:
    """Approve a pending request (pitch owner); ``expiresAt`` sets the signed NDA's term."""
    valid_until = data.expires_at
    if valid_until is not None:
        if valid_until.tzinfo is None:
            valid_until = valid_until.replace(tzinfo=UTC)
        if valid_until <= datetime.now(UTC):
            raise Unprocessable("expiresAt must be in the future.", code="invalid_expiry")
    return await _transition(nda_id, NdaAction.APPROVE, terms=data.terms, valid_until=valid_until)


@blueprint.post("/api/ndas/<id:nda_id>/reject")
@body(RejectBody)
@responds(Ok[NdaOut])
async def reject(nda_id: int, data: RejectBody) -> Ok[NdaOut]:
    """Decline a pending request (pitch owner), giving a reason."""
    return await _transition(nda_id, NdaAction.REJECT, reason=data.reason)


@blueprint.post("/api/ndas/<id:nda_id>/sign")
@body(SignBody)
@responds(Ok[NdaOut])
async def sign(nda_id: int, data: SignBody) -> Ok[NdaOut]:
    """Sign an approved NDA (requester); records name, IP, user agent, document version."""
    return await _transition(
        nda_id,
        NdaAction.SIGN,
        signer_name=data.full_name,
        user_agent=request.headers.get("User-Agent"),
    )


@blueprint.post("/api/ndas/<id:nda_id>/revoke")
@responds(Ok[NdaOut])
async def revoke(nda_id: int) -> Ok[NdaOut]:
    """Revoke an approved or signed NDA (pitch owner)."""
    return await _transition(nda_id, NdaAction.REVOKE)


async def _transition(nda_id: int, action: NdaAction, **kwargs: Any) -> Ok[NdaOut]:
    principal = await current_user()
    assert principal is not None
    change = await transition_nda(
        deps().storage, nda_id, principal.user_id, action, ip=client_ip(), **kwargs
    )
    await _publish(change, transition=True)
    verb = action.name.lower()
    if change.result is NdaResult.NOT_FOUND:
        raise NotFound("No such NDA.")
    assert change.nda is not None
    if change.result is NdaResult.FORBIDDEN:
        who = "the requester" if action is NdaAction.SIGN else "the pitch owner"
        raise Forbidden(f"Only {who} may {verb} this NDA.")
    if change.result is NdaResult.ILLEGAL:
        raise Conflict(
            f"The NDA is {change.nda.status}; it cannot be {verb}d now.",
            code="invalid_state",
            details={"currentStatus": change.nda.status},
        )
    return Ok(data=_out(change, principal))


async def _publish(change: NdaChange, *, transition: bool = False) -> None:
    """Events for NDAs that expired on the way and, after a transition, for its NDA."""
    events = [("nda_changed", nda.event_data()) for nda in change.expired]
    if transition and change.result is NdaResult.APPLIED and change.nda is not None:
        events.append(("nda_changed", change.nda.event_data()))
    events += [("notification", n.event_data()) for n in change.notifications]
    await publish_all(events)


def _out(change: NdaChange, principal: Principal) -> NdaOut:
    assert change.nda is not None
    return NdaOut.of(change.nda, principal.user_id)
