"""Logging set-up shared by the CLI and the server factory."""

from __future__ import annotations

import logging

# Libraries that log routine progress at DEBUG or INFO on their own loggers.
_CHATTY = ("bm25s", "sentence_transformers", "httpx")


def configure(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
