"""The corpus: list, read, add or replace, and delete articles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response, status

from index.documents import Document, derived_doc_id
from index.engine import IndexedDocument
from service.deps import IndexDep, StateDep
from service.errors import ServiceError
from service.schemas import (
    ERROR_RESPONSES,
    DocumentDetail,
    DocumentList,
    DocumentsIn,
    DocumentSummary,
    ErrorResponse,
    IngestedDocument,
    IngestResponse,
)

router = APIRouter(prefix="/documents", tags=["documents"], responses=ERROR_RESPONSES)

MAX_PAGE = 500
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No document with that id."}
}


def _summary(indexed: IndexedDocument) -> DocumentSummary:
    document = indexed.document
    return DocumentSummary(
        doc_id=document.doc_id,
        passages=len(indexed.passages),
        **document.metadata(),
    )


@router.get("", operation_id="list_documents", summary="List the indexed articles")
def list_documents(
    index: IndexDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")] = 50,
    offset: Annotated[int, Query(ge=0, description="Documents to skip.")] = 0,
) -> DocumentList:
    documents = index.documents()
    page = documents[offset : offset + limit]
    return DocumentList(data=[_summary(d) for d in page], count=len(documents))


@router.get(
    "/{doc_id}",
    operation_id="get_document",
    summary="Get one article's full original text and metadata",
    description=(
        "Returns the article's original text, so that any passage can be checked: "
        "`text[char_start:char_end]` is exactly the passage search returned."
    ),
    responses=_NOT_FOUND,
)
def get_document(index: IndexDep, doc_id: str) -> DocumentDetail:
    indexed = index.get(doc_id)
    return DocumentDetail(**_summary(indexed).model_dump(), text=indexed.document.text)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="add_documents",
    summary="Add or replace articles (one record or a list)",
    description=(
        "Indexes the articles and saves the index before answering. An existing id is replaced."
    ),
    responses={422: {"model": ErrorResponse, "description": "A record is invalid."}},
)
def add_documents(state: StateDep, records: Annotated[DocumentsIn, Body()]) -> IngestResponse:
    items = records if isinstance(records, list) else [records]
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
    results = state.upsert(documents)
    data = [
        IngestedDocument(doc_id=r.doc_id, passages=r.passages, status=r.change.value)
        for r in results
    ]
    return IngestResponse(data=data, count=len(data))


@router.delete(
    "/{doc_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_document",
    summary="Delete an article and its passages",
    responses=_NOT_FOUND,
)
def delete_document(state: StateDep, doc_id: str) -> Response:
    state.delete(doc_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
