"""A news site for the ingestion tests: the seed articles laid out as a real site lays them
out (navigation, ads, share bars, related links, a cookie notice, a footer, JSON-LD
NewsArticle and OpenGraph metadata, canonical links with tracking-free URLs), with an RSS
feed, an Atom feed and a sitemap listing them, served by a real HTTP server on 127.0.0.1.

The article paragraphs are the seed articles' kept blocks (`index.cleaning`), so what
extraction should keep is known exactly, and so is the boilerplate it should drop.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from index.cleaning import clean
from index.documents import Document

PUBLISHERS = ("The Kyiv Ledger", "Moscow Wire", "Eastern Post")
BOILERPLATE = (
    "Subscribe to our newsletter for the day's top stories",
    "Share on Facebook",
    "Share on X",
    "Copy link",
    "ADVERTISEMENT",
    "Sponsored: Best VPN deals of the year",
    "We use cookies to improve your experience",
    "Related: Weather warning for the weekend",
    "Related: Football results from the capital",
    "Most read",
    "© 2024 Byline Test Media. All rights reserved.",
    "Front page",
    "World desk",
    "Opinion columns",
)


@dataclass
class Page:
    slug: str
    title: str
    paragraphs: list[str]
    published: datetime
    publisher: str
    author: str

    def path(self) -> str:
        return f"/news/{self.published:%Y/%m/%d}/{self.slug}"


@dataclass
class Site:
    pages: list[Page]
    base: str = ""
    extra: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    """Path -> (status, headers, body) for the tests' special cases."""
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, page: Page) -> str:
        return self.base + page.path()


def pages_from(documents: list[Document]) -> list[Page]:
    start = datetime(2024, 8, 8, 9, 30, tzinfo=UTC)
    pages = []
    for i, document in enumerate(documents):
        cleaned = clean(document.text)
        paragraphs = [document.text[b.start : b.end] for b in cleaned.blocks]
        if cleaned.title is not None:  # the headline goes in <h1>, not among paragraphs
            headline = document.text[cleaned.title[0] : cleaned.title[1]]
            paragraphs = [p for p in paragraphs if p != headline]
        pages.append(
            Page(
                slug=f"story-{i}",
                title=document.title or f"Story {i}",
                paragraphs=paragraphs,
                published=start + timedelta(days=3 * i, hours=i),
                publisher=PUBLISHERS[i % len(PUBLISHERS)],
                author=["Olena Marchenko", "Ivan Petrov", "Sarah Collins"][i % 3],
            )
        )
    return pages


def render(page: Page, base: str) -> str:
    e = html.escape
    url = base + page.path()
    meta = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": page.title,
        "datePublished": page.published.isoformat(),
        "author": {"@type": "Person", "name": page.author},
        "publisher": {"@type": "Organization", "name": page.publisher},
        "mainEntityOfPage": url,
    }
    middle = len(page.paragraphs) // 2
    first = "\n".join(f"<p>{e(p)}</p>" for p in page.paragraphs[:middle])
    rest = "\n".join(f"<p>{e(p)}</p>" for p in page.paragraphs[middle:])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(page.title)} | {e(page.publisher)}</title>
<link rel="canonical" href="{e(url)}">
<meta property="og:type" content="article">
<meta property="og:title" content="{e(page.title)}">
<meta property="og:site_name" content="{e(page.publisher)}">
<meta property="og:url" content="{e(url)}">
<meta property="article:published_time" content="{page.published.isoformat()}">
<script type="application/ld+json">{json.dumps(meta)}</script>
</head><body>
<div class="cookie-banner">We use cookies to improve your experience. <button>OK</button></div>
<header><nav><ul><li><a href="/">Front page</a></li><li><a href="/world">World desk</a></li>
<li><a href="/opinion">Opinion columns</a></li></ul></nav>
<div class="newsletter">Subscribe to our newsletter for the day's top stories</div></header>
<main><article>
<h1>{e(page.title)}</h1>
<div class="byline">By {e(page.author)} · {page.published:%d %B %Y}</div>
<div class="share-bar"><a href="#">Share on Facebook</a> <a href="#">Share on X</a>
<a href="#">Copy link</a></div>
{first}
<div class="ad"><span>ADVERTISEMENT</span>
<a href="/ads">Sponsored: Best VPN deals of the year</a></div>
{rest}
</article>
<aside class="related"><h2>Most read</h2><ul>
<li><a href="/news/weather">Related: Weather warning for the weekend</a></li>
<li><a href="/news/football">Related: Football results from the capital</a></li></ul></aside>
</main>
<footer><p>© 2024 Byline Test Media. All rights reserved.</p></footer>
</body></html>"""


def rss(site: Site) -> str:
    items = "".join(
        f"<item><title>{html.escape(p.title)}</title><link>{site.url(p)}?utm_source=rss</link>"
        f"<pubDate>{format_datetime(p.published)}</pubDate><guid>{site.url(p)}</guid></item>"
        for p in site.pages
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Test news</title><link>{site.base}/</link>{items}</channel></rss>"
    )


def atom(site: Site) -> str:
    entries = "".join(
        f'<entry><title>{html.escape(p.title)}</title><link href="{site.url(p)}"/>'
        f"<id>{site.url(p)}</id><updated>{p.published.isoformat()}</updated></entry>"
        for p in site.pages
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Test news</title><id>{site.base}/</id>"
        f"<updated>2024-08-30T00:00:00+00:00</updated>{entries}</feed>"
    )


def sitemap(site: Site) -> str:
    urls = "".join(
        f"<url><loc>{site.url(p)}</loc><lastmod>{p.published:%Y-%m-%d}</lastmod></url>"
        for p in site.pages
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    )


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            site.requests.append((self.path, dict(self.headers)))
            if path in site.extra:
                status, headers, body = site.extra[path]
                self._send(status, headers, body)
                return
            for page in site.pages:
                if path == page.path():
                    body = render(page, site.base).encode()
                    self._send_validated(body, "text/html; charset=utf-8")
                    return
            feeds = {
                "/feed.rss": (rss, "application/rss+xml"),
                "/feed.atom": (atom, "application/atom+xml"),
                "/sitemap.xml": (sitemap, "application/xml"),
            }
            if path in feeds:
                make, kind = feeds[path]
                self._send_validated(make(site).encode(), kind)
                return
            self._send(404, {"Content-Type": "text/plain"}, b"not found")

        def _send_validated(self, body: bytes, kind: str) -> None:
            etag = '"' + str(abs(hash(body))) + '"'
            if self.headers.get("If-None-Match") == etag:
                self._send(304, {"ETag": etag}, b"")
                return
            self._send(200, {"Content-Type": kind, "ETag": etag}, body)

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

    return Handler


@contextmanager
def serve(site: Site) -> Iterator[Site]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
