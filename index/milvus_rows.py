"""A document version as rows of the Milvus collections, and rows back as documents and
passages (the fields are index/milvus_schema.py's)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from index.archive import Keys, NewVersion, Passage, Vectors
from index.documents import Document, published_timestamp
from index.errors import InvalidDocumentError
from index.milvus_connection import casefold
from index.milvus_schema import PAD_DIMENSION, SHORT_BYTES, VARCHAR_BYTES

TEXT_PART = 16_000
"""Characters per stored text part: at most 4 UTF-8 bytes each, within a VARCHAR's 65,535."""
PASSAGE_FIELDS = ["key", "doc_id", "version", "ordinal", "char_start", "char_end"]


def head_row(number: int, version: NewVersion) -> dict[str, Any]:
    """The `documents` row that makes version `number` its document's current one."""
    document = version.document
    published = published_timestamp(document.published)
    return {
        "doc_id": document.doc_id,
        "version": number,
        "checksum": document.checksum,
        "publisher": _fit(casefold(document.publisher), "publisher", document.doc_id),
        "publisher_name": _fit(document.publisher, "publisher", document.doc_id),
        "published": -1 if published is None else published,
        "dated": published is not None,
        "pad": [0.0] * PAD_DIMENSION,
    }


def text_rows(number: int, document: Document) -> list[dict[str, Any]]:
    """The `versions` rows of version `number`: its text in parts, its metadata in the first."""
    meta = json.dumps(document.metadata())
    text = document.text
    parts = [text[i : i + TEXT_PART] for i in range(0, len(text), TEXT_PART)] or [""]
    return [
        {
            "part_id": f"{number}:{i}",
            "doc_id": document.doc_id,
            "version": number,
            "part": i,
            "parts": len(parts),
            "text": part,
            "meta": meta if i == 0 else "",
            "pad": [0.0] * PAD_DIMENSION,
        }
        for i, part in enumerate(parts)
    ]


def passage_rows(
    number: int,
    version: NewVersion,
    vectors: Vectors,
    fingerprints: Keys,
    terms: Callable[[Sequence[str]], list[str]],
) -> list[dict[str, Any]]:
    """The `passages` rows of version `number`; `terms` analyzes passage texts for BM25."""
    document = version.document
    text = document.text
    published = published_timestamp(document.published)
    common = {
        "doc_id": document.doc_id,
        "version": number,
        "published": -1 if published is None else published,
        "dated": published is not None,
        "publisher": _fit(casefold(document.publisher), "publisher", document.doc_id),
        "url": _fit(document.url, "url", document.doc_id),
    }
    _fit(document.title, "title", document.doc_id)
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    analyzed = terms([text[start:end] for start, end in version.spans])
    return [
        {
            **common,
            "ordinal": ordinal,
            "char_start": start,
            "char_end": end,
            "fingerprint": int(fp),
            "vector": matrix[ordinal].tolist(),
            "text": _keyword_text(words),
        }
        for ordinal, ((start, end), fp, words) in enumerate(
            zip(version.spans, fingerprints, analyzed, strict=True)
        )
    ]


def document_of(parts: Sequence[dict[str, Any]]) -> Document:
    """The document of one version's `versions` rows, in the order of their parts."""
    meta = json.loads(parts[0]["meta"])
    return Document(
        doc_id=str(parts[0]["doc_id"]),
        text="".join(str(p["text"]) for p in parts),
        **meta,
    )


def passage_of(row: dict[str, Any]) -> Passage:
    return Passage(
        str(row["doc_id"]),
        int(row["ordinal"]),
        int(row["char_start"]),
        int(row["char_end"]),
        int(row["key"]),
    )


def _fit(value: str | None, what: str, doc_id: str) -> str:
    text = value or ""
    if len(text.encode("utf-8")) > SHORT_BYTES:
        raise InvalidDocumentError(
            f"{doc_id}: the {what} is longer than {SHORT_BYTES} bytes, the most the Milvus "
            "archive keeps"
        )
    return text


def _keyword_text(text: str) -> str:
    """The passage text for BM25, cut to what a VARCHAR holds (attribution reads the document)."""
    data = text.encode("utf-8")
    return text if len(data) <= VARCHAR_BYTES else data[:VARCHAR_BYTES].decode("utf-8", "ignore")
