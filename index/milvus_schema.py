"""The Milvus archive's four collections, named after `BYLINE_MILVUS_COLLECTION` (prefix `P`):

    P_passages   one row per passage version: key (auto id), doc_id, version, ordinal,
                 char_start, char_end, the filter columns (publisher, published, dated, url),
                 fingerprint, the dense vector, and the passage's terms (analyzed by Byline
                 as for the embedded archive) with Milvus's BM25 function
    P_versions   the original text of each document version (in parts of at most 16,000
                 characters: a VARCHAR holds 65,535 bytes) and its metadata; never changed
    P_documents  one row per current document: its current version (the "head")
    P_meta       what the archive was built with (the manifest) and the write journal

Here they are created, and existing ones checked: their vectors' dimension, their format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pymilvus  # noqa: F401 -- absent where Milvus is not installed: config.py says so

from index.archive import ArchiveInfo
from index.config import MilvusConfig
from index.errors import IndexCorruptError, IndexMismatchError
from index.milvus_connection import quote

FORMAT = "byline-milvus"
FORMAT_VERSION = 1
VARCHAR_BYTES = 65_535
SHORT_BYTES = 4_096
"""Bytes of a title, publisher or URL; a longer one is refused, not cut."""
PAD_DIMENSION = 2
"""Milvus wants a vector field in every collection; the bookkeeping ones carry a tiny one."""

_ANALYZER: dict[str, Any] = {
    # The text arrives analyzed (lower case, no stop words, stemmed: `MilvusArchive.terms`):
    # Milvus Lite knows only the standard tokenizer, without the english analyzer's stemmer.
    "tokenizer": "standard",
    "filter": ["lowercase"],
}


@dataclass(frozen=True, slots=True)
class CollectionNames:
    passages: str
    versions: str
    documents: str
    meta: str

    @classmethod
    def of(cls, prefix: str) -> CollectionNames:
        return cls(
            f"{prefix}_passages", f"{prefix}_versions", f"{prefix}_documents", f"{prefix}_meta"
        )

    def all(self) -> list[str]:
        return [self.passages, self.versions, self.documents, self.meta]


def ensure_collections(
    client: Any, names: CollectionNames, config: MilvusConfig, dimension: int
) -> None:
    """Create the collections that are missing and load the others, after checking that the
    existing passages hold vectors of `dimension`."""
    from pymilvus import DataType, Function, FunctionType

    existing = set(client.list_collections())
    if names.passages in existing:
        _check_schema(client, names, config, dimension)
    for name in names.all():
        if name in existing:
            client.load_collection(name)
            continue
        schema = client.create_schema(auto_id=name == names.passages)
        index = client.prepare_index_params()
        if name == names.passages:
            schema.add_field("key", DataType.INT64, is_primary=True)
            schema.add_field("doc_id", DataType.VARCHAR, max_length=256)
            schema.add_field("version", DataType.INT64)
            schema.add_field("published", DataType.INT64)
            schema.add_field("dated", DataType.BOOL)
            schema.add_field("ordinal", DataType.INT64)
            schema.add_field("char_start", DataType.INT64)
            schema.add_field("char_end", DataType.INT64)
            schema.add_field("publisher", DataType.VARCHAR, max_length=SHORT_BYTES)
            schema.add_field("url", DataType.VARCHAR, max_length=SHORT_BYTES)
            schema.add_field("fingerprint", DataType.INT64)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
            schema.add_field(
                "text",
                DataType.VARCHAR,
                max_length=VARCHAR_BYTES,
                enable_analyzer=True,
                analyzer_params=_ANALYZER,
            )
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(
                Function(
                    name="bm25",
                    function_type=FunctionType.BM25,
                    input_field_names=["text"],
                    output_field_names=["sparse"],
                )
            )
            index.add_index("vector", **_vector_index(config))
            index.add_index(
                "sparse",
                index_type="SPARSE_INVERTED_INDEX",
                metric_type="BM25",
                params={"bm25_k1": 1.2, "bm25_b": 0.75},
            )
        else:
            if name == names.versions:
                schema.add_field("part_id", DataType.VARCHAR, is_primary=True, max_length=64)
                schema.add_field("doc_id", DataType.VARCHAR, max_length=256)
                schema.add_field("version", DataType.INT64)
                schema.add_field("part", DataType.INT64)
                schema.add_field("parts", DataType.INT64)
                schema.add_field("text", DataType.VARCHAR, max_length=VARCHAR_BYTES)
                schema.add_field("meta", DataType.VARCHAR, max_length=VARCHAR_BYTES)
            elif name == names.documents:
                schema.add_field("doc_id", DataType.VARCHAR, is_primary=True, max_length=256)
                schema.add_field("version", DataType.INT64)
                schema.add_field("checksum", DataType.VARCHAR, max_length=64)
                schema.add_field("publisher", DataType.VARCHAR, max_length=SHORT_BYTES)
                schema.add_field("publisher_name", DataType.VARCHAR, max_length=SHORT_BYTES)
                schema.add_field("published", DataType.INT64)
                schema.add_field("dated", DataType.BOOL)
            else:
                schema.add_field("name", DataType.VARCHAR, is_primary=True, max_length=256)
                schema.add_field("value", DataType.VARCHAR, max_length=VARCHAR_BYTES)
            schema.add_field("pad", DataType.FLOAT_VECTOR, dim=PAD_DIMENSION)
            index.add_index("pad", index_type="FLAT", metric_type="L2")
        client.create_collection(
            name, schema=schema, index_params=index, consistency_level="Strong"
        )


def manifest(info: ArchiveInfo) -> dict[str, Any]:
    """The `meta` row "info": what the archive was built with, and the format it is in."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, **info.model_dump()}


def read_manifest(client: Any, names: CollectionNames, config: MilvusConfig) -> ArchiveInfo | None:
    """What the archive was built with (None for a new one); another format is refused."""
    rows = client.query(names.meta, filter=f"name == {quote('info')}", output_fields=["value"])
    if not rows:
        return None
    try:
        data = json.loads(rows[0]["value"])
        version = data.pop("format_version", None)
        data.pop("format", None)
        if version != FORMAT_VERSION:
            raise IndexCorruptError(
                f"the Milvus archive {config.collection} at {config.uri} has format "
                f"version {version}; this Byline reads {FORMAT_VERSION}. Rebuild it with "
                "`byline index --rebuild`, or set BYLINE_MILVUS_COLLECTION to another name"
            )
        return ArchiveInfo.model_validate(data)
    except (json.JSONDecodeError, ValueError) as exc:
        raise IndexCorruptError(
            f"the Milvus archive {config.collection}: unreadable manifest ({exc})"
        ) from exc


def _vector_index(config: MilvusConfig) -> dict[str, Any]:
    kind = config.index_type.upper()
    params: dict[str, Any] = {}
    if kind == "HNSW":
        params = {"M": 16, "efConstruction": 200}
    elif kind.startswith("IVF"):
        params = {"nlist": 1024}
    return {"index_type": kind, "metric_type": "IP", "params": params}


def search_params(config: MilvusConfig, depth: int) -> dict[str, Any]:
    """A dense search's parameters for the configured vector index, `depth` results deep."""
    kind = config.index_type.upper()
    if kind == "HNSW":
        return {"metric_type": "IP", "params": {"ef": max(2 * depth, 200)}}
    if kind.startswith("IVF"):
        return {"metric_type": "IP", "params": {"nprobe": 32}}
    return {"metric_type": "IP"}


def _check_schema(
    client: Any, names: CollectionNames, config: MilvusConfig, dimension: int
) -> None:
    described = client.describe_collection(names.passages)
    for field in described.get("fields", []):
        if field.get("name") == "vector":
            dim = int(field.get("params", {}).get("dim", 0))
            if dim != dimension:
                raise IndexMismatchError(
                    f"the Milvus collection {names.passages} at {config.uri} holds "
                    f"{dim}-dimensional vectors, but the configured model makes "
                    f"{dimension}; set BYLINE_MILVUS_COLLECTION to another name, or "
                    "rebuild it with `byline index --rebuild`"
                )
