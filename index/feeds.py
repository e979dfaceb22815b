"""Feeds and sitemaps to the article links they list: RSS and Atom with feedparser,
sitemaps (and sitemap indexes) as the XML they are."""

from __future__ import annotations

import calendar
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin

import feedparser

from index.errors import InvalidDocumentError

_SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@dataclass(frozen=True, slots=True)
class Entry:
    """One article a feed or sitemap lists."""

    url: str
    title: str | None = None
    published: str | None = None
    """ISO 8601, used when the page itself carries no date."""
    updated: str | None = None
    """When the feed says the entry last changed: a changed value means fetch it again."""


@dataclass(frozen=True, slots=True)
class Listing:
    entries: list[Entry]
    sitemaps: list[str]
    """Further sitemaps named by a sitemap index."""
    title: str | None = None


def is_sitemap(content: bytes) -> bool:
    head = content[:2048].lower()
    return b"<urlset" in head or b"<sitemapindex" in head


def _iso(parsed: time.struct_time | None) -> str | None:
    if parsed is None:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC).isoformat()


def parse_feed(content: bytes, base_url: str) -> Listing:
    """The entries of an RSS or Atom feed, newest first as the feed gives them."""
    parsed = feedparser.parse(content, response_headers={"content-location": base_url})
    if not parsed.entries and parsed.get("bozo"):
        reason = parsed.get("bozo_exception", "not a feed")
        raise InvalidDocumentError(f"{base_url}: not a readable RSS or Atom feed ({reason})")
    entries = []
    for item in parsed.entries:
        link = item.get("link")
        if not link:
            continue
        # dict.get: feedparser's own get maps a missing `updated` to `published`, with a
        # deprecation warning.
        published = dict.get(item, "published_parsed")
        updated = dict.get(item, "updated_parsed")
        entries.append(
            Entry(
                url=urljoin(base_url, link),
                title=item.get("title"),
                published=_iso(published or updated),
                updated=_iso(updated) or _iso(published),
            )
        )
    return Listing(entries, [], parsed.feed.get("title"))


def parse_sitemap(content: bytes, base_url: str) -> Listing:
    """The pages of a sitemap, or the sitemaps of a sitemap index."""
    try:
        root = ElementTree.fromstring(content)  # expat refuses entity expansion bombs
    except ElementTree.ParseError as exc:
        raise InvalidDocumentError(f"{base_url}: not a readable sitemap ({exc})") from None
    entries, sitemaps = [], []
    for node in root:
        loc = (node.findtext(f"{_SITEMAP}loc") or node.findtext("loc") or "").strip()
        if not loc:
            continue
        if node.tag.endswith("sitemap"):
            sitemaps.append(urljoin(base_url, loc))
            continue
        lastmod = (node.findtext(f"{_SITEMAP}lastmod") or node.findtext("lastmod") or "").strip()
        entries.append(Entry(urljoin(base_url, loc), published=None, updated=lastmod or None))
    return Listing(entries, sitemaps)
