"""POST /documents/fetch and `byline ingest` against a real local news site."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from index.documents import Document
from index.extract import doc_id_for
from service.cli import app
from tests.conftest import ClientFactory
from tests.news_site import Site, pages_from, serve


@pytest.fixture
def site(seed_documents: list[Document]) -> Iterator[Site]:
    with serve(Site(pages_from(seed_documents))) as served:
        yield served


@pytest.fixture
def index_dir(seed_index_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(seed_index_dir, copy)
    return copy


def test_fetch_indexes_each_url_and_reports_each_failure(
    site: Site, make_client: ClientFactory, index_dir: Path
) -> None:
    client = make_client(index_dir, fetch_allow_private=True, api_key="k" * 32)
    page = site.pages[2]
    urls = [site.url(page) + "?utm_source=newsletter", site.base + "/nowhere", "gopher://x/"]
    headers = {"Authorization": "Bearer " + "k" * 32}
    assert client.post("/documents/fetch", json={"urls": urls}).status_code == 401
    got = client.post("/documents/fetch", json={"urls": urls}, headers=headers)
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["count"], body["failed"]) == (3, 2)
    added, missing, gopher = body["data"]
    assert added["status"] == "added"
    assert added["doc_id"] == doc_id_for(site.url(page))
    assert "HTTP 404" in missing["error"]
    assert "only http and https" in gopher["error"]
    document = client.get(f"/documents/{added['doc_id']}").json()
    assert document["url"] == site.url(page)
    assert document["publisher"] == page.publisher
    assert document["published"] == page.published.date().isoformat()
    # Scoped to its publisher and week, a search finds the fetched article's passages only.
    found = client.get(
        "/search",
        params={
            "q": "Kremlin negotiations",
            "publisher": page.publisher,
            "published_after": page.published.date().isoformat(),
        },
    ).json()
    assert found["results"]
    for result in found["results"]:
        source = result["source"]
        assert source["doc_id"] == added["doc_id"]
        assert document["text"][source["char_start"] : source["char_end"]] == result["text"]


def test_fetch_refuses_private_addresses_by_default_and_bad_requests_in_words(
    site: Site, make_client: ClientFactory, index_dir: Path
) -> None:
    client = make_client(index_dir)
    got = client.post("/documents/fetch", json={"url": site.url(site.pages[0])})
    assert got.status_code == 200
    assert "BYLINE_FETCH_ALLOW_PRIVATE" in got.json()["data"][0]["error"]
    both = client.post("/documents/fetch", json={"url": "http://a/", "urls": ["http://b/"]})
    assert both.status_code == 422
    assert "either 'url' or 'urls'" in both.json()["error"]["message"]
    many = client.post("/documents/fetch", json={"urls": [f"http://a/{i}" for i in range(21)]})
    assert many.status_code == 422
    assert "BYLINE_MAX_FETCH_URLS" in many.json()["error"]["message"]


def test_byline_ingest_reads_a_feed_and_a_sitemap(site: Site, tmp_path: Path) -> None:
    runner = CliRunner()
    index_dir = str(tmp_path / "index")
    feed = site.base + "/feed.rss"
    first = runner.invoke(app, ["ingest", feed, "--index-dir", index_dir, "--allow-private"])
    assert first.exit_code == 0, first.output
    assert f"{len(site.pages)} added" in first.output
    again = runner.invoke(
        app, ["ingest", site.base + "/sitemap.xml", "--index-dir", index_dir, "--allow-private"]
    )
    assert f"{len(site.pages)} unchanged" in again.output
    refused = runner.invoke(app, ["ingest", feed, "--index-dir", index_dir])
    assert refused.exit_code == 1
    assert "BYLINE_FETCH_ALLOW_PRIVATE" in refused.output


def test_chat_reads_a_time_phrase_as_a_date_filter_and_says_so(
    site: Site, make_client: ClientFactory, tmp_path: Path
) -> None:
    client = make_client(tmp_path / "dated", fetch_allow_private=True)
    fetched = client.post(
        "/documents/fetch", json={"urls": [site.url(p) for p in site.pages]}
    ).json()
    assert fetched["failed"] == 0
    published = {
        d["doc_id"]: p.published.date() for d, p in zip(fetched["data"], site.pages, strict=True)
    }
    asked = {
        "model": "byline",
        "messages": [{"role": "user", "content": "what did the Kremlin say last week?"}],
        "date": "2024-08-19",
    }
    reply = client.post("/v1/chat/completions", json=asked).json()
    content = reply["choices"][0]["message"]["content"]
    assert content.endswith("(Searched articles published from 12 August 2024 to 18 August 2024.)")
    assert reply["period"] == {
        "published_after": "2024-08-12",
        "published_before": "2024-08-19",
        "phrase": "last week",
    }
    assert reply["citations"]
    for citation in reply["citations"]:
        assert "2024-08-12" <= published[citation["doc_id"]].isoformat() < "2024-08-19"
    # Filters given in the request win over the phrase.
    scoped = client.post(
        "/v1/chat/completions", json={**asked, "published_after": "2024-08-01"}
    ).json()
    assert scoped["period"] is None
