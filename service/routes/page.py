"""The search page for people: static HTML, CSS and JavaScript over the JSON API.

The page holds no data of its own: its scripts call `/search`, `/ask` and `/documents/{id}`
like any other client, so it needs no template engine, no build step and nothing from a CDN,
and it loads without a key when reads are protected (the scripts send the key).
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
ASSETS_PREFIX = "/static"

# Scripts and styles only from this origin and never inline, so text from an article can never
# run as code even if it reached the DOM as markup; no referrer, so following an article's
# original URL does not tell its publisher what was searched.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # Revalidate every time (a 304 when unchanged), so an upgraded service never runs old scripts.
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def search_page() -> FileResponse:
    """The search page; the query lives in its URL (`/?q=...`)."""
    return FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS)


@router.get("/articles/{doc_id}")
async def article_page(doc_id: str) -> FileResponse:
    """One article with a cited span highlighted (`#chars=START-END`); its script loads it."""
    return FileResponse(STATIC_DIR / "article.html", headers=_PAGE_HEADERS)


class Assets(StaticFiles):
    """The page's scripts and styles, with the page's headers."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(_PAGE_HEADERS)
        return response


def assets() -> Assets:
    """The app to mount at `ASSETS_PREFIX`."""
    return Assets(directory=STATIC_DIR)
