"""The JSON API: the same use cases as the pages, for programs (token) and scripts.

Every change takes ``expected_version`` (a stale one is 409), every list is paged
(``limit``/``offset``, ``total`` in the body), every error is ``{"error": {code, message, details}}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from .. import cases as uc
from ..queries import case_detail
from ..workbench import InboxFilter, inbox, open_deadlines
from .context import RequestContext, as_api_caller

# Every handler is async and hands its work to ``as_api_caller``: the caller is signed in and the
# use case runs in one trip to the thread pool, not one for a sync dependency and one for a sync
# handler.
router = APIRouter(prefix="/api", tags=["api"])
Limit = Annotated[int, Query(ge=1, le=200, description="每页条数")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="起始位置")]


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class Error(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": Error} for s in (400, 401, 403, 404, 409, 422, 429)}


class CaseSummary(BaseModel):
    id: int
    number: str
    title: str
    kind: str
    state: str
    state_label: str
    jurisdiction: str
    definition: str
    version: int
    round: str
    next_due: str | None = None
    days_left: int | None = None
    urgency: str | None = None
    enterprise: str | None = None
    instructor: str | None = None


class CasePage(BaseModel):
    total: int = Field(..., description="匹配的协商数；total_capped 为真时表示“超过 total 件”")
    total_capped: bool = Field(False, description="总数只数到上限（1,000，或本页所需）为止")
    limit: int
    offset: int
    items: list[CaseSummary]


class CaseCreate(BaseModel):
    kind: str = Field("enterprise", max_length=16, description="enterprise / sector / adoption")
    enterprise: str | None = Field(None, max_length=40, description="统一社会信用代码")
    sector: str | None = Field(None, max_length=32)
    parent: str | None = Field(None, max_length=32, description="行业协商编号（履约协议）")
    title: str | None = Field(None, max_length=300)
    instructor: str | None = Field(None, max_length=64)
    jurisdiction: str | None = Field(None, max_length=32)


class ActionRequest(BaseModel):
    expected_version: int = Field(..., ge=1, description="您看到的版本号；已被他人修改则返回 409")
    values: dict[str, str | int | bool | None] = Field(default_factory=dict, max_length=50)
    reason: str | None = Field(None, max_length=2000)


class ActionResult(BaseModel):
    id: int
    number: str
    state: str
    state_label: str
    version: int
    from_state: str
    event_id: int


class RepresentativeRequest(BaseModel):
    expected_version: int = Field(..., ge=1)
    side: str = Field(..., max_length=16)
    name: str = Field(..., min_length=1, max_length=100)
    person_key: str | None = Field(None, max_length=100)
    position: str | None = Field(None, max_length=100)
    chief: bool = False
    outsider: bool = False
    front_line: bool = False


class TermsRequest(BaseModel):
    expected_version: int = Field(..., ge=1)
    terms: dict[str, Any] = Field(..., max_length=20)


class Page(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[dict[str, Any]]


@router.get("/me", responses=ERRORS)
async def me(request: Request) -> dict[str, Any]:
    def work(ctx: RequestContext) -> dict[str, Any]:
        return {
            "username": ctx.username,
            "name": ctx.display_name,
            "roles": sorted(ctx.roles),
            "org": ctx.org_name,
        }

    return await as_api_caller(request, work)


@router.get("/cases", response_model=CasePage, responses=ERRORS)
async def list_cases(
    request: Request,
    limit: Limit = 50,
    offset: Offset = 0,
    stage: Annotated[str | None, Query(max_length=32)] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    sector: Annotated[str | None, Query(max_length=32)] = None,
    region: Annotated[str | None, Query(max_length=64)] = None,
    overdue: bool = False,
    mine: bool = False,
    q: Annotated[str | None, Query(max_length=100)] = None,
    sort: Annotated[str, Query(pattern="^-?(next_due|number)$|^updated$")] = "next_due",
) -> dict[str, Any]:
    f = InboxFilter(
        stage=stage,
        kind=kind,
        sector=sector,
        region=region,
        overdue=overdue,
        q=q,
        sort=sort,
        instructor="me" if mine else None,
        limit=limit,
        offset=offset,
    )
    return await as_api_caller(request, lambda ctx: inbox(ctx.db, ctx.actor, f, now=ctx.now))


@router.post("/cases", status_code=201, response_model=CaseSummary, responses=ERRORS)
async def create_case(request: Request, body: CaseCreate) -> dict[str, Any]:
    def work(ctx: RequestContext) -> dict[str, Any]:
        return uc.create_case(ctx.db, ctx.actor, **body.model_dump(), now=ctx.now, request_id=ctx.request_id)

    return await as_api_caller(request, work)


@router.get("/cases/{ref}", responses=ERRORS)
async def show_case(request: Request, ref: str) -> dict[str, Any]:
    return await as_api_caller(request, lambda ctx: case_detail(ctx.db, ctx.actor, ref[:40], now=ctx.now))


@router.post("/cases/{ref}/actions/{trigger}", response_model=ActionResult, responses=ERRORS)
async def fire(request: Request, ref: str, trigger: str, body: ActionRequest) -> dict[str, Any]:
    def work(ctx: RequestContext) -> dict[str, Any]:
        return uc.fire_action(
            ctx.db,
            ctx.actor,
            ref[:40],
            trigger[:40],
            values=dict(body.values),
            reason=body.reason,
            expected_version=body.expected_version,
            now=ctx.now,
            request_id=ctx.request_id,
        )

    return await as_api_caller(request, work)


@router.post("/cases/{ref}/representatives", response_model=CaseSummary, responses=ERRORS)
async def add_representative(request: Request, ref: str, body: RepresentativeRequest) -> dict[str, Any]:
    data = body.model_dump()
    expected = data.pop("expected_version")

    def work(ctx: RequestContext) -> dict[str, Any]:
        return uc.add_representative(
            ctx.db,
            ctx.actor,
            ref[:40],
            **data,
            expected_version=expected,
            now=ctx.now,
            request_id=ctx.request_id,
        )

    return await as_api_caller(request, work)


@router.put("/cases/{ref}/agreement", responses=ERRORS)
async def set_terms(request: Request, ref: str, body: TermsRequest) -> dict[str, Any]:
    def work(ctx: RequestContext) -> dict[str, Any]:
        return uc.set_agreement_terms(
            ctx.db,
            ctx.actor,
            ref[:40],
            body.terms,
            expected_version=body.expected_version,
            now=ctx.now,
            request_id=ctx.request_id,
        )

    return await as_api_caller(request, work)


@router.get("/cases/{ref}/deadlines", response_model=Page, responses=ERRORS)
async def case_deadlines(request: Request, ref: str, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    return await as_api_caller(request, lambda ctx: _paged(ctx, ref, "deadlines", limit, offset))


@router.get("/cases/{ref}/timeline", response_model=Page, responses=ERRORS)
async def case_timeline(request: Request, ref: str, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    return await as_api_caller(request, lambda ctx: _paged(ctx, ref, "timeline", limit, offset))


def _paged(ctx: RequestContext, ref: str, part: str, limit: int, offset: int) -> dict[str, Any]:
    items = case_detail(ctx.db, ctx.actor, ref[:40], now=ctx.now)[part]
    return {"total": len(items), "limit": limit, "offset": offset, "items": items[offset : offset + limit]}


@router.get("/cases/{ref}/diagram", responses=ERRORS)
async def case_diagram(request: Request, ref: str) -> dict[str, Any]:
    def work(ctx: RequestContext) -> dict[str, Any]:
        detail = case_detail(ctx.db, ctx.actor, ref[:40], now=ctx.now)
        return {"state": detail["state"], "format": "mermaid", "diagram": detail["diagram"]}

    return await as_api_caller(request, work)


@router.get("/deadlines", response_model=Page, responses=ERRORS)
async def deadlines(
    request: Request, limit: Limit = 50, offset: Offset = 0, overdue: bool = False
) -> dict[str, Any]:
    return await as_api_caller(
        request,
        lambda ctx: open_deadlines(
            ctx.db, ctx.actor, overdue=overdue, limit=limit, offset=offset, now=ctx.now
        ),
    )
