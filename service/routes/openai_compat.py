"""An OpenAI-compatible chat model, `byline`, that answers from the corpus with citations.

Chat apps that speak the OpenAI API (Open WebUI, LibreChat, the `openai` package) can add
Byline as a model. The reply is the extractive answer with numbered markers ([1], [2]) and
a sources list; the same citations come machine-readable in a top-level `citations` array.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from service import application
from service.deps import StateDep
from service.errors import ServiceError
from service.schemas import AskRequest, Citation, Moment, OpenAIError

router = APIRouter(
    prefix="/v1",
    tags=["openai"],
    responses={
        400: {"model": OpenAIError, "description": "Malformed request (OpenAI error body)."},
        404: {"model": OpenAIError, "description": "Unknown model."},
        422: {"model": OpenAIError, "description": "Not sent: invalid requests are a 400."},
    },
)

MODEL_ID = "byline"
NOT_ANSWERED = (
    "The indexed news articles do not answer this question, so I will not guess. "
    "Try rephrasing it, or ask about something they cover."
)
_FOLLOW_UP_START = re.compile(r"^(and|also|but|then|so|what about|how about|and what)\b", re.I)
_PRONOUN = re.compile(r"\b(he|she|they|it|him|her|them|his|their|its|that|this|those)\b", re.I)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    """The OpenAI request; sampling and tool parameters are accepted and ignored. Byline's
    own fields scope the answer: the filters of /ask, and `date`, the day that "this week"
    or "yesterday" in a question count from (today by default)."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(description=f"Must be {MODEL_ID!r}.")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    date: dt.date | None = Field(None, description="The reference day for time phrases.")
    published_after: Moment | None = None
    published_before: Moment | None = None
    publisher: list[str] | None = None


def message_text(message: ChatMessage) -> str:
    """The text of a message, whether a string or a list of content parts."""
    if isinstance(message.content, str):
        return message.content
    parts = message.content or []
    return " ".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")


def resolve_question(messages: Sequence[ChatMessage]) -> tuple[str, str]:
    """(question, search query). A short or pronoun-led follow-up ("and what did Putin say?")
    is searched together with the user's previous question, so it keeps its topic."""
    asked = [t for t in (message_text(m).strip() for m in messages if m.role == "user") if t]
    if not asked:
        raise ServiceError(
            400, "invalid_request_error", "messages: give at least one user message with text"
        )
    question = asked[-1]
    words = re.findall(r"\w+", question)
    follow_up = (
        bool(_FOLLOW_UP_START.match(question) or _PRONOUN.search(question)) or len(words) <= 4
    )
    if follow_up and len(asked) > 1:
        return question, f"{asked[-2]} {question}"
    return question, question


def render(result: application.AskResult) -> tuple[str, list[Citation]]:
    """The reply text with [n] markers and a sources list, and its citations."""
    citations = result.citations()
    if not citations:
        return NOT_ANSWERED, []
    if result.answer.cited and result.answer.text:
        body = result.answer.text  # a shaped answer carries its own markers, a line each
    else:
        body = " ".join(f"{c.quote} [{i}]" for i, c in enumerate(citations, start=1))
    sources = []
    for i, citation in enumerate(citations, start=1):
        name = citation.title or citation.doc_id
        by = f", {citation.publisher}" if citation.publisher else ""
        link = f" <{citation.url}>" if citation.url else ""
        sources.append(f"[{i}] {name}{by}{link}: “{citation.quote}”")
    return f"{body}\n\nSources:\n" + "\n".join(sources), citations


@router.get("/models", operation_id="list_models", summary="OpenAI-compatible model list")
def list_models() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "byline"}],
    }


@router.post(
    "/chat/completions",
    operation_id="chat_completions",
    summary="OpenAI-compatible chat: answers from the news corpus, with citations",
    response_model=None,
)
def chat_completions(
    state: StateDep, request: ChatCompletionRequest
) -> dict[str, Any] | StreamingResponse:
    if request.model != MODEL_ID:
        raise ServiceError(
            404, "model_not_found", f"model {request.model!r} does not exist; use {MODEL_ID!r}"
        )
    question, query = resolve_question(request.messages)
    index = state.index
    asked = application.make(
        AskRequest,
        question=question,
        k=state.settings.chat_passages,
        published_after=request.published_after,
        published_before=request.published_before,
        publisher=request.publisher,
    )
    today = request.date or dt.datetime.now(dt.UTC).date()
    asked, query, period = application.in_period(asked, query, today)
    content, citations = render(application.ask(state, asked, query=query))
    if period is not None:
        content += f"\n\n(Searched articles published {period.describe()}.)"
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    cited = [c.model_dump(exclude={"passage_id"}) for c in citations]
    if request.stream:
        return StreamingResponse(
            _stream(completion_id, created, content, cited), media_type="text/event-stream"
        )
    prompt_tokens = sum(index.embedder.count_tokens([message_text(m) for m in request.messages]))
    completion_tokens = index.embedder.count_tokens([content])[0]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "citations": cited,
        "period": None
        if period is None
        else {
            "published_after": period.start.isoformat(),
            "published_before": period.end.isoformat(),
            "phrase": period.phrase,
        },
    }


def _stream(
    completion_id: str, created: int, content: str, citations: list[dict[str, Any]]
) -> Iterator[str]:
    """Server-sent events in OpenAI's chunk format, ending with `data: [DONE]`."""

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for piece in re.findall(r"\S+\s*", content):
        yield chunk({"content": piece})
    yield chunk({}, "stop", citations=citations)
    yield "data: [DONE]\n\n"
