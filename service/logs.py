"""Logging set-up shared by the CLI and the server factory: JSON lines with a request id."""

from __future__ import annotations

import logging

from pythonjsonlogger.json import JsonFormatter

from service.observability import RequestIdFilter

# Libraries that log routine progress at DEBUG or INFO on their own loggers.
_CHATTY = ("bm25s", "sentence_transformers", "httpx", "mcp")


def configure(level: str, fmt: str = "text") -> None:
    handler = logging.StreamHandler()  # stderr: stdout may carry a protocol (byline mcp)
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"levelname": "level", "name": "logger", "asctime": "time"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
