"""Request and response models of the HTTP API."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)

from index.documents import DOC_ID_PATTERN, published_timestamp
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


def _iso_date(value: str) -> str:
    if published_timestamp(value) is None:
        raise ValueError(
            "is not an ISO 8601 date or date-time; use e.g. 2024-08-06 or 2024-08-06T14:30:00Z"
        )
    return value


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
    backend: str = Field(description="Where the archive lives: embedded or milvus.")


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


MAX_FILTER_VALUES = 100
Moment = date | datetime
Sort = Literal["relevance", "date"]


class Scope(Strict):
    """Which articles a search or an answer may draw on, and how results are ordered."""

    published_after: Moment | None = Field(
        None,
        description="Only articles published at or after this ISO date or date-time (UTC "
        "unless an offset is given). Articles without a date are left out.",
    )
    published_before: Moment | None = Field(
        None,
        description="Only articles published before this ISO date (exclusive: the day itself "
        "is left out) or date-time. Articles without a date are left out.",
    )
    publisher: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] | None = Field(
        None,
        max_length=MAX_FILTER_VALUES,
        description="Only these publishers (exact name, any case).",
    )
    doc_id: list[DocId] | None = Field(
        None, max_length=MAX_FILTER_VALUES, description="Only these articles."
    )
    sort: Sort = Field(
        "relevance", description="relevance (best first) or date (the best k, newest first)."
    )
    recency_half_life_days: float | None = Field(
        None,
        gt=0,
        le=36500,
        description="Prefer recent articles: a score halves for every this many days of age. "
        "Off by default.",
    )


class SearchRequest(Scope):
    query: QueryText = Field(description="The question or keywords, in plain language.")
    k: K = DEFAULT_K
    mode: ModeField = None


MAX_BATCH = 64


class BatchSearchRequest(Scope):
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
    undated_documents: int | None = Field(
        None,
        description="With a date filter: how many articles have no date, and so were left out.",
    )


class BatchSearchResponse(BaseModel):
    took_ms: float
    responses: list[SearchResponse] = Field(description="One per query, in the order given.")


# -- ask ------------------------------------------------------------------------------------


class AskRequest(Scope):
    question: QueryText = Field(description="A question about the news, in plain language.")
    k: K = DEFAULT_K
    mode: ModeField = None


class Citation(BaseModel):
    """A verbatim quote: `text[char_start:char_end]` of the document is `quote`."""

    passage_id: str
    doc_id: str
    title: str | None
    url: str | None = None
    publisher: str | None = None
    quote: str
    char_start: int
    char_end: int
    speaker: str | None = Field(
        None, description="Who said the quoted words, in answers about who said what."
    )


class AskResponse(BaseModel):
    question: str
    answer: str | None = Field(
        description="Sentences quoted from the articles, or null when they do not answer."
    )
    answerable: bool
    shape: str = Field(
        "other",
        description=(
            "How the question was read: said (what did X say), who_is, who_said, number, "
            "date, place, name (what is the name of) or other; the answer comes in kind."
        ),
    )
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
    published: Annotated[str, AfterValidator(_iso_date)] | None = Field(
        None, description="Publication date or date-time, ISO 8601 (e.g. 2024-08-06)."
    )


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
    count: int = Field(description="How many documents match (all of them without filters).")


class PublisherSummary(BaseModel):
    name: str
    documents: int
    first_published: datetime | None
    last_published: datetime | None


class PublisherList(BaseModel):
    data: list[PublisherSummary]
    count: int


class IngestedDocument(BaseModel):
    doc_id: str
    passages: int
    status: Literal["added", "replaced", "unchanged", "metadata_updated"]


class IngestResponse(BaseModel):
    data: list[IngestedDocument]
    count: int


class FetchRequest(Strict):
    """Articles to fetch from the web, extract and index: `url`, or `urls` for several."""

    url: str | None = Field(None, description="An article's URL (http or https).")
    urls: list[str] | None = Field(None, description="Several articles' URLs.")

    @model_validator(mode="after")
    def _one_of(self) -> FetchRequest:
        if (self.url is None) == (self.urls is None):
            raise ValueError("give either 'url' or 'urls'")
        if self.urls is not None and not self.urls:
            raise ValueError("'urls' is empty: give at least one URL")
        return self

    def all_urls(self) -> list[str]:
        return [self.url] if self.url is not None else list(self.urls or [])


class FetchedDocument(BaseModel):
    url: str
    status: Literal["added", "replaced", "unchanged", "metadata_updated", "duplicate", "failed"]
    doc_id: str | None = None
    title: str | None = None
    duplicate_of: str | None = Field(None, description="The stored article with this text.")
    error: str | None = Field(None, description="Why this URL was not indexed.")


class FetchResponse(BaseModel):
    data: list[FetchedDocument]
    count: int
    failed: int


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


# -- who said what ---------------------------------------------------------------------------


class StatementsRequest(Scope):
    speaker: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ] = Field(description="Full name or surname (case-insensitive), or an organisation.")
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = Field(
        None, description="What about: statements are ranked by it."
    )
    k: K = DEFAULT_K


class SpeakerRef(BaseModel):
    name: str
    description: str | None = Field(description="The role the articles give with the name.")


class StatementResult(BaseModel):
    speaker: SpeakerRef
    quote: str = Field(description="Exactly the article's text[char_start:char_end].")
    kind: Literal["direct", "reported"]
    doc_id: str
    title: str | None
    publisher: str | None
    url: str | None
    published: str | None
    char_start: int
    char_end: int
    speaker_start: int = Field(description="Where the speaker is named (text[start:end]).")
    speaker_end: int
    score: float = Field(description="Similarity to `q` (1.0 without one).")
    also_in: list[AlsoIn] = Field(
        default_factory=list, description="Other articles carrying the same statement."
    )


class StatementsResponse(BaseModel):
    speaker: SpeakerRef | None = Field(
        description="Who the name was taken to mean; null if no one."
    )
    results: list[StatementResult]


class SpeakerSummary(BaseModel):
    name: str
    description: str | None
    statements: int
    documents: int


class SpeakerList(BaseModel):
    data: list[SpeakerSummary]
    count: int
