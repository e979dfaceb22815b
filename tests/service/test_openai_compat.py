"""The OpenAI-compatible model, driven by the official `openai` client over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from eval.localserver import LocalServer
from service.routes.openai_compat import ChatMessage, resolve_question


@pytest.fixture(scope="module")
def client(live_server: LocalServer) -> OpenAI:
    return OpenAI(base_url=f"{live_server.base_url}/v1", api_key="not-needed", max_retries=0)


def _assert_verbatim(base_url: str, citations: list[dict[str, Any]]) -> None:
    for citation in citations:
        text = httpx.get(f"{base_url}/documents/{citation['doc_id']}").json()["text"]
        assert text[citation["char_start"] : citation["char_end"]] == citation["quote"]


def test_models_list_byline(client: OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["byline"]


def test_completion_answers_with_markers_sources_and_citations(
    client: OpenAI, live_server: LocalServer
) -> None:
    completion = client.chat.completions.create(
        model="byline",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "were kids evacuated?"},
        ],
        temperature=0.3,
        top_p=0.9,
        max_tokens=300,
        user="test-user",
        tools=[
            {"type": "function", "function": {"name": "noop", "parameters": {"type": "object"}}}
        ],
    )
    content = completion.choices[0].message.content or ""
    assert "[1]" in content
    assert "Sources:" in content
    assert "children" in content
    assert completion.choices[0].finish_reason == "stop"
    citations = (completion.model_extra or {})["citations"]
    assert citations
    for number, citation in enumerate(citations, start=1):
        assert f"[{number}]" in content
        assert citation["quote"] in content
    _assert_verbatim(live_server.base_url, citations)
    assert completion.usage is not None
    assert completion.usage.completion_tokens > 0


def test_streamed_answer_equals_the_plain_one(client: OpenAI, live_server: LocalServer) -> None:
    messages: Any = [{"role": "user", "content": "Where did Putin talk about the Kursk offensive?"}]
    plain = client.chat.completions.create(model="byline", messages=messages)
    pieces, citations, finish = [], None, None
    for chunk in client.chat.completions.create(model="byline", messages=messages, stream=True):
        assert chunk.object == "chat.completion.chunk"
        delta = chunk.choices[0].delta
        pieces.append(delta.content or "")
        finish = chunk.choices[0].finish_reason or finish
        citations = (chunk.model_extra or {}).get("citations", citations)
    assert "".join(pieces) == plain.choices[0].message.content
    assert finish == "stop"
    assert citations == (plain.model_extra or {})["citations"]
    assert citations
    _assert_verbatim(live_server.base_url, citations)


def test_raw_stream_ends_with_done(live_server: LocalServer) -> None:
    body = {"model": "byline", "stream": True, "messages": [{"role": "user", "content": "Kursk"}]}
    with httpx.stream("POST", f"{live_server.base_url}/v1/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert events[-1] == "data: [DONE]"
    assert all(e.startswith("data: ") for e in events)


def test_unanswerable_says_so_and_cites_nothing(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="byline", messages=[{"role": "user", "content": "Who won the 2024 Olympic marathon?"}]
    )
    assert "do not answer" in (completion.choices[0].message.content or "")
    assert (completion.model_extra or {})["citations"] == []


def test_follow_up_keeps_the_topic_of_the_previous_question() -> None:
    messages = [
        ChatMessage(role="user", content="What did Putin tell the Eastern Economic Forum?"),
        ChatMessage(role="assistant", content="He said the Kursk attack failed."),
        ChatMessage(role="user", content=[{"type": "text", "text": "and what about Istanbul?"}]),
    ]
    question, query = resolve_question(messages)
    assert question == "and what about Istanbul?"
    assert query.startswith("What did Putin tell the Eastern Economic Forum?")
    standalone = [ChatMessage(role="user", content="Which region declared a state of emergency?")]
    assert resolve_question(standalone)[1] == "Which region declared a state of emergency?"


def test_malformed_requests_get_openai_errors(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as empty:
        client.chat.completions.create(model="byline", messages=[])
    assert empty.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError, match="user message"):
        client.chat.completions.create(
            model="byline", messages=[{"role": "system", "content": "x"}]
        )
