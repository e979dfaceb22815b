"""The application layer: one function per use case, for every front end.

HTTP routes, the OpenAI-compatible chat, the MCP tools and the CLI translate their transport
into a typed request, call one of these, and translate the typed result back. Nothing here
knows HTTP; the errors raised are the core's (index/errors.py) and `ServiceError`, which each
front end reports in its own shape.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as clock
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from index.answer import Answer
from index.archive import DocumentOrder, SearchFilter
from index.documents import Document, derived_doc_id
from index.engine import Hit, IndexedDocument, NewsIndex
from index.feeds import Entry
from index.fusion import Mode
from index.ingest import WebIngest
from index.periods import Period, find_period, without_phrase
from index.web import Fetcher
from service.errors import ServiceError, describe_validation_errors
from service.schemas import (
    AlsoIn,
    AskRequest,
    AskResponse,
    BatchSearchRequest,
    BatchSearchResponse,
    Citation,
    DocumentDetail,
    DocumentIn,
    DocumentList,
    DocumentSummary,
    FetchedDocument,
    FetchRequest,
    FetchResponse,
    IngestedDocument,
    IngestResponse,
    Moment,
    PublisherList,
    PublisherSummary,
    Scope,
    SearchRequest,
    SearchResponse,
    SearchResult,
    Source,
    SpeakerList,
    SpeakerRef,
    SpeakerSummary,
    StatementResult,
    StatementsRequest,
    StatementsResponse,
)

if TYPE_CHECKING:
    from service.state import ServiceState

RequestT = TypeVar("RequestT", bound=BaseModel)


def make(
    model: type[RequestT],
    *,
    given_as: str | None = None,
    names: Mapping[str, str] | None = None,
    **fields: object,
) -> RequestT:
    """A typed request from a front end's own arguments; invalid ones are a 422 that says
    what to fix, in every front end's error shape. `given_as` ("query", "body") names where
    the arguments came from, for the message; `names` gives the front end's name of each
    field it renames (GET /search's `q` is `query`), and its order is the messages' order."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        errors = exc.errors()
        if names:
            errors = _in_front_end_terms(errors, names)
        if given_as is not None:
            errors = [{**e, "loc": (given_as, *e.get("loc", ()))} for e in errors]
        raise ServiceError(422, "invalid_request", describe_validation_errors(errors)) from None


def _in_front_end_terms(errors: list[Any], names: Mapping[str, str]) -> list[Any]:
    """Errors under the front end's names for the fields, in its order of them (pydantic
    reports them in the model's)."""
    order = {field: i for i, field in enumerate(names)}

    def field(error: Any) -> str:
        return str(error["loc"][0]) if error.get("loc") else ""

    ordered = sorted(errors, key=lambda e: order.get(field(e), len(order)))
    return [
        {**e, "loc": (names.get(field(e), field(e)), *e["loc"][1:])} if e.get("loc") else e
        for e in ordered
    ]


# -- scope -----------------------------------------------------------------------------------


def _seconds(moment: Moment) -> int:
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, clock.min)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def to_filter(scope: Scope) -> SearchFilter | None:
    """The core's filter for a request's scope (None when it restricts nothing)."""
    after = None if scope.published_after is None else _seconds(scope.published_after)
    before = None if scope.published_before is None else _seconds(scope.published_before)
    if after is not None and before is not None and after >= before:
        raise ServiceError(
            422,
            "invalid_request",
            f"published_after ({scope.published_after}) must be earlier than published_before "
            f"({scope.published_before})",
        )
    found = SearchFilter(
        published_after=after,
        published_before=before,
        publishers=frozenset(p.strip().casefold() for p in scope.publisher or () if p.strip()),
        doc_ids=frozenset(scope.doc_id or ()),
    )
    return None if found.empty else found


# -- search ----------------------------------------------------------------------------------


def to_result(hit: Hit) -> SearchResult:
    document, passage = hit.document, hit.passage
    return SearchResult(
        rank=hit.rank,
        score=hit.score,
        passage_id=passage.passage_id,
        text=hit.text,
        source=Source(
            doc_id=document.doc_id,
            title=document.title,
            publisher=document.publisher,
            url=document.url,
            published=document.published,
            char_start=passage.start,
            char_end=passage.end,
        ),
        also_in=[
            AlsoIn(doc_id=d.doc_id, title=d.title, char_start=p.start, char_end=p.end)
            for p, d in hit.also_in
        ],
    )


def _undated(index: NewsIndex, search_filter: SearchFilter | None) -> int | None:
    return index.undated_documents() if search_filter is not None and search_filter.dated else None


def _hits(
    index: NewsIndex,
    queries: Sequence[str],
    k: int,
    request: Scope,
    mode: Mode | None,
    search_filter: SearchFilter | None,
) -> list[list[Hit]]:
    """The searches of a request, under its filter (`to_filter(request)`, built once by the
    caller, which needs it too)."""
    return index.search_many(
        queries,
        k,
        mode,
        search_filter,
        sort=request.sort,
        recency_half_life_days=request.recency_half_life_days,
    )


def search(index: NewsIndex, request: SearchRequest) -> SearchResponse:
    """The passages that best answer a query, with their sources."""
    started = time.perf_counter()
    search_filter = to_filter(request)
    hits = _hits(index, [request.query], request.k, request, request.mode, search_filter)[0]
    return SearchResponse(
        query=request.query,
        took_ms=round((time.perf_counter() - started) * 1000, 3),
        results=[to_result(h) for h in hits],
        undated_documents=_undated(index, search_filter),
    )


def search_batch(index: NewsIndex, request: BatchSearchRequest) -> BatchSearchResponse:
    """`search` for many queries, their embeddings computed together."""
    started = time.perf_counter()
    search_filter = to_filter(request)
    batches = _hits(index, request.queries, request.k, request, request.mode, search_filter)
    took_ms = round((time.perf_counter() - started) * 1000, 3)
    undated = _undated(index, search_filter)
    return BatchSearchResponse(
        took_ms=took_ms,
        responses=[
            SearchResponse(
                query=q,
                took_ms=took_ms,
                results=[to_result(h) for h in hits],
                undated_documents=undated,
            )
            for q, hits in zip(request.queries, batches, strict=True)
        ],
    )


# -- ask -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AskResult:
    """An answer with what it drew on: every front end renders this in its own form."""

    question: str
    hits: list[Hit]
    answer: Answer

    def citations(self) -> list[Citation]:
        if not self.answer.answerable:
            return []
        return [
            Citation(
                passage_id=q.passage.passage_id,
                doc_id=q.document.doc_id,
                title=q.document.title,
                url=q.document.url,
                publisher=q.document.publisher,
                quote=q.text,
                char_start=q.start,
                char_end=q.end,
                speaker=q.speaker,
            )
            for q in self.answer.quotes
        ]

    def response(self) -> AskResponse:
        return AskResponse(
            question=self.question,
            answer=self.answer.text,
            answerable=self.answer.answerable,
            shape=self.answer.shape,
            confidence=round(self.answer.confidence, 4),
            citations=self.citations(),
            passages=[to_result(h) for h in self.hits],
        )


def ask(state: ServiceState, request: AskRequest, *, query: str | None = None) -> AskResult:
    """Answer a question with quotes. `query` searches with other words than the question
    (the chat's follow-ups carry the previous question's topic)."""
    index, answerer = state.index, state.answerer
    # The answer reads deeper than the passages shown: its sentence may rank below k.
    depth = max(request.k, answerer.depth)
    search_filter = to_filter(request)
    queries = [query or request.question]
    hits = _hits(index, queries, depth, request, request.mode, search_filter)[0]
    answer = answerer.answer(request.question, hits, search_filter)
    return AskResult(request.question, hits[: request.k], answer)


def in_period(
    request: AskRequest, query: str, today: date
) -> tuple[AskRequest, str, Period | None]:
    """A question that names a period ("this week", "in August 2024") asked within it, and
    searched and answered without the phrase ("what did the Kremlin say last week" asks what
    it said, not what it said about last week); filters the request gives itself take
    precedence."""
    if request.published_after is not None or request.published_before is not None:
        return request, query, None
    period = find_period(request.question, today)
    if period is None:
        return request, query, None
    scoped = request.model_copy(
        update={
            "published_after": period.start,
            "published_before": period.end,
            "question": without_phrase(request.question, period),
        }
    )
    return scoped, without_phrase(query, period), period


# -- who said what --------------------------------------------------------------------------


def statements(state: ServiceState, request: StatementsRequest) -> StatementsResponse:
    """A speaker's statements, about `q` when given, best first; an unknown speaker is an
    empty list."""
    found = state.statements
    keys = found.speaker_keys(request.speaker)
    speaker = found.speaker(keys)
    said = found.by(keys, request.q, request.k, to_filter(request))
    results = [
        StatementResult(
            speaker=SpeakerRef(name=s.statement.speaker_name, description=s.statement.description),
            quote=s.quote,
            kind="direct" if s.statement.kind == "direct" else "reported",
            doc_id=s.document.doc_id,
            title=s.document.title,
            publisher=s.document.publisher,
            url=s.document.url,
            published=s.document.published,
            char_start=s.statement.start,
            char_end=s.statement.end,
            speaker_start=s.statement.speaker_start,
            speaker_end=s.statement.speaker_end,
            score=round(s.score, 4),
            also_in=[
                AlsoIn(doc_id=d.doc_id, title=d.title, char_start=o.start, char_end=o.end)
                for o, d in s.also_in
            ],
        )
        for s in said
    ]
    who = (
        None if speaker is None else SpeakerRef(name=speaker.name, description=speaker.description)
    )
    return StatementsResponse(speaker=who, results=results)


def speakers(state: ServiceState, query: str | None, limit: int, offset: int) -> SpeakerList:
    """The people and organisations quoted, most quoted first; `query` finds a name."""
    found, total = state.statements.speakers(query, limit, offset)
    data = [
        SpeakerSummary(
            name=s.name, description=s.description, statements=s.statements, documents=s.documents
        )
        for s in found
    ]
    return SpeakerList(data=data, count=total)


# -- documents -------------------------------------------------------------------------------


def _summary(indexed: IndexedDocument) -> DocumentSummary:
    return DocumentSummary(
        doc_id=indexed.document.doc_id,
        passages=len(indexed.passages),
        **indexed.document.metadata(),
    )


def get_document(index: NewsIndex, doc_id: str) -> DocumentDetail:
    """One article's original text and metadata."""
    indexed = index.get(doc_id)
    return DocumentDetail(**_summary(indexed).model_dump(), text=indexed.document.text)


def list_documents(
    index: NewsIndex, scope: Scope, order: DocumentOrder, limit: int, offset: int
) -> DocumentList:
    """A page of the articles in scope, and how many there are."""
    documents, total = index.page(to_filter(scope), order, limit, offset)
    return DocumentList(data=[_summary(d) for d in documents], count=total)


def list_publishers(index: NewsIndex) -> PublisherList:
    """Publishers with their article counts and date ranges."""

    def moment(seconds: int | None) -> datetime | None:
        return None if seconds is None else datetime.fromtimestamp(seconds, UTC)

    data = [
        PublisherSummary(
            name=p.name,
            documents=p.documents,
            first_published=moment(p.first_published),
            last_published=moment(p.last_published),
        )
        for p in index.publishers()
    ]
    return PublisherList(data=data, count=len(data))


def add_documents(state: ServiceState, items: Sequence[DocumentIn]) -> IngestResponse:
    """Index articles (durable when it returns); the limits are the settings'."""
    limits = state.settings
    if not items:
        raise ServiceError(422, "invalid_request", "request body: give at least one document")
    if len(items) > limits.max_documents_per_request:
        raise ServiceError(
            422,
            "invalid_request",
            f"request body: {len(items)} documents; send at most "
            f"{limits.max_documents_per_request} per request (BYLINE_MAX_DOCUMENTS_PER_REQUEST)",
        )
    for number, item in enumerate(items):
        if len(item.text) > limits.max_document_chars:
            raise ServiceError(
                422,
                "invalid_request",
                f"document {number} ({item.id or 'no id'}): text has {len(item.text)} characters; "
                f"the limit is {limits.max_document_chars} (BYLINE_MAX_DOCUMENT_CHARS)",
            )
    documents = [
        Document(
            doc_id=item.id or derived_doc_id(item.text),
            text=item.text,
            title=item.title,
            publisher=item.publisher,
            url=item.url,
            published=item.published,
        )
        for item in items
    ]
    seen: set[str] = set()
    for document in documents:
        if document.doc_id in seen:
            raise ServiceError(
                422,
                "invalid_request",
                f"document id {document.doc_id!r} appears more than once in this request",
            )
        seen.add(document.doc_id)
    results = state.index.upsert(documents)
    data = [
        IngestedDocument(doc_id=r.doc_id, passages=r.passages, status=r.change.value)
        for r in results
    ]
    return IngestResponse(data=data, count=len(data))


def fetch_documents(state: ServiceState, request: FetchRequest) -> FetchResponse:
    """Fetch article pages, extract and index them; each URL gets its outcome, and one that
    fails (refused, unreachable, not an article) never stops the rest."""
    urls = request.all_urls()
    limit = state.settings.max_fetch_urls
    if len(urls) > limit:
        raise ServiceError(
            422,
            "invalid_request",
            f"request body: {len(urls)} URLs; send at most {limit} per request "
            "(BYLINE_MAX_FETCH_URLS), or use `byline ingest` for feeds and large batches",
        )
    index = state.index
    with Fetcher(state.settings.fetch_policy()) as fetcher:
        outcomes = WebIngest(index, fetcher).ingest_entries([Entry(url) for url in urls])
    data = [
        FetchedDocument(
            url=o.source,
            status="unchanged" if o.status == "not_modified" else o.status,
            doc_id=o.doc_id,
            title=o.title,
            duplicate_of=o.duplicate_of,
            error=o.error,
        )
        for o in outcomes
    ]
    failed = sum(1 for d in data if d.status == "failed")
    return FetchResponse(data=data, count=len(data), failed=failed)


def delete_document(state: ServiceState, doc_id: str) -> None:
    """Delete an article and its passages (durable when it returns)."""
    state.index.delete(doc_id)
