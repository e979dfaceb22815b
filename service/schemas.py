"""Request and response models of the HTTP API."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
)

from index.documents import DOC_ID_PATTERN
from index.fusion import Mode

MAX_K = 50
DEFAULT_K = 5
MAX_QUERY_CHARS = 1000


# C0 controls other than tab and line breaks, DEL, and U+FFFD (what undecodable bytes become).
_QUERY_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must contain text, not only white space")
    return text


def _clean_query(text: str) -> str:
    _not_blank(text)
    bad = _QUERY_FORBIDDEN.search(text)
    if bad:
        raise ValueError(
            f"contains the control character or invalid byte {bad.group()!r} at position "
            f"{bad.start()}; send plain UTF-8 text"
        )
    return text


def _clean_document_text(text: str) -> str:
    _not_blank(text)
    if "\x00" in text:
        raise ValueError(f"contains a NUL character at position {text.index(chr(0))}; remove it")
    return text


QueryText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_QUERY_CHARS),
    AfterValidator(_clean_query),
]
K = Annotated[
    int, Field(ge=1, le=MAX_K, description=f"How many passages to return (1 to {MAX_K}).")
]
DocId = Annotated[str, StringConstraints(pattern=DOC_ID_PATTERN)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- health ---------------------------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    documents: int
    passages: int
    model: str


# -- search ---------------------------------------------------------------------------------


ModeField = Annotated[
    Mode | None,
    Field(
        description=(
            "dense (meaning), bm25 (keywords) or hybrid (both, the default). "
            "Leave it out unless you need one in particular."
        )
    ),
]


class SearchRequest(Strict):
    query: QueryText = Field(description="The question or keywords, in plain language.")
    k: K = DEFAULT_K
    mode: ModeField = None


MAX_BATCH = 64


class BatchSearchRequest(Strict):
    queries: list[QueryText] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} queries."
    )
    k: K = DEFAULT_K
    mode: ModeField = None


class Source(BaseModel):
    """Where a passage comes from: `text[char_start:char_end]` of the document is the passage."""

    doc_id: str
    title: str | None
    publisher: str | None
    url: str | None
    published: str | None
    char_start: int
    char_end: int


class AlsoIn(BaseModel):
    """Another passage that says the same thing, folded into this result."""

    doc_id: str
    title: str | None
    char_start: int
    char_end: int


class SearchResult(BaseModel):
    rank: int
    score: float = Field(description="Higher is better; comparable within one response only.")
    passage_id: str
    text: str
    source: Source
    also_in: list[AlsoIn] = Field(
        default_factory=list, description="Other sources carrying the same text or fact."
    )


class SearchResponse(BaseModel):
    query: str
    took_ms: float
    results: list[SearchResult]


class BatchSearchResponse(BaseModel):
    took_ms: float
    responses: list[SearchResponse] = Field(description="One per query, in the order given.")


# -- ask ------------------------------------------------------------------------------------


class AskRequest(Strict):
    question: QueryText = Field(description="A question about the news, in plain language.")
    k: K = DEFAULT_K
    mode: ModeField = None


class Citation(BaseModel):
    """A verbatim quote: `text[char_start:char_end]` of the document is `quote`."""

    passage_id: str
    doc_id: str
    title: str | None
    quote: str
    char_start: int
    char_end: int


class AskResponse(BaseModel):
    question: str
    answer: str | None = Field(
        description="Sentences quoted from the articles, or null when they do not answer."
    )
    answerable: bool
    confidence: float = Field(description="Similarity of the best quote to the question, 0-1.")
    citations: list[Citation]
    passages: list[SearchResult] = Field(description="The search results the answer drew on.")


# -- documents ------------------------------------------------------------------------------


class DocumentIn(Strict):
    """An article to index. `id` defaults to a hash of the text; an existing id is replaced."""

    id: DocId | None = Field(None, description="Stable id: letters, digits, '.', '_', ':', '-'.")
    text: Annotated[str, AfterValidator(_clean_document_text)] = Field(
        description="The article's full text, as published."
    )
    title: str | None = None
    publisher: str | None = None
    url: str | None = None
    published: str | None = Field(None, description="Publication date, ISO 8601 preferred.")


def _one_or_many(value: object) -> str:
    return "documents" if isinstance(value, list) else "document"


DocumentsIn = Annotated[
    Annotated[DocumentIn, Tag("document")] | Annotated[list[DocumentIn], Tag("documents")],
    Discriminator(_one_or_many),
]
"""One record or a list of them; errors name only the form that was sent."""
UNION_TAGS = frozenset({"document", "documents"})


class DocumentSummary(BaseModel):
    doc_id: str
    title: str | None
    publisher: str | None
    url: str | None
    published: str | None
    passages: int


class DocumentDetail(DocumentSummary):
    text: str = Field(description="The original text; passage offsets index into it.")


class DocumentList(BaseModel):
    data: list[DocumentSummary]
    count: int = Field(description="How many documents the index holds in all.")


class IngestedDocument(BaseModel):
    doc_id: str
    passages: int
    status: Literal["added", "replaced", "unchanged", "metadata_updated"]


class IngestResponse(BaseModel):
    data: list[IngestedDocument]
    count: int


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "Invalid input; the message says what to fix."}
}
"""Declared on every router, in place of FastAPI's default 422 body, which Byline never sends."""


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str


class OpenAIError(BaseModel):
    error: OpenAIErrorDetail
