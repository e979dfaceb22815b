"""Answers with quotes: the sentences of the articles that answer a question."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from service import application
from service.deps import StateDep
from service.responses import ModelResponse
from service.schemas import ERROR_RESPONSES, AskRequest, AskResponse, ErrorResponse

router = APIRouter(tags=["ask"], responses=ERROR_RESPONSES)

_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "Empty question, k or a filter out of range."}
}


@router.post(
    "/ask",
    operation_id="ask_news",
    summary="Answer a question about the news with quotes from the articles",
    description=(
        "Returns the sentences of the indexed articles that best answer the question, each "
        "quoted verbatim with its article and character span, plus the passages searched. "
        "When the articles do not answer, `answerable` is false and `answer` is null: say so "
        "rather than guessing."
    ),
    responses=_ERRORS,
    response_model=AskResponse,
)
def ask(state: StateDep, request: AskRequest) -> ModelResponse:
    return ModelResponse(application.ask(state, request).response())
