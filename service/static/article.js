// The article view: /articles/{doc_id}#chars=START-END shows the article's original text with
// the cited span highlighted and scrolled into view. START and END count Unicode code points
// (Python's str indexing), which JavaScript strings do not: they count UTF-16 units, so the
// text is split with Array.from before slicing.
import { api, ApiError, day, el, safeUrl, showError } from "/static/common.js";

const articleText = document.getElementById("article-text");
const note = document.getElementById("cited-note");
const docId = decodeURIComponent(location.pathname.replace(/^\/articles\//, ""));
let characters = null;

/** [start, end] from "#chars=START-END", or null. */
function citedSpan() {
  const match = /^#chars=(\d+)-(\d+)$/.exec(location.hash);
  return match ? [Number(match[1]), Number(match[2])] : null;
}

function highlight() {
  const span = citedSpan();
  if (span === null) {
    articleText.replaceChildren(characters.join(""));
    note.textContent = "";
    return;
  }
  const [start, end] = span;
  if (!(start < end && end <= characters.length)) {
    articleText.replaceChildren(characters.join(""));
    note.textContent =
      `The cited span, characters ${start} to ${end}, is not within this article ` +
      `(${characters.length} characters): it may have changed since it was cited.`;
    return;
  }
  const cited = el("mark", { id: "cited", class: "cited", tabindex: "-1" },
    characters.slice(start, end).join(""));
  articleText.replaceChildren(
    characters.slice(0, start).join(""),
    cited,
    characters.slice(end).join(""),
  );
  note.textContent = `Highlighted: the cited passage, characters ${start} to ${end} of ${characters.length}.`;
  // Scrolled to only when out of sight: a quote near the top keeps the title and metadata in view.
  const box = cited.getBoundingClientRect();
  if (box.top < 0 || box.bottom > window.innerHeight) cited.scrollIntoView({ block: "center" });
  // Focus moves to the quote, so a screen reader reads it and Tab continues from there.
  cited.focus({ preventScroll: true });
}

function metadata(article) {
  const rows = [
    ["Publisher", article.publisher || "unknown"],
    ["Published", article.published ? el("time", { datetime: article.published }, day(article.published)) : "undated"],
    ["Document", el("code", {}, article.doc_id)],
  ];
  if (article.url) {
    const url = safeUrl(article.url);
    // Only http(s) becomes a link: a stored "javascript:" URL is shown, never followed.
    rows.push([
      "Original",
      url ? el("a", { href: url, rel: "noopener noreferrer external" }, article.url) : article.url,
    ]);
  }
  return rows.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]);
}

async function load() {
  const back = document.getElementById("back");
  const search = new URLSearchParams(location.search);
  if (search.get("q")) {
    back.href = `/${location.search}`;
    back.textContent = `Back to the results for “${search.get("q")}”`;
  }
  const article = document.getElementById("article");
  try {
    const found = await api(`/documents/${encodeURIComponent(docId)}`);
    document.getElementById("title").textContent = found.title || found.doc_id;
    document.title = `${found.title || found.doc_id}: Byline`;
    document.getElementById("meta").replaceChildren(...metadata(found));
    characters = Array.from(found.text);
    highlight();
  } catch (error) {
    document.getElementById("title").textContent =
      error instanceof ApiError && error.status === 404 ? "No such article" : "The article could not be shown";
    showError(error);
  } finally {
    article.removeAttribute("aria-busy");
  }
}

window.addEventListener("hashchange", () => {
  if (characters !== null) highlight();
});
load();
