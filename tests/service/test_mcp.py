"""The MCP tools, driven by the official MCP SDK client over streamable HTTP and stdio."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult, TextContent

from eval.localserver import LocalServer


def _text(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


async def _exercise(target: Any, base_url: str | None) -> None:
    async with Client(target) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == {"search_news", "ask_news", "get_article", "who_said"}
        for tool in tools.values():
            assert tool.description
            assert len(tool.description) > 40
            assert tool.input_schema["properties"]
            assert tool.output_schema is not None
        assert tools["search_news"].input_schema["required"] == ["query"]

        found = await client.call_tool("search_news", {"query": "what did Zakharova say", "k": 3})
        assert not found.is_error
        results = found.structured_content["results"]
        assert len(results) == 3
        assert any("Zakharova" in r["text"] for r in results)
        assert "Zakharova" in _text(found)  # readable text for the model

        asked = await client.call_tool("ask_news", {"question": "were kids evacuated?"})
        answer = asked.structured_content
        assert answer["answerable"]
        assert answer["citations"]
        assert "[1]" in _text(asked)

        doc_id = answer["citations"][0]["doc_id"]
        article = await client.call_tool("get_article", {"doc_id": doc_id})
        text = article.structured_content["text"]
        for citation in answer["citations"]:
            if citation["doc_id"] == doc_id:
                assert text[citation["char_start"] : citation["char_end"]] == citation["quote"]
        if base_url:
            assert httpx.get(f"{base_url}/documents/{doc_id}").json()["text"] == text

        said = await client.call_tool("who_said", {"speaker": "zakharova", "topic": "peace talks"})
        statements = said.structured_content["results"]
        assert statements
        assert {r["speaker"]["name"] for r in statements} == {"Maria Zakharova"}
        for statement in statements:
            source = await client.call_tool("get_article", {"doc_id": statement["doc_id"]})
            body = source.structured_content["text"]
            assert body[statement["char_start"] : statement["char_end"]] == statement["quote"]
        assert "Maria Zakharova" in _text(said)
        nobody = await client.call_tool("who_said", {"speaker": "Angela Merkel"})
        assert nobody.structured_content["results"] == []

        missing = await client.call_tool("get_article", {"doc_id": "no-such-article"})
        assert missing.is_error
        assert "no document" in _text(missing)


def test_tools_over_streamable_http(live_server: LocalServer) -> None:
    asyncio.run(_exercise(f"{live_server.base_url}/mcp", live_server.base_url))


@pytest.mark.slow
def test_tools_over_stdio(seed_index_dir: Path) -> None:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "service.cli", "mcp", "--index-dir", str(seed_index_dir)],
    )
    asyncio.run(_exercise(server, None))
