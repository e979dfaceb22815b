"""News in from the web: pages, feeds, sitemaps and saved HTML, into the archive.

A source is a URL (an article, an RSS or Atom feed, a sitemap) or a local path (an HTML
file or a folder of them). Each article is fetched once, extracted (`index.extract`), and
written in batches; one that fails is reported with its reason and the rest go on. The same
article reached by two URLs is one document: the id comes from the canonical URL, and a text
already stored under another id is skipped as a duplicate of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from index.documents import Document
from index.engine import NewsIndex
from index.errors import BylineError
from index.extract import extract_article
from index.feeds import Entry, is_sitemap, parse_feed, parse_sitemap
from index.web import Fetched, Fetcher

log = logging.getLogger(__name__)

Status = Literal[
    "added", "replaced", "metadata_updated", "unchanged", "duplicate", "not_modified", "failed"
]
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
_MAX_SITEMAPS = 50


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one URL or file."""

    source: str
    status: Status
    doc_id: str | None = None
    title: str | None = None
    error: str | None = None
    duplicate_of: str | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """An article read from a page, and where it came from."""

    source: str
    document: Document
    entry: Entry | None = None


Progress = Callable[[int, int], None]
"""Called with (articles done, articles known) as batches are written."""


class WebIngest:
    """Ingests sources into `index`, fetching with `fetcher`'s safety checks."""

    def __init__(self, index: NewsIndex, fetcher: Fetcher, *, batch_size: int = 20) -> None:
        self.index = index
        self.fetcher = fetcher
        self.batch_size = batch_size

    # -- sources to entries ----------------------------------------------------------------

    def entries(self, source: str) -> tuple[list[Entry], list[Fetched]]:
        """The articles a URL lists (itself, for an article page), with the fetched page when
        the source was one (so it is not fetched twice). FetchError or InvalidDocumentError
        when the source cannot be read."""
        fetched = self.fetcher.get(source, "any")
        if fetched.is_page:
            return [Entry(fetched.url)], [fetched]
        if is_sitemap(fetched.content):
            return self._sitemap_entries(fetched), []
        return parse_feed(fetched.content, fetched.url).entries, []

    def _sitemap_entries(self, first: Fetched) -> list[Entry]:
        listing = parse_sitemap(first.content, first.url)
        entries, pending, seen = list(listing.entries), list(listing.sitemaps), {first.url}
        while pending and len(seen) < _MAX_SITEMAPS:
            url = pending.pop(0)
            if url in seen:
                continue
            seen.add(url)
            try:
                nested = parse_sitemap(self.fetcher.get(url, "feed").content, url)
            except BylineError as exc:
                log.warning("sitemap skipped: %s", exc)
                continue
            entries += nested.entries
            pending += nested.sitemaps
        return entries

    # -- entries to articles -------------------------------------------------------------

    def read(self, entry: Entry, page: Fetched | None = None) -> Found | Outcome:
        """Fetch (unless given) and extract one article; an Outcome when that fails."""
        try:
            fetched = page or self.fetcher.get(entry.url, "page")
            article = extract_article(
                fetched.content, fetched.url, published=entry.published, title=entry.title
            )
        except BylineError as exc:
            return Outcome(entry.url, "failed", error=str(exc))
        return Found(entry.url, article.document, entry)

    def read_file(self, path: Path) -> Found | Outcome:
        """A saved page: its canonical URL if it names one, else an id from the path."""
        try:
            html = path.read_bytes()
            article = extract_article(html, path.resolve().as_uri())
        except (OSError, BylineError) as exc:
            return Outcome(str(path), "failed", error=str(exc))
        document = article.document
        if document.url and document.url.startswith("file:"):
            document = replace(document, url=None)  # no web address: the id is the file's
        return Found(str(path), document)

    # -- writing -------------------------------------------------------------------------

    def write(self, found: Sequence[Found]) -> list[Outcome]:
        """One batch into the archive, an outcome per item in order; an item whose text is
        stored under another id already is a duplicate of it, and is not written."""
        view = self.index.view()
        outcomes: list[Outcome | None] = [None] * len(found)
        owner: dict[str, str] = {}  # checksum -> id, within this batch
        written: dict[str, int] = {}  # id -> position of the item written for it
        for position, item in enumerate(found):
            document = item.document
            same = owner.get(document.checksum) or view.with_checksum(document.checksum)
            if same is not None and same != document.doc_id:
                outcomes[position] = Outcome(
                    item.source, "duplicate", document.doc_id, document.title, None, same
                )
                continue
            owner[document.checksum] = document.doc_id
            written[document.doc_id] = position  # the last of one id in a batch wins
        chosen = sorted(written.values())
        results = self.index.upsert([found[i].document for i in chosen]) if chosen else []
        for position, result in zip(chosen, results, strict=True):
            status: Status = result.change.value
            item = found[position]
            outcomes[position] = Outcome(item.source, status, result.doc_id, item.document.title)
        for position, item in enumerate(found):
            if outcomes[position] is None:  # an earlier item of the same id, superseded
                outcomes[position] = Outcome(
                    item.source, "unchanged", item.document.doc_id, item.document.title
                )
        return [o for o in outcomes if o is not None]

    def ingest_entries(
        self,
        entries: Sequence[Entry],
        *,
        pages: dict[str, Fetched] | None = None,
        progress: Progress | None = None,
    ) -> list[Outcome]:
        """Fetch, extract and write these articles in batches: one outcome per entry."""
        reads = (self.read(entry, (pages or {}).get(entry.url)) for entry in entries)
        return self._write_all(reads, len(entries), progress)

    def ingest(self, sources: Sequence[str], *, progress: Progress | None = None) -> list[Outcome]:
        """Every article of every source; a source or article that fails never stops the
        rest. Local paths are HTML files or folders of them."""
        outcomes: list[Outcome] = []
        entries: dict[str, Entry] = {}
        pages: dict[str, Fetched] = {}
        files: list[Path] = []
        for source in sources:
            path = Path(source)
            if "://" not in source and path.exists():
                files += _html_files(path)
                continue
            try:
                found, fetched = self.entries(source)
            except BylineError as exc:
                outcomes.append(Outcome(source, "failed", error=str(exc)))
                continue
            pages.update((page.url, page) for page in fetched)
            for entry in found:
                entries.setdefault(entry.url, entry)
        if files:
            reads = (self.read_file(path) for path in files)
            outcomes += self._write_all(reads, len(files), progress)
        return outcomes + self.ingest_entries(
            list(entries.values()), pages=pages, progress=progress
        )

    def _write_all(
        self, reads: Iterable[Found | Outcome], total: int, progress: Progress | None
    ) -> list[Outcome]:
        outcomes: list[Outcome | None] = []
        pending: list[tuple[int, Found]] = []

        def flush() -> None:
            for (position, _), outcome in zip(
                pending, self.write([f for _, f in pending]), strict=True
            ):
                outcomes[position] = outcome
            pending.clear()

        for done, item in enumerate(reads, start=1):
            if isinstance(item, Outcome):
                outcomes.append(item)
            else:
                outcomes.append(None)
                pending.append((len(outcomes) - 1, item))
            if len(pending) >= self.batch_size:
                flush()
            if progress is not None:
                progress(done, total)
        if pending:
            flush()
        return [o for o in outcomes if o is not None]


def _html_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in HTML_SUFFIXES)
