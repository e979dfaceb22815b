"""Semantic search over the indexed passages."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query

from index.engine import Hit, NewsIndex
from index.fusion import Mode
from service.deps import IndexDep
from service.responses import ModelResponse
from service.schemas import (
    DEFAULT_K,
    ERROR_RESPONSES,
    MAX_K,
    AlsoIn,
    BatchSearchRequest,
    BatchSearchResponse,
    ErrorResponse,
    QueryText,
    SearchRequest,
    SearchResponse,
    SearchResult,
    Source,
)

router = APIRouter(tags=["search"], responses=ERROR_RESPONSES)

_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "Empty query or k out of range."}
}
_DESCRIPTION = (
    "Find the passages of the indexed news articles that best answer a question. Each result "
    "quotes the passage and gives its source: the document id, title and publisher, and the "
    "character span `[char_start, char_end)` of the passage in the document's original text "
    "(GET /documents/{doc_id} returns that text)."
)


def to_result(hit: Hit) -> SearchResult:
    document, passage = hit.document, hit.passage
    return SearchResult(
        rank=hit.rank,
        score=hit.score,
        passage_id=passage.passage_id,
        text=hit.text,
        source=Source(
            doc_id=document.doc_id,
            title=document.title,
            publisher=document.publisher,
            url=document.url,
            published=document.published,
            char_start=passage.start,
            char_end=passage.end,
        ),
        also_in=[
            AlsoIn(doc_id=d.doc_id, title=d.title, char_start=p.start, char_end=p.end)
            for p, d in hit.also_in
        ],
    )


def run_search(index: NewsIndex, query: str, k: int, mode: Mode | None = None) -> SearchResponse:
    started = time.perf_counter()
    hits = index.search(query, k, mode)
    took_ms = (time.perf_counter() - started) * 1000
    return SearchResponse(
        query=query, took_ms=round(took_ms, 3), results=[to_result(h) for h in hits]
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
    started = time.perf_counter()
    batches = index.search_many(request.queries, request.k, request.mode)
    took_ms = round((time.perf_counter() - started) * 1000, 3)
    return ModelResponse(
        BatchSearchResponse(
            took_ms=took_ms,
            responses=[
                SearchResponse(query=q, took_ms=took_ms, results=[to_result(h) for h in hits])
                for q, hits in zip(request.queries, batches, strict=True)
            ],
        )
    )


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
) -> ModelResponse:
    return ModelResponse(run_search(index, q, k, mode))


@router.post(
    "/search",
    operation_id="search_news_post",
    summary="Search news passages (JSON body)",
    description=_DESCRIPTION,
    responses=_ERRORS,
    response_model=SearchResponse,
)
def search_post(index: IndexDep, request: SearchRequest) -> ModelResponse:
    return ModelResponse(run_search(index, request.query, request.k, request.mode))
