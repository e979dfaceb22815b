"""Byline as an MCP server: search_news, ask_news and get_article for chat clients.

Served over stdio (`byline mcp`, for Claude Desktop-style clients) and over streamable HTTP
at /mcp on the running service (for Open WebUI and LibreChat). Every tool result carries
readable text for the model and `structuredContent` for programs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent
from pydantic import Field

from index.errors import BylineError
from index.fusion import Mode
from service.errors import ServiceError
from service.routes.ask import ask_response
from service.routes.openai_compat import render
from service.routes.search import run_search
from service.schemas import MAX_K, MAX_QUERY_CHARS, AskResponse, DocumentDetail, SearchResponse
from service.state import ServiceState

INSTRUCTIONS = (
    "Byline searches a collection of news articles. Use search_news to find passages, "
    "ask_news for a short answer quoted from the articles, get_article to read a whole article. "
    "Every passage and quote comes with its article and character span; cite them, and when "
    "ask_news says the articles do not answer, say so instead of guessing."
)

QueryArg = Annotated[
    str,
    Field(
        min_length=1, max_length=MAX_QUERY_CHARS, description="What to look for, in plain language."
    ),
]


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
        lines.append(
            f"{result.rank}. {source.title or source.doc_id}{by} "
            f"[{source.doc_id}, chars {source.char_start}-{source.char_end}]\n   “{result.text}”"
        )
    return "\n".join(lines)


def _ask_text(response: AskResponse, rendered: str) -> str:
    return (
        rendered if response.answerable else f"{rendered}\n(confidence {response.confidence:.2f})"
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
            "publisher and character span."
        ),
    )
    async def search_news(
        query: QueryArg,
        k: Annotated[int, Field(ge=1, le=MAX_K, description="How many passages, 1-50.")] = 5,
        mode: Annotated[
            Literal["dense", "bm25", "hybrid"] | None,
            Field(description="dense (meaning), bm25 (exact words) or hybrid (default)."),
        ] = None,
    ) -> Annotated[CallToolResult, SearchResponse]:
        def run() -> CallToolResult:
            try:
                response = run_search(get_state().index, query, k, Mode(mode) if mode else None)
            except (ServiceError, BylineError) as exc:
                return _failure(exc)
            return CallToolResult(
                content=_text(_search_text(response)),
                structured_content=response.model_dump(mode="json"),
            )

        return await anyio.to_thread.run_sync(run)

    @server.tool(
        name="ask_news",
        title="Answer from the news",
        description=(
            "Answer a question with sentences quoted verbatim from the indexed news articles, "
            "numbered [1], [2] with their sources. If the articles do not answer it, the result "
            "says so (answerable: false)."
        ),
    )
    async def ask_news(question: QueryArg) -> Annotated[CallToolResult, AskResponse]:
        def run() -> CallToolResult:
            try:
                state = get_state()
                hits = state.index.search(question, 5)
                answer = state.answerer.answer(question, hits)
                response = ask_response(question, hits, answer)
                rendered, _ = render(answer)
            except (ServiceError, BylineError) as exc:
                return _failure(exc)
            return CallToolResult(
                content=_text(_ask_text(response, rendered)),
                structured_content=response.model_dump(mode="json"),
            )

        return await anyio.to_thread.run_sync(run)

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
        def run() -> CallToolResult:
            try:
                indexed = get_state().index.get(doc_id)
            except (ServiceError, BylineError) as exc:
                return _failure(exc)
            document = indexed.document
            detail = DocumentDetail(
                doc_id=document.doc_id,
                passages=len(indexed.passages),
                text=document.text,
                **document.metadata(),
            )
            header = f"{document.title or document.doc_id}" + (
                f" ({document.publisher})" if document.publisher else ""
            )
            return CallToolResult(
                content=_text(f"{header}\n\n{document.text}"),
                structured_content=detail.model_dump(mode="json"),
            )

        return await anyio.to_thread.run_sync(run)

    return server
