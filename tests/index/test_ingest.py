"""News in from the web, against a real HTTP server on 127.0.0.1 serving the seed articles as
a news site: extraction, feeds, sitemaps, dedupe, failures, refusals, conditional polling."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from index.documents import Document
from index.errors import InvalidDocumentError
from index.extract import canonical_url, doc_id_for, extract_article
from index.ingest import WebIngest
from index.watch import STATE_FILE, Watcher
from index.web import Fetcher, FetchError, FetchPolicy, check_url
from tests.conftest import IndexFactory
from tests.news_site import BOILERPLATE, Site, pages_from, render, serve

LOCAL = FetchPolicy(allowed_networks=("127.0.0.1/32",), timeout_seconds=2, max_bytes=200_000)


@pytest.fixture
def site(seed_documents: list[Document]) -> Iterator[Site]:
    with serve(Site(pages_from(seed_documents))) as served:
        yield served


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(LOCAL) as made:
        yield made


def test_extraction_keeps_the_article_and_drops_the_page_furniture(
    seed_documents: list[Document],
) -> None:
    kept = total = 0
    for page in pages_from(seed_documents):
        url = "https://news.example" + page.path()
        article = extract_article(render(page, "https://news.example"), url + "?utm_source=x")
        document = article.document
        for paragraph in page.paragraphs:
            total += len(paragraph)
            kept += len(paragraph) if paragraph in document.text else 0
        assert [b for b in BOILERPLATE if b in document.text] == []
        assert document.title == page.title
        assert document.publisher == page.publisher
        assert document.url == url  # canonical, tracking parameters gone
        assert document.doc_id == doc_id_for(url)
        assert document.published == page.published.date().isoformat()
        assert article.author == page.author
    assert kept == total


def test_a_page_without_an_article_is_refused_in_words() -> None:
    with pytest.raises(InvalidDocumentError, match="no article text"):
        extract_article("<html><body><nav>Home</nav></body></html>", "https://x.example/a")


def test_canonical_urls_drop_fragments_and_tracking_only() -> None:
    assert (
        canonical_url("HTTPS://News.Example/a/b?id=7&utm_medium=rss&fbclid=1#top")
        == "https://news.example/a/b?id=7"
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("ftp://example.org/a", "only http and https"),
        ("http://127.0.0.1:9/a", "private, loopback or link-local"),
        ("http://10.1.2.3/a", "private, loopback or link-local"),
        ("http://169.254.169.254/latest/meta-data", "private, loopback or link-local"),
        ("http://[::1]/a", "private, loopback or link-local"),
        ("http://[::ffff:192.168.0.1]/a", "private, loopback or link-local"),
        ("http://localhost/a", "private, loopback or link-local"),
    ],
)
def test_unsafe_urls_are_refused_before_any_request(url: str, reason: str) -> None:
    with pytest.raises(FetchError, match=reason):
        check_url(url, FetchPolicy())


def test_a_feed_is_ingested_with_dates_publishers_and_exact_spans(
    site: Site, fetcher: Fetcher, make_index: IndexFactory
) -> None:
    index = make_index()
    ingest = WebIngest(index, fetcher, batch_size=2)
    seen: list[tuple[int, int]] = []
    outcomes = ingest.ingest([site.base + "/feed.rss"], progress=lambda d, t: seen.append((d, t)))
    assert [o.status for o in outcomes] == ["added"] * len(site.pages)
    assert seen[-1] == (len(site.pages), len(site.pages))
    for page in site.pages:
        indexed = index.get(doc_id_for(site.url(page)))
        document = indexed.document
        assert document.url == site.url(page)
        assert document.publisher == page.publisher
        assert document.published == page.published.date().isoformat()
        for passage in indexed.passages:
            assert document.text[passage.start : passage.end] == indexed.passage_text(passage)
    # The Atom feed and the sitemap list the same articles: nothing new, nothing fetched twice.
    again = ingest.ingest([site.base + "/feed.atom", site.base + "/sitemap.xml"])
    assert {o.status for o in again} == {"unchanged"}
    assert index.document_count == len(site.pages)


def test_the_same_article_under_another_url_is_one_document(
    site: Site, fetcher: Fetcher, make_index: IndexFactory
) -> None:
    index = make_index()
    page = site.pages[0]
    # The same HTML at an alias path (no canonical link): a text already stored is a duplicate.
    html = render(page, site.base).replace('<link rel="canonical"', '<link rel="alternate"')
    html = html.replace('property="og:url"', 'property="og:x"')
    site.extra["/amp/story-0"] = (200, {"Content-Type": "text/html"}, html.encode())
    ingest = WebIngest(index, fetcher)
    first = ingest.ingest([site.url(page)])
    second = ingest.ingest([site.base + "/amp/story-0"])
    assert first[0].status == "added"
    assert second[0].status == "duplicate"
    assert second[0].duplicate_of == first[0].doc_id
    assert index.document_count == 1


def test_failures_are_reported_per_url_and_the_rest_is_ingested(
    site: Site, fetcher: Fetcher, make_index: IndexFactory
) -> None:
    site.extra["/news/broken"] = (500, {"Content-Type": "text/html"}, b"oops")
    site.extra["/news/photo.jpg"] = (200, {"Content-Type": "image/jpeg"}, b"\xff\xd8")
    site.extra["/news/huge"] = (200, {"Content-Type": "text/html"}, b"<p>x</p>" * 40_000)
    site.extra["/news/to-metadata"] = (
        302,
        {"Location": "http://169.254.169.254/latest/meta-data"},
        b"",
    )
    site.extra["/news/to-file"] = (301, {"Location": "file:///etc/passwd"}, b"")
    items = "".join(
        f"<item><title>t</title><link>{site.base}{path}</link></item>"
        for path in (
            "/news/broken",
            "/news/photo.jpg",
            "/news/huge",
            "/news/to-metadata",
            "/news/to-file",
            "/news/missing",
            site.pages[1].path(),
        )
    )
    feed = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>{items}</channel></rss>'
    )
    site.extra["/mixed.rss"] = (200, {"Content-Type": "application/rss+xml"}, feed.encode())
    index = make_index()
    outcomes = {
        o.source.removeprefix(site.base): o
        for o in WebIngest(index, fetcher).ingest([site.base + "/mixed.rss", "ftp://x/y"])
    }
    errors = {source: o.error or "" for source, o in outcomes.items() if o.status == "failed"}
    assert "HTTP 500" in errors["/news/broken"]
    assert "content type image/jpeg" in errors["/news/photo.jpg"]
    assert "over 200,000 bytes" in errors["/news/huge"]
    assert "169.254.169.254" in errors["/news/to-metadata"]
    assert "only http and https" in errors["/news/to-file"]
    assert "HTTP 404" in errors["/news/missing"]
    assert "only http and https" in errors["ftp://x/y"]
    assert outcomes[site.pages[1].path()].status == "added"
    assert index.document_count == 1


class _Slow(BaseHTTPRequestHandler):
    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        time.sleep(3)
        self.send_response(200)
        self.end_headers()


def test_every_request_has_a_time_out(fetcher: Fetcher) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.perf_counter()
        with pytest.raises(FetchError, match="timed out after 2 s"):
            fetcher.get(f"http://127.0.0.1:{server.server_address[1]}/slow", "page")
        assert time.perf_counter() - started < 2.9
    finally:
        server.shutdown()
        server.server_close()


def test_saved_html_files_are_ingested_with_their_canonical_urls(
    site: Site, fetcher: Fetcher, make_index: IndexFactory, tmp_path: Path
) -> None:
    for page in site.pages[:2]:
        (tmp_path / f"{page.slug}.html").write_text(render(page, "https://news.example"))
    index = make_index()
    outcomes = WebIngest(index, fetcher).ingest([str(tmp_path)])
    assert [o.status for o in outcomes] == ["added", "added"]
    urls = sorted(str(d.document.url) for d in index.documents())
    assert urls == sorted("https://news.example" + p.path() for p in site.pages[:2])


def test_watching_uses_conditional_requests_and_fetches_each_article_once(
    site: Site, fetcher: Fetcher, make_index: IndexFactory, tmp_path: Path
) -> None:
    index = make_index()
    watcher = Watcher(WebIngest(index, fetcher), tmp_path / STATE_FILE)
    feed = site.base + "/feed.rss"
    first = watcher.poll([feed])
    assert first.feeds_changed == 1
    assert [o.status for o in first.outcomes] == ["added"] * len(site.pages)
    site.requests.clear()
    second = Watcher(WebIngest(index, fetcher), tmp_path / STATE_FILE).poll([feed])  # restarted
    assert second.feeds_unchanged == 1
    assert second.outcomes == []
    assert len(site.requests) == 1
    assert site.requests[0][1].get("If-None-Match")  # the feed's ETag, sent back
    # A new article in the feed: only it is fetched.
    site.pages.append(site.pages[0].__class__(**{**vars(site.pages[0]), "slug": "story-new"}))
    site.requests.clear()
    third = watcher.poll([feed])
    assert [o.status for o in third.outcomes] == ["duplicate"]  # same text as story-0
    paths = [path.split("?", 1)[0] for path, _ in site.requests]
    assert paths == ["/feed.rss", site.pages[-1].path()]


def test_a_failing_feed_does_not_stop_the_others(
    site: Site, fetcher: Fetcher, make_index: IndexFactory, tmp_path: Path
) -> None:
    index = make_index()
    watcher = Watcher(WebIngest(index, fetcher), tmp_path / STATE_FILE)
    report = watcher.poll([site.base + "/nowhere.rss", site.base + "/feed.atom"])
    assert [o.status for o in report.outcomes].count("failed") == 1
    assert index.document_count == len(site.pages)


def test_watching_stops_promptly_when_asked(
    site: Site, fetcher: Fetcher, make_index: IndexFactory, tmp_path: Path
) -> None:
    watcher = Watcher(WebIngest(make_index(), fetcher), tmp_path / STATE_FILE)
    stop = threading.Event()
    rounds: list[int] = []
    thread = threading.Thread(
        target=lambda: rounds.append(watcher.run([site.base + "/feed.atom"], 3600, stop))
    )
    thread.start()
    deadline = time.monotonic() + 60
    while not (tmp_path / STATE_FILE).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()  # what the CLI's signal handler does
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert rounds == [1]
