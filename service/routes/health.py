"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import StateDep
from service.schemas import ERROR_RESPONSES, ErrorResponse, Health, Ready

router = APIRouter(tags=["health"], responses=ERROR_RESPONSES)


# `async def`: FastAPI runs a plain `def` route in the worker thread pool, a hand-off there
# and back (and a wait behind the searches holding its threads) to build a constant. /ready
# stays a `def`: on Milvus its counts are network calls, which must not block the event loop.
@router.get("/health", operation_id="health", summary="Is the process up?")
async def health() -> Health:
    return Health()


@router.get(
    "/ready",
    operation_id="ready",
    summary="Is the index loaded and searchable?",
    responses={503: {"model": ErrorResponse, "description": "Still loading, or failed to load."}},
)
def ready(state: StateDep) -> Ready:
    index = state.index
    view = index.view()
    return Ready(
        documents=view.document_count,
        passages=view.passage_count,
        model=index.embedder.model_id,
        backend=index.config.backend,
    )
