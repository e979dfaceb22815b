"""Fixtures shared by all tests: the real packaged model, the seed corpus, a built index."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import pytest
from fastapi.testclient import TestClient

from index.chunking import ChunkingParams
from index.config import IndexConfig, MilvusConfig
from index.documents import Document, load_documents
from index.embedding import Embedder, Vectors, WrappedEmbedder
from index.engine import NewsIndex
from service.app import create_app
from service.settings import Settings
from tests.milvus import MilvusServer, collection_name

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


def pytest_configure(config: pytest.Config) -> None:
    """One ONNX export per test run, and fp32, shared with the `byline` processes the tests
    start."""
    if "BYLINE_MODEL_CACHE" not in os.environ:
        cache = Path(tempfile.mkdtemp(prefix="byline-test-models-"))
        os.environ["BYLINE_MODEL_CACHE"] = str(cache)
        config.add_cleanup(lambda: shutil.rmtree(cache, ignore_errors=True))
    # fp32 whatever the CPU: the tests compare vectors with sentence-transformers' and hold
    # quality floors measured in fp32. `auto` has its own tests (tests/service/test_settings.py).
    os.environ.setdefault("BYLINE_EMBED_PRECISION", "fp32")


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The embedder Byline serves with by default (ONNX, fp32), from the packaged model."""
    return Settings().load_embedder()


@pytest.fixture(scope="session")
def params(embedder: Embedder) -> ChunkingParams:
    return Settings().chunking(embedder.max_tokens)


@pytest.fixture(scope="session")
def seed_documents() -> list[Document]:
    return load_documents([SEEDS])


@pytest.fixture(scope="session")
def index_config() -> IndexConfig:
    """The configuration every entry point uses, from the (test) environment."""
    return Settings().index_config()


class IndexFactory(Protocol):
    def __call__(self, embedder_: Embedder | None = None, /, **config: Any) -> NewsIndex: ...


@pytest.fixture
def make_index(
    embedder: Embedder, index_config: IndexConfig, tmp_path: Path
) -> Iterator[IndexFactory]:
    """A new, empty index in its own directory (any IndexConfig field overridden), closed
    after the test."""
    opened: list[NewsIndex] = []

    def build(embedder_: Embedder | None = None, /, **config: Any) -> NewsIndex:
        config.setdefault("index_dir", tmp_path / f"index-{len(opened)}")
        index = NewsIndex.open(replace(index_config, **config), embedder_ or embedder)
        opened.append(index)
        return index

    yield build
    for index in opened:
        index.close()


@pytest.fixture(scope="session")
def seed_index_dir(
    embedder: Embedder,
    index_config: IndexConfig,
    seed_documents: list[Document],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The seed corpus indexed once, closed: tests copy it or serve it read-only."""
    directory = tmp_path_factory.mktemp("seed") / "index"
    index = NewsIndex.open(replace(index_config, index_dir=directory), embedder)
    index.upsert(seed_documents)
    index.close()
    return directory


@pytest.fixture(scope="session")
def seed_index(
    embedder: Embedder,
    index_config: IndexConfig,
    seed_index_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[NewsIndex]:
    """A copy of the seed index, open for the session; tests must not change it."""
    directory = tmp_path_factory.mktemp("seed-open") / "index"
    shutil.copytree(seed_index_dir, directory)
    index = NewsIndex.open(replace(index_config, index_dir=directory), embedder)
    yield index
    index.close()


class CountingEmbedder(WrappedEmbedder):
    """The real embedder, counting the texts it embeds (to prove what is not re-embedded)."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.embedded = 0

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        self.embedded += len(texts)
        return self.inner.embed(texts, progress=progress)


def wait_ready(client: TestClient, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get("/ready")
        if response.status_code == 200:
            return
        time.sleep(0.05)
    raise AssertionError(f"service not ready after {timeout} s: {client.get('/ready').json()}")


class ClientFactory(Protocol):
    def __call__(self, index_dir: Path, **settings: Any) -> TestClient: ...


@pytest.fixture
def make_client(embedder: Embedder) -> Iterator[ClientFactory]:
    """Start the real app on an index directory, with any other settings, sharing the
    session's loaded model."""
    clients: list[TestClient] = []

    def start(index_dir: Path, **settings: Any) -> TestClient:
        app = create_app(Settings(index_dir=index_dir, **settings), embedder=embedder)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        wait_ready(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusServer]:
    """One real `milvus-lite server` on 127.0.0.1 for the session; tests use their own
    collections on it (`tests.milvus.collection_name`)."""
    server = MilvusServer(tmp_path_factory.mktemp("milvus") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def milvus_seed_collection(
    milvus_server: MilvusServer,
    embedder: Embedder,
    index_config: IndexConfig,
    seed_documents: list[Document],
) -> str:
    """The seed corpus indexed once into a Milvus collection; tests must not change it."""
    name = collection_name()
    config = replace(
        index_config, backend="milvus", milvus=MilvusConfig(uri=milvus_server.uri, collection=name)
    )
    index = NewsIndex.open(config, embedder)
    index.upsert(seed_documents)
    index.close()
    return name
