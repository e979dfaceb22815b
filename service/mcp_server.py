"""Byline as an MCP server: search_news, ask_news and get_article for chat clients.

Served over stdio (`byline mcp`, for Claude Desktop-style clients) and over streamable HTTP
at /mcp on the running service (for Open WebUI and LibreChat). Every tool result carries
readable text for the model and `structuredContent` for programs. Each tool translates its
arguments into the application layer's request and its result back, nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from index.errors import BylineError
from service import application
from service.errors import ServiceError
from service.routes.openai_compat import render
from service.schemas import (
    DEFAULT_K,
    MAX_K,
    MAX_QUERY_CHARS,
    AskRequest,
    AskResponse,
    DocumentDetail,
    SearchRequest,
    SearchResponse,
    StatementsRequest,
    StatementsResponse,
)
from service.state import ServiceState

INSTRUCTIONS = (
    "Byline searches a collection of news articles. Use search_news to find passages, "
    "ask_news for a short answer quoted from the articles, get_article to read a whole article. "
    "Every passage and quote comes with its article and character span; cite them, and when "
    "ask_news says the articles do not answer, say so instead of guessing. Both search tools "
    "take published_after / published_before (ISO dates) and publisher to narrow the articles."
)

QueryArg = Annotated[
    str,
    Field(
        min_length=1, max_length=MAX_QUERY_CHARS, description="What to look for, in plain language."
    ),
]
KArg = Annotated[int, Field(ge=1, le=MAX_K, description=f"How many passages, 1-{MAX_K}.")]
AfterArg = Annotated[
    str | None, Field(description="Only articles published on or after this ISO date.")
]
BeforeArg = Annotated[
    str | None, Field(description="Only articles published before this ISO date.")
]
PublisherArg = Annotated[list[str] | None, Field(description="Only these publishers.")]


def _text(body: str) -> list[TextContent]:
    return [TextContent(type="text", text=body)]


def _failure(exc: Exception) -> CallToolResult:
    message = exc.message if isinstance(exc, ServiceError) else str(exc)
    return CallToolResult(content=_text(f"Error: {message}"), is_error=True)


def _search_text(response: SearchResponse) -> str:
    if not response.results:
        return "No passages found."
    lines = []
    for result in response.results:
        source = result.source
        by = f", {source.publisher}" if source.publisher else ""
        when = f", {source.published}" if source.published else ""
        lines.append(
            f"{result.rank}. {source.title or source.doc_id}{by}{when} "
            f"[{source.doc_id}, chars {source.char_start}-{source.char_end}]\n   “{result.text}”"
        )
    return "\n".join(lines)


def _result(run: Callable[[], tuple[str, BaseModel]]) -> CallToolResult:
    try:
        text, structured = run()
    except (ServiceError, BylineError) as exc:
        return _failure(exc)
    return CallToolResult(
        content=_text(text), structured_content=structured.model_dump(mode="json")
    )


def build_mcp(get_state: Callable[[], ServiceState]) -> MCPServer:
    """The MCP server over the service state that `get_state` returns when a tool is called."""
    server = MCPServer(name="byline", instructions=INSTRUCTIONS, version="0.1.0")

    @server.tool(
        name="search_news",
        title="Search news passages",
        description=(
            "Find the passages of the indexed news articles that best match a question or "
            "keywords. Returns up to k passages, best first, each with its article id, title, "
            "publisher, date and character span."
        ),
    )
    async def search_news(
        query: QueryArg,
        k: KArg = DEFAULT_K,
        mode: Annotated[
            Literal["dense", "bm25", "hybrid"] | None,
            Field(description="dense (meaning), bm25 (exact words) or hybrid (default)."),
        ] = None,
        published_after: AfterArg = None,
        published_before: BeforeArg = None,
        publisher: PublisherArg = None,
    ) -> Annotated[CallToolResult, SearchResponse]:
        def run() -> tuple[str, BaseModel]:
            request = application.make(
                SearchRequest,
                query=query,
                k=k,
                mode=mode,
                published_after=published_after,
                published_before=published_before,
                publisher=publisher,
            )
            response = application.search(get_state().index, request)
            return _search_text(response), response

        return await anyio.to_thread.run_sync(lambda: _result(run))

    @server.tool(
        name="ask_news",
        title="Answer from the news",
        description=(
            "Answer a question with sentences quoted verbatim from the indexed news articles, "
            "numbered [1], [2] with their sources. If the articles do not answer it, the result "
            "says so (answerable: false)."
        ),
    )
    async def ask_news(
        question: QueryArg,
        k: KArg = DEFAULT_K,
        published_after: AfterArg = None,
        published_before: BeforeArg = None,
        publisher: PublisherArg = None,
    ) -> Annotated[CallToolResult, AskResponse]:
        def run() -> tuple[str, BaseModel]:
            request = application.make(
                AskRequest,
                question=question,
                k=k,
                published_after=published_after,
                published_before=published_before,
                publisher=publisher,
            )
            result = application.ask(get_state(), request)
            response = result.response()
            rendered, _ = render(result)
            if not response.answerable:
                rendered += f"\n(confidence {response.confidence:.2f})"
            return rendered, response

        return await anyio.to_thread.run_sync(lambda: _result(run))

    @server.tool(
        name="who_said",
        title="What a person said",
        description=(
            "Statements attributed to a person or organisation in the indexed news articles "
            "(full name or surname), about a topic when one is given: each quoted verbatim with "
            "its article and character span. An unknown speaker gives no statements."
        ),
    )
    async def who_said(
        speaker: Annotated[
            str, Field(min_length=1, max_length=200, description="Full name or surname.")
        ],
        topic: Annotated[str | None, Field(max_length=2000, description="About what.")] = None,
        k: KArg = DEFAULT_K,
        published_after: AfterArg = None,
        published_before: BeforeArg = None,
        publisher: PublisherArg = None,
    ) -> Annotated[CallToolResult, StatementsResponse]:
        def run() -> tuple[str, BaseModel]:
            request = application.make(
                StatementsRequest,
                speaker=speaker,
                q=topic,
                k=k,
                published_after=published_after,
                published_before=published_before,
                publisher=publisher,
            )
            response = application.statements(get_state(), request)
            if not response.results:
                return f"No statements by {speaker} in the indexed articles.", response
            lines = [
                f"[{i}] {r.speaker.name}: “{r.quote}” ({r.title or r.doc_id}, "
                f"chars {r.char_start}-{r.char_end})"
                for i, r in enumerate(response.results, start=1)
            ]
            return "\n".join(lines), response

        return await anyio.to_thread.run_sync(lambda: _result(run))

    @server.tool(
        name="get_article",
        title="Read a news article",
        description=(
            "The full original text and metadata of one article, by the doc_id that search_news "
            "or ask_news returned; text[char_start:char_end] is exactly the quoted passage."
        ),
    )
    async def get_article(
        doc_id: Annotated[str, Field(min_length=1, max_length=128, description="The article id.")],
    ) -> Annotated[CallToolResult, DocumentDetail]:
        def run() -> tuple[str, BaseModel]:
            detail = application.get_document(get_state().index, doc_id)
            header = detail.title or detail.doc_id
            if detail.publisher:
                header += f" ({detail.publisher})"
            return f"{header}\n\n{detail.text}", detail

        return await anyio.to_thread.run_sync(lambda: _result(run))

    return server
