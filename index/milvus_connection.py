"""Talking to Milvus: the client, queries past its row limit, its errors as Byline's, and
filter expressions' literals."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pymilvus  # noqa: F401 -- absent where Milvus is not installed: config.py says so

from index.config import MilvusConfig
from index.errors import StoreUnavailableError

log = logging.getLogger(__name__)

_NOT_LOADED = 101
_MAX = 16_384
"""The most rows one query returns."""
_QUERY_BATCH = 4_000


def quote(value: str) -> str:
    """A Milvus filter string literal; user text is never syntax (milvus-lite has no filter
    templates, so values are escaped rather than bound)."""
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


def strings(values: Iterable[str]) -> str:
    return "[" + ",".join(quote(v) for v in sorted(values)) + "]"


def ints(values: Iterable[int]) -> str:
    return "[" + ",".join(str(int(v)) for v in values) + "]"


def casefold(name: str | None) -> str:
    return name.strip().casefold() if name and name.strip() else ""


def connect(config: MilvusConfig) -> Any:
    """A client of the configured deployment."""
    from pymilvus import MilvusClient

    with engine_errors(config):
        return MilvusClient(
            uri=config.uri,
            token=config.token or "",
            db_name=config.db_name or "",
            timeout=config.timeout_seconds,
        )


def query_all(
    client: Any, collection: str, expr: str, fields: list[str], limit: int | None = None
) -> list[dict[str, Any]]:
    """Every row matching `expr` (a query returns at most 16,384: more through an
    iterator, which Milvus Lite cannot pin to one timestamp)."""
    found = list(
        client.query(collection, filter=expr, output_fields=fields, limit=min(limit or _MAX, _MAX))
    )
    if len(found) < _MAX or (limit is not None and limit <= _MAX):
        return found
    iterator = client.query_iterator(
        collection, batch_size=_QUERY_BATCH, filter=expr, output_fields=fields
    )
    found = []
    try:
        while batch := iterator.next():
            found += batch
    finally:
        iterator.close()
    return found


class ReloadingClient:
    """The Milvus client, loading the collections again when a restarted server has released
    them (Milvus Lite does not remember what was loaded; a cluster does) and retrying once."""

    def __init__(self, client: Any, collections: list[str]) -> None:
        self._client = client
        self._collections = collections

    def __getattr__(self, name: str) -> Any:
        from pymilvus.exceptions import MilvusException

        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except MilvusException as exc:
                if exc.code != _NOT_LOADED:
                    raise
                log.warning("Milvus released the collections (a restart?): loading them again")
                for collection in self._collections:
                    self._client.load_collection(collection)
                return method(*args, **kwargs)

        return call


@contextmanager
def engine_errors(config: MilvusConfig) -> Iterator[None]:
    """Errors of the engine or the network, as a 503 that names the setting to check."""
    from pymilvus.exceptions import MilvusException

    try:
        yield
    except MilvusException as exc:
        raise StoreUnavailableError(
            f"Milvus at {config.uri} failed: {exc.message} (code {exc.code}); check that it "
            "runs and that BYLINE_MILVUS_URI (and BYLINE_MILVUS_TOKEN, BYLINE_MILVUS_DB) "
            "point to it"
        ) from exc
    except (ConnectionError, TimeoutError, OSError) as exc:
        raise StoreUnavailableError(
            f"Milvus at {config.uri} cannot be reached ({exc}); check that it runs and that "
            "BYLINE_MILVUS_URI points to it"
        ) from exc
