"""Web pages to articles: trafilatura finds the main text and the metadata; Byline stores
exactly the text trafilatura returns, so every span is an offset into that text.

trafilatura (well kept, made for news pages) drops navigation, share bars, ads and
related-story lists, and reads title, author, date and site name from JSON-LD, OpenGraph
and the page. The document id comes from the canonical URL, so the same article reached by
two URLs is one document, and a changed article replaces its old version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import trafilatura
import trafilatura.settings

from index.documents import Document
from index.errors import InvalidDocumentError

_DATE_PARAMS = {
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    "original_date": True,  # the publication date, not the last update
    "extensive_search": False,  # no guessing from URLs or free text
}
MIN_ARTICLE_CHARS = 150
"""Less main text than this is a page of links or a stub, not an article (trafilatura
returns the navigation of a page without an article)."""
_TRACKING = ("utm_", "fbclid", "gclid", "mc_", "ocid")


@dataclass(frozen=True, slots=True)
class Article:
    document: Document
    author: str | None


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no fragment, no tracking parameters."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.lower().startswith(_TRACKING)]
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(query), "")
    )


def doc_id_for(url: str) -> str:
    """A stable id from the canonical URL (ids never become file names)."""
    digest = hashlib.blake2b(canonical_url(url).encode(), digest_size=8).hexdigest()
    return f"web_{digest}"


def _iso(moment: str | None) -> str | None:
    """trafilatura's date (htmldate) as ISO 8601: with its time and offset where the page
    gives them, else the day alone (htmldate writes a missing time as midnight)."""
    if not moment:
        return None
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        return None
    if parsed.tzinfo is None and parsed.time() == datetime.min.time():
        return parsed.date().isoformat()
    return parsed.isoformat()


def extract_article(
    html: bytes | str,
    url: str,
    *,
    published: str | None = None,
    title: str | None = None,
) -> Article:
    """The article on a page. `published` and `title` (from a feed entry) are used when the
    page has none. InvalidDocumentError when the page holds no article text."""
    found = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        favor_precision=True,
        date_extraction_params=_DATE_PARAMS,
    )
    if not isinstance(found, trafilatura.settings.Document):
        raise InvalidDocumentError(f"{url}: no article text found on the page")
    if len((found.text or "").strip()) < MIN_ARTICLE_CHARS:
        raise InvalidDocumentError(
            f"{url}: no article text found on the page (only {len((found.text or '').strip())} "
            f"characters of main text; an article has at least {MIN_ARTICLE_CHARS})"
        )
    canonical = canonical_url(found.url or url)
    document = Document(
        doc_id=doc_id_for(canonical),
        text=(found.text or "").strip(),
        title=found.title or title,
        publisher=found.sitename or found.hostname or urlsplit(canonical).hostname,
        url=canonical,
        published=_iso(found.date) or published,
    )
    return Article(document, found.author or None)
