"""The corpus: list, read, add or replace, and delete articles; its publishers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response, status

from index.archive import DocumentOrder
from service import application
from service.deps import AfterParam, BeforeParam, IndexDep, PublisherParam, StateDep
from service.schemas import (
    ERROR_RESPONSES,
    DocumentDetail,
    DocumentList,
    DocumentsIn,
    ErrorResponse,
    FetchRequest,
    FetchResponse,
    IngestResponse,
    PublisherList,
    Scope,
)

router = APIRouter(tags=["documents"], responses=ERROR_RESPONSES)

MAX_PAGE = 500
MAX_OFFSET = 1_000_000_000
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No document with that id."}
}


@router.get("/documents", operation_id="list_documents", summary="List the indexed articles")
def list_documents(
    index: IndexDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Documents to skip.")] = 0,
    order: Annotated[
        DocumentOrder, Query(description="id, newest or oldest (undated last).")
    ] = DocumentOrder.ID,
    published_after: AfterParam = None,
    published_before: BeforeParam = None,
    publisher: PublisherParam = None,
) -> DocumentList:
    scope = application.make(
        Scope,
        given_as="query",
        published_after=published_after,
        published_before=published_before,
        publisher=publisher,
    )
    return application.list_documents(index, scope, order, limit, offset)


@router.get(
    "/documents/{doc_id}",
    operation_id="get_document",
    summary="Get one article's full original text and metadata",
    description=(
        "Returns the article's original text, so that any passage can be checked: "
        "`text[char_start:char_end]` is exactly the passage search returned."
    ),
    responses=_NOT_FOUND,
)
def get_document(index: IndexDep, doc_id: str) -> DocumentDetail:
    return application.get_document(index, doc_id)


@router.post(
    "/documents",
    status_code=status.HTTP_201_CREATED,
    operation_id="add_documents",
    summary="Add or replace articles (one record or a list)",
    description=(
        "Indexes the articles; when it answers, they are on disk and searchable. An existing "
        "id is replaced. The cost is that of these articles, whatever the archive's size."
    ),
    responses={422: {"model": ErrorResponse, "description": "A record is invalid."}},
)
def add_documents(state: StateDep, records: Annotated[DocumentsIn, Body()]) -> IngestResponse:
    return application.add_documents(state, records if isinstance(records, list) else [records])


@router.post(
    "/documents/fetch",
    operation_id="fetch_documents",
    summary="Fetch articles from the web and index them",
    description=(
        "Fetches each URL (an article page, http or https), extracts the article with "
        "trafilatura (text, title, date, publisher, canonical URL) and indexes it. Each URL "
        "gets its outcome: a refused address (private, loopback, link-local), a failed "
        "request, a page that is not an article or a duplicate of a stored one is reported "
        "with its reason, and the rest are still indexed. Feeds and sitemaps: `byline ingest`."
    ),
    responses={422: {"model": ErrorResponse, "description": "The request is invalid."}},
)
def fetch_documents(state: StateDep, request: FetchRequest) -> FetchResponse:
    return application.fetch_documents(state, request)


@router.delete(
    "/documents/{doc_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_document",
    summary="Delete an article and its passages",
    responses=_NOT_FOUND,
)
def delete_document(state: StateDep, doc_id: str) -> Response:
    application.delete_document(state, doc_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/publishers",
    operation_id="list_publishers",
    summary="Publishers, with their article counts and date ranges",
)
def list_publishers(index: IndexDep) -> PublisherList:
    return application.list_publishers(index)
