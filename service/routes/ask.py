"""Answers with quotes: the sentences of the articles that answer a question."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter

from index.answer import Answer, Answerer
from index.engine import Hit, NewsIndex
from index.fusion import Mode
from service.deps import StateDep
from service.responses import ModelResponse
from service.routes.search import to_result
from service.schemas import ERROR_RESPONSES, AskRequest, AskResponse, Citation, ErrorResponse

router = APIRouter(tags=["ask"], responses=ERROR_RESPONSES)

_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "Empty question or k out of range."}
}


def to_citations(answer: Answer) -> list[Citation]:
    if not answer.answerable:
        return []
    return [
        Citation(
            passage_id=q.passage.passage_id,
            doc_id=q.document.doc_id,
            title=q.document.title,
            quote=q.text,
            char_start=q.start,
            char_end=q.end,
        )
        for q in answer.quotes
    ]


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
    return ModelResponse(
        run_ask(state.index, state.answerer, request.question, request.k, request.mode)
    )


def run_ask(
    index: NewsIndex, answerer: Answerer, question: str, k: int, mode: Mode | None = None
) -> AskResponse:
    hits = index.search(question, k, mode)
    return ask_response(question, hits, answerer.answer(question, hits))


def ask_response(question: str, hits: Sequence[Hit], answer: Answer) -> AskResponse:
    return AskResponse(
        question=question,
        answer=answer.text,
        answerable=answer.answerable,
        confidence=round(answer.confidence, 4),
        citations=to_citations(answer),
        passages=[to_result(h) for h in hits],
    )
