"""Polling feeds: conditional requests, each article fetched once (again only when its feed
entry says it changed), failures logged and skipped, a clean stop on request.

The poll state (each feed's ETag and Last-Modified, each article URL seen with the entry's
`updated` value) is a small JSON file beside the archive, written atomically after every
poll, so a restart neither re-fetches everything nor misses what changed meanwhile.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import BylineError
from index.feeds import Entry, is_sitemap, parse_feed, parse_sitemap
from index.ingest import Outcome, Progress, WebIngest

log = logging.getLogger(__name__)

STATE_FILE = "watch-state.json"


@dataclass
class WatchState:
    feeds: dict[str, dict[str, str | None]] = field(default_factory=dict)
    """feed URL -> {"etag", "last_modified"}"""
    seen: dict[str, str | None] = field(default_factory=dict)
    """article URL -> the feed entry's `updated` when it was fetched"""

    @classmethod
    def load(cls, path: Path) -> WatchState:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(dict(data.get("feeds", {})), dict(data.get("seen", {})))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("%s unreadable (%s): starting with no poll state", path, exc)
            return cls()

    def save(self, path: Path) -> None:
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps({"feeds": self.feeds, "seen": self.seen}), "utf-8")
        os.replace(partial, path)


@dataclass(frozen=True, slots=True)
class PollReport:
    feeds_changed: int
    feeds_unchanged: int
    outcomes: list[Outcome]


class Watcher:
    def __init__(self, ingest: WebIngest, state_path: Path) -> None:
        self.ingest = ingest
        self.state_path = state_path
        self.state = WatchState.load(state_path)

    def _new_entries(self, feed: str) -> tuple[list[Entry] | None, Outcome | None]:
        """The feed's entries not yet fetched (None when the feed is unchanged)."""
        known = self.state.feeds.get(feed, {})
        try:
            fetched = self.ingest.fetcher.get(
                feed, "feed", etag=known.get("etag"), last_modified=known.get("last_modified")
            )
            if fetched.status == 304:
                return None, None
            listing = (
                parse_sitemap(fetched.content, fetched.url)
                if is_sitemap(fetched.content)
                else parse_feed(fetched.content, fetched.url)
            )
        except BylineError as exc:
            log.warning("feed skipped this round: %s", exc)
            return None, Outcome(feed, "failed", error=str(exc))
        self.state.feeds[feed] = {"etag": fetched.etag, "last_modified": fetched.last_modified}
        fresh = [
            e
            for e in listing.entries
            if e.url not in self.state.seen or self.state.seen[e.url] != e.updated
        ]
        return fresh, None

    def poll(self, feeds: Sequence[str], *, progress: Progress | None = None) -> PollReport:
        """One round over every feed."""
        entries: dict[str, Entry] = {}
        outcomes: list[Outcome] = []
        changed = unchanged = 0
        for feed in feeds:
            fresh, failure = self._new_entries(feed)
            if failure is not None:
                outcomes.append(failure)
            elif fresh is None:
                unchanged += 1
            else:
                changed += 1
                for entry in fresh:
                    entries.setdefault(entry.url, entry)
        listed = list(entries.values())
        done = self.ingest.ingest_entries(listed, progress=progress)
        for entry, outcome in zip(listed, done, strict=True):
            if outcome.status != "failed":
                self.state.seen[entry.url] = entry.updated
            else:
                log.warning("article skipped: %s", outcome.error)
        self.state.save(self.state_path)
        return PollReport(changed, unchanged, outcomes + done)

    def run(
        self,
        feeds: Sequence[str],
        every_seconds: float,
        stop: threading.Event,
        *,
        progress: Progress | None = None,
    ) -> int:
        """Poll until `stop` is set; returns the number of rounds."""
        rounds = 0
        while not stop.is_set():
            report = self.poll(feeds, progress=progress)
            rounds += 1
            counts: dict[str, int] = {}
            for outcome in report.outcomes:
                counts[outcome.status] = counts.get(outcome.status, 0) + 1
            log.info(
                "poll %d: %d feeds changed, %d unchanged; %s",
                rounds,
                report.feeds_changed,
                report.feeds_unchanged,
                ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing new",
            )
            stop.wait(every_seconds)
        return rounds
