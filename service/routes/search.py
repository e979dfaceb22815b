"""Semantic search over the indexed passages."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query

from index.engine import NewsIndex
from index.fusion import Mode
from service import application
from service.deps import AfterParam, BeforeParam, IndexDep, PublisherParam
from service.responses import ModelResponse
from service.schemas import (
    DEFAULT_K,
    ERROR_RESPONSES,
    MAX_K,
    BatchSearchRequest,
    BatchSearchResponse,
    ErrorResponse,
    QueryText,
    SearchRequest,
    SearchResponse,
    Sort,
)

router = APIRouter(tags=["search"], responses=ERROR_RESPONSES)

_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "Empty query, k or a filter out of range."}
}
_DESCRIPTION = (
    "Find the passages of the indexed news articles that best answer a question. Each result "
    "quotes the passage and gives its source: the document id, title and publisher, and the "
    "character span `[char_start, char_end)` of the passage in the document's original text "
    "(GET /documents/{doc_id} returns that text). Filters by date and publisher apply before "
    "the k best are chosen."
)


@router.post(
    "/search/batch",
    operation_id="search_news_batch",
    summary="Search news passages for many queries at once",
    description="Runs each query as `POST /search` would; their embeddings are computed together.",
    responses=_ERRORS,
    response_model=BatchSearchResponse,
)
def search_batch(index: IndexDep, request: BatchSearchRequest) -> ModelResponse:
    return ModelResponse(application.search_batch(index, request))


QUERY_FIELDS = {
    "q": "query",
    "k": "k",
    "mode": "mode",
    "published_after": "published_after",
    "published_before": "published_before",
    "publisher": "publisher",
    "doc_id": "doc_id",
    "sort": "sort",
    "recency_half_life_days": "recency_half_life_days",
}
"""GET /search's query parameters, in the route's order, and the request field of each."""
_FIELD_NAMES = {field: name for name, field in QUERY_FIELDS.items()}
"""Each request field's name in the query string, for the 422 messages."""
_REPEATED = frozenset({"publisher", "doc_id"})


def request_from_query(query_string: bytes) -> SearchRequest:
    """GET /search's typed request from its raw query string, validated once: what FastAPI
    would parse from the parameters `search_get` declares, with the same 422 messages."""
    fields: dict[str, Any] = {}
    # As Starlette reads a query string; a repeated single parameter keeps its last value.
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        field = QUERY_FIELDS.get(name)
        if field is None:
            continue
        if name in _REPEATED:
            fields.setdefault(field, []).append(value)
        else:
            fields[field] = value
    return application.make(SearchRequest, given_as="query", names=_FIELD_NAMES, **fields)


def search_query(index: NewsIndex, query_string: bytes) -> ModelResponse:
    """GET /search from its raw query string: how `SearchFastPath` serves it."""
    return ModelResponse(application.search(index, request_from_query(query_string)))


@router.get(
    "/search",
    operation_id="search_news",
    summary="Search news passages (query string)",
    description=_DESCRIPTION,
    responses=_ERRORS,
    response_model=SearchResponse,
)
def search_get(
    index: IndexDep,
    q: Annotated[QueryText, Query(description="The question or keywords, in plain language.")],
    k: Annotated[
        int, Query(ge=1, le=MAX_K, description=f"Passages to return, 1 to {MAX_K}.")
    ] = DEFAULT_K,
    mode: Annotated[Mode | None, Query(description="dense, bm25 or hybrid (the default).")] = None,
    published_after: AfterParam = None,
    published_before: BeforeParam = None,
    publisher: PublisherParam = None,
    doc_id: Annotated[list[str] | None, Query(description="Only these articles.")] = None,
    sort: Annotated[Sort, Query(description="relevance or date (newest first).")] = "relevance",
    recency_half_life_days: Annotated[
        float | None, Query(gt=0, le=36500, description="Prefer recent articles.")
    ] = None,
) -> ModelResponse:
    """Served by `service.fast_path.SearchFastPath` (`search_query`) before FastAPI's
    routing; this declaration documents the parameters and is the reference the fast path is
    tested against."""
    request = application.make(
        SearchRequest,
        given_as="query",
        query=q,
        k=k,
        mode=mode,
        published_after=published_after,
        published_before=published_before,
        publisher=publisher,
        doc_id=doc_id,
        sort=sort,
        recency_half_life_days=recency_half_life_days,
    )
    return ModelResponse(application.search(index, request))


@router.post(
    "/search",
    operation_id="search_news_post",
    summary="Search news passages (JSON body)",
    description=_DESCRIPTION,
    responses=_ERRORS,
    response_model=SearchResponse,
)
def search_post(index: IndexDep, request: SearchRequest) -> ModelResponse:
    return ModelResponse(application.search(index, request))
