"""The search page in a real browser: Debian's Chromium driven by Playwright, against real
servers on 127.0.0.1.

`BYLINE_PAGE_SHOTS=docs` writes the README's screenshots there and prints the page's load
time and size (`make page-shots`); otherwise they go to a temporary directory.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote_plus

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    Route,
    ViewportSize,
    sync_playwright,
)

from eval.localserver import LocalServer, local_server
from tests.conftest import ClientFactory

QUESTION = "what did Zakharova say"
KEY = "page-test-key"
KEY_STORAGE = "byline-api-key"
PHONE: ViewportSize = {"width": 390, "height": 844}
NARROW: ViewportSize = {"width": 320, "height": 640}
DESKTOP: ViewportSize = {"width": 1100, "height": 900}

# Where the cited span is in the article view: its text, its offset in code points from the
# start of the article's text (a Range from there to the mark), and whether it can be seen.
CITED_SPAN = """() => {
  const body = document.getElementById("article-text");
  const mark = document.getElementById("cited");
  const range = document.createRange();
  range.setStart(body, 0);
  range.setEndBefore(mark);
  const box = mark.getBoundingClientRect();
  return {
    text: mark.textContent,
    offset: Array.from(range.toString()).length,
    whole: body.textContent,
    whiteSpace: getComputedStyle(body).whiteSpace,
    visible: box.top < innerHeight && box.bottom > 0,
    focused: document.activeElement === mark,
  };
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium: Playwright's own browser download cannot work offline."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: run `make install-tools` (Debian's chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def guarded_server(
    seed_index_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalServer]:
    """A server of its own (tests write to it) with a key that reads need too."""
    index_dir = tmp_path_factory.mktemp("page") / "index"
    shutil.copytree(seed_index_dir, index_dir)
    env = {"BYLINE_API_KEY": KEY, "BYLINE_PROTECT_READS": "true"}
    with local_server(index_dir, env=env) as server:
        yield server


class Tab:
    """A page in its own browser context, recording the page's errors."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.page = context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        # Chromium logs each 4xx/5xx the page fetched as a console error; those are expected.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(message.text)


class TabFactory(Protocol):
    def __call__(self, viewport: ViewportSize = DESKTOP, key: str | None = None) -> Tab: ...


@pytest.fixture
def open_tab(browser: Browser) -> Iterator[TabFactory]:
    """Open tabs, each in a fresh context (own cache and sessionStorage), closed afterwards."""
    contexts: list[BrowserContext] = []

    def make(viewport: ViewportSize = DESKTOP, key: str | None = None) -> Tab:
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(15_000)  # a failure says so in 15 s, not Playwright's 30
        if key is not None:
            context.add_init_script(f"sessionStorage.setItem({KEY_STORAGE!r}, {key!r})")
        contexts.append(context)
        return Tab(context)

    yield make
    for context in contexts:
        context.close()


def _ask(server: LocalServer, question: str, **headers: str) -> dict[str, Any]:
    response = httpx.post(f"{server.base_url}/ask", json={"question": question}, headers=headers)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


def _document(server: LocalServer, doc_id: str, **headers: str) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/documents/{doc_id}", headers=headers)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def _search(page: Page, base_url: str, question: str) -> None:
    """Type a question into the page's search box and wait for results and the answer."""
    page.goto(f"{base_url}/")
    page.get_by_label("Question or keywords").fill(question)
    page.keyboard.press("Enter")
    page.wait_for_selector("#results li")
    page.wait_for_selector("#answer:not([aria-busy])")


def _assert_cited_span(page: Page, text: str, start: int, end: int) -> None:
    span = page.evaluate(CITED_SPAN)
    assert span["text"] == text[start:end]
    assert span["offset"] == start
    assert span["whole"] == text
    assert span["whiteSpace"] == "pre-wrap"
    assert span["visible"]
    assert span["focused"]


def test_the_page_files_load_without_a_key_and_do_not_count_against_the_rate_limit(
    make_client: ClientFactory, seed_index_dir: Path, tmp_path: Path
) -> None:
    shutil.copytree(seed_index_dir, tmp_path / "index")
    client = make_client(tmp_path / "index", api_key="k", protect_reads=True, rate_limit="3/minute")
    for _ in range(3):
        for path in ("/", "/articles/000_4669eddcbb62d802", "/static/search.js"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert "script-src 'self'" in response.headers["content-security-policy"]
    assert client.get("/").headers["content-type"].startswith("text/html")
    assert client.get("/static/missing.js").status_code == 404
    auth = {"Authorization": "Bearer k"}
    # Only reading the page is open and uncounted: these three calls use up the limit.
    assert client.post("/").status_code == 401
    assert not {"/", "/articles/{doc_id}"} & set(
        client.get("/openapi.json", headers=auth).json()["paths"]
    )
    assert client.get("/documents", headers=auth).status_code == 200
    assert client.get("/documents", headers=auth).status_code == 429


def test_a_question_shows_results_an_answer_and_the_quote_in_its_article(
    live_server: LocalServer, open_tab: TabFactory
) -> None:
    base = live_server.base_url
    tab = open_tab()
    page = tab.page
    _search(page, base, QUESTION)
    assert page.url == f"{base}/?q={quote_plus(QUESTION)}"

    expected = _ask(live_server, QUESTION)
    assert expected["answerable"]
    cards = page.locator("#results > li")
    assert cards.count() >= 5
    first = expected["passages"][0]
    assert cards.first.locator("h3").inner_text() == first["source"]["title"]
    assert cards.first.locator(".passage").inner_text() == first["text"]
    marked = {m.lower() for m in page.locator("#results .passage mark").all_inner_texts()}
    assert "zakharova" in marked
    citation = expected["citations"][0]
    assert page.locator("#answer q").first.inner_text() == citation["quote"]

    page.locator("#answer a.cite").first.click()
    page.wait_for_selector("mark#cited")
    start, end = citation["char_start"], citation["char_end"]
    assert page.url == (
        f"{base}/articles/{citation['doc_id']}?q={quote_plus(QUESTION)}#chars={start}-{end}"
    )
    document = _document(live_server, citation["doc_id"])
    _assert_cited_span(page, document["text"], start, end)
    assert page.locator("mark#cited").inner_text() == citation["quote"]
    assert page.locator("h1").inner_text() == document["title"]
    assert "characters" in page.locator("#cited-note").inner_text()

    page.get_by_role("link", name=f"Back to the results for “{QUESTION}”").click()
    page.wait_for_selector("#results li")
    assert page.get_by_label("Question or keywords").input_value() == QUESTION
    assert tab.errors == []


def test_folded_duplicates_link_to_their_own_spans(
    guarded_server: LocalServer, open_tab: TabFactory
) -> None:
    """Folded duplicates, "also reported by" another article or "repeated in this article":
    each link opens its own span, highlighted at its offsets."""
    base = guarded_server.base_url
    auth = {"Authorization": f"Bearer {KEY}"}
    fact = "The mayor of Quillbrook opened a new flood shelter on Monday. It holds 300 people."
    wires = [
        {"id": "wire-a", "title": "Quillbrook opens a shelter", "publisher": "Wire A",
         "published": "2024-08-12", "text": f"QUILLBROOK, Aug 12 (Wire A).\n\n{fact}"},
        {"id": "wire-b", "title": "A shelter for Quillbrook", "publisher": "Wire B",
         "published": "2024-08-13", "text": f"{fact}\n\nMore follows."},
    ]  # fmt: skip
    assert httpx.post(f"{base}/documents", json=wires, headers=auth).status_code == 201
    page = open_tab(key=KEY).page
    for question, words in (
        ("Quillbrook flood shelter", "Also reported by "),
        ("children evacuated", "Repeated in this article at "),
    ):
        found = httpx.get(f"{base}/search", params={"q": question, "k": 10}, headers=auth)
        folded = next(r for r in found.json()["results"] if r["also_in"])
        other = folded["also_in"][0]
        page.goto(f"{base}/?q={quote_plus(question)}")
        also = page.locator("#results > li").nth(folded["rank"] - 1).locator(".also")
        assert also.inner_text().startswith(words)
        also.get_by_role("link").first.click()
        page.wait_for_selector("mark#cited")
        document = _document(guarded_server, other["doc_id"], **auth)
        _assert_cited_span(page, document["text"], other["char_start"], other["char_end"])


def test_the_keyboard_alone_reaches_a_citation_and_lands_on_the_quote(
    live_server: LocalServer, open_tab: TabFactory
) -> None:
    page = open_tab().page
    page.goto(f"{live_server.base_url}/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_selector("#answer a.cite")
    page.get_by_label("Question or keywords").focus()
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('cite')"):
            break
    else:
        pytest.fail("Tab never reached the answer's first citation")
    page.keyboard.press("Enter")
    page.wait_for_selector("mark#cited")
    assert page.evaluate("document.activeElement.id") == "cited"


def test_the_page_has_landmarks_and_every_field_a_label(
    live_server: LocalServer, open_tab: TabFactory
) -> None:
    page = open_tab().page
    page.goto(f"{live_server.base_url}/?q={quote_plus(QUESTION)}")
    page.wait_for_selector("#answer:not([aria-busy])")
    for role in ("banner", "main", "search", "contentinfo"):
        assert page.get_by_role(role).count() == 1, role
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll("input, select, button")]
             .filter(e => !e.closest("[hidden]") && e.type !== "submit" && e.labels.length === 0)
             .map(e => e.id)"""
    )
    assert unlabelled == []
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("status").first.inner_text().startswith("10 passages")


def test_a_320_px_screen_needs_no_sideways_scrolling(
    live_server: LocalServer, open_tab: TabFactory
) -> None:
    page = open_tab(NARROW).page
    page.goto(f"{live_server.base_url}/?q={quote_plus(QUESTION)}")
    page.wait_for_selector("#answer a.cite")
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    page.locator("#answer a.cite").first.click()
    page.wait_for_selector("mark#cited")
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]


def test_an_empty_result_and_errors_are_said_in_words(
    live_server: LocalServer, open_tab: TabFactory
) -> None:
    tab = open_tab()
    page = tab.page
    base = live_server.base_url
    page.goto(f"{base}/?q=Zakharova&published_after=2031-01-01")
    page.wait_for_selector("#answer:not([aria-busy])")
    assert page.locator("#results li").count() == 0
    assert page.locator("#status").inner_text().startswith("No passage matches “Zakharova”")
    assert page.locator("#answer").inner_text().find("will not guess") > 0

    page.goto(f"{base}/?q=Kursk&published_after=2024-09-01&published_before=2024-08-01")
    error = page.get_by_role("alert")
    error.wait_for()
    message = error.inner_text()
    assert "published_after" in message
    assert "must be earlier" in message
    assert "{" not in message

    page.goto(f"{base}/articles/no-such-article#chars=0-10")
    page.get_by_role("alert").wait_for()
    assert page.locator("h1").inner_text() == "No such article"
    assert "{" not in page.get_by_role("alert").inner_text()
    assert tab.errors == []


def test_protected_reads_ask_for_the_key_once_per_tab(
    guarded_server: LocalServer, open_tab: TabFactory
) -> None:
    base = guarded_server.base_url
    for path in ("/", "/articles/x", "/static/search.js", "/static/byline.css"):
        assert httpx.get(f"{base}{path}").status_code == 200, path
    assert httpx.get(f"{base}/search", params={"q": "Kursk"}).status_code == 401

    tab = open_tab()
    page = tab.page
    # The answer sent with the wrong key is held until the right key has been given: its
    # late refusal must not throw the right key away and ask again.
    held: list[Route] = []

    def hold(route: Route) -> None:
        if route.request.headers.get("authorization") == "Bearer wrong-key":
            held.append(route)
        else:
            route.continue_()

    page.route("**/ask", hold)
    page.goto(f"{base}/?q={quote_plus(QUESTION)}")
    key = page.get_by_label("API key", exact=True)
    key.wait_for()
    assert page.evaluate("document.activeElement.id") == "key"
    key.fill("wrong-key")
    key.press("Enter")
    page.get_by_text("That key was not accepted").wait_for()
    key.fill(KEY)
    key.press("Enter")
    page.wait_for_selector("#results li")
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_selector("#answer a.cite")
    assert page.locator("#key-form").is_hidden()

    page.reload()  # kept for the tab: no second question
    page.wait_for_selector("#answer a.cite")
    assert page.locator("#key-form").is_hidden()
    page.locator("#answer a.cite").first.click()
    page.wait_for_selector("mark#cited")
    assert page.evaluate(f"sessionStorage.getItem({KEY_STORAGE!r})") == KEY
    assert page.evaluate("localStorage.length") == 0
    assert tab.errors == []

    other = open_tab().page  # another tab (and context) starts without it
    other.goto(f"{base}/?q={quote_plus(QUESTION)}")
    other.get_by_label("API key", exact=True).wait_for()


def test_hostile_text_is_shown_as_text_and_never_run(
    guarded_server: LocalServer, open_tab: TabFactory
) -> None:
    hostile = {
        "id": "hostile-1",
        "title": '<img src=x onerror="window.pwned=1">Quuxville <b>council</b>',
        "publisher": "<script>window.pwned=2</script>",
        "url": "javascript:window.pwned=3",
        "text": "The Quuxville council met. <script>window.pwned=4</script> "
        '<img src=x onerror="window.pwned=5"> It said nothing.',
    }
    auth = {"Authorization": f"Bearer {KEY}"}
    added = httpx.post(f"{guarded_server.base_url}/documents", json=hostile, headers=auth)
    assert added.status_code == 201
    tab = open_tab(key=KEY)
    page = tab.page
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.goto(f"{guarded_server.base_url}/?q=Quuxville+council&mode=bm25")
    page.wait_for_selector("#results li")
    card = page.locator("#results > li").first
    assert card.locator("h3").inner_text() == hostile["title"]
    assert card.locator(".meta").inner_text().startswith(hostile["publisher"])
    assert card.locator(".passage").inner_text() == hostile["text"]
    assert page.locator("#results img, #results script, #results b").count() == 0

    card.locator("h3 a").click()
    page.wait_for_selector("#article-text")
    page.wait_for_function("document.getElementById('article').getAttribute('aria-busy') === null")
    assert page.locator("h1").inner_text() == hostile["title"]
    assert page.locator("#article-text").inner_text() == hostile["text"]
    assert page.locator("#meta").get_by_text(hostile["url"]).count() == 1
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.locator("main img, main script, main b").count() == 0
    assert page.evaluate("window.pwned") is None
    assert dialogs == []


def test_offsets_are_code_points_not_utf16_units(
    guarded_server: LocalServer, open_tab: TabFactory
) -> None:
    """Astral characters (emoji, Fraktur letters) are one code point in Python and two units
    in JavaScript: a span after them must still be highlighted exactly."""
    text = "🇺🇦 Kyiv 𝔉raktur 😀 said: 🙂 the talks are off.\r\nNext line ✓."
    quote = "the talks are off."
    start = text.index(quote)
    auth = {"Authorization": f"Bearer {KEY}"}
    document = {"id": "astral-1", "title": "Astral", "text": text}
    added = httpx.post(f"{guarded_server.base_url}/documents", json=document, headers=auth)
    assert added.status_code == 201
    stored = _document(guarded_server, "astral-1", **auth)["text"]
    assert stored[start : start + len(quote)] == quote
    page = open_tab(key=KEY).page
    page.goto(f"{guarded_server.base_url}/articles/astral-1#chars={start}-{start + len(quote)}")
    page.wait_for_selector("mark#cited")
    _assert_cited_span(page, stored, start, start + len(quote))

    page.evaluate("location.hash = '#chars=0-2'")  # another citation of the same article
    page.wait_for_function("document.getElementById('cited').textContent.length === 4")
    assert page.locator("mark#cited").inner_text() == stored[0:2]


# Times from the start of navigation, and bytes of the page's own files (HTML, CSS, scripts)
# and of its API calls, from the browser's Performance API.
LOAD_MEASURES = """() => {
  const navigation = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  const mark = (name) => performance.getEntriesByName(name)[0].startTime;
  const files = [navigation, ...resources.filter((r) => r.initiatorType !== "fetch")];
  const api = resources.filter((r) => r.initiatorType === "fetch");
  const sum = (entries, field) => entries.reduce((total, e) => total + e[field], 0);
  return {
    dom_content_loaded_ms: navigation.domContentLoadedEventEnd,
    results_shown_ms: mark("byline:results"),
    answer_shown_ms: mark("byline:answer"),
    page_files: files.length,
    page_bytes: sum(files, "encodedBodySize"),
    page_transferred_bytes: sum(files, "transferSize"),
    api_bytes: sum(api, "encodedBodySize"),
  };
}"""


def test_screenshots_load_time_and_size(
    live_server: LocalServer, open_tab: TabFactory, tmp_path: Path
) -> None:
    """The README's screenshots and measures; the page must stay small and quick. Each load
    is a new context, so nothing comes from the browser's cache."""
    shots = Path(os.environ.get("BYLINE_PAGE_SHOTS") or tmp_path)
    url = f"{live_server.base_url}/?q={quote_plus(QUESTION)}"
    loads = []
    for _ in range(5):
        tab = open_tab()
        tab.page.goto(url)
        tab.page.wait_for_selector("#answer a.cite")
        loads.append(tab.page.evaluate(LOAD_MEASURES))
        assert tab.errors == []
    page = tab.page
    page.screenshot(path=str(shots / "page-search.png"))
    page.locator("#answer a.cite").first.click()
    page.wait_for_selector("mark#cited")
    page.screenshot(path=str(shots / "page-article.png"))
    phone = open_tab(PHONE).page
    phone.goto(url)
    phone.wait_for_selector("#answer a.cite")
    phone.screenshot(path=str(shots / "page-phone.png"))
    median = {name: statistics.median(load[name] for load in loads) for name in loads[0]}
    if os.environ.get("BYLINE_PAGE_SHOTS"):
        print(json.dumps({"first_load": loads[0], "median_of_5": median}, indent=2))
    assert median["page_files"] == 4  # the HTML, one stylesheet, two scripts
    assert median["page_bytes"] < 40_000
    assert median["results_shown_ms"] < 5_000
