// The search page: the query lives in the URL (/?q=...&mode=...), so a search can be shared,
// bookmarked and reloaded. Results come from GET /search, the answer from POST /ask.
import { api, ApiError, articleHref, day, el, showError } from "/static/common.js";

const FIELDS = ["q", "mode", "k", "sort", "published_after", "published_before", "publisher"];
const DEFAULT_K = "10";
const STOP_WORDS = new Set(
  ("a an and any are as at be been but by can could did do does for from had has have he " +
    "her his how i if in into is it its me my no not of on or our she so than that the " +
    "their them then there these they this those to us was we were what when where which " +
    "who whom why will with would you your").split(" "),
);

const form = document.getElementById("search");
const status = document.getElementById("status");
const results = document.getElementById("results");
const answer = document.getElementById("answer");
const answerBody = document.getElementById("answer-body");
const options = document.getElementById("options");

/** The search a URL describes: only the fields it sets. */
function fromUrl() {
  const params = new URLSearchParams(location.search);
  const search = {};
  for (const name of FIELDS) {
    const value = (params.get(name) || "").trim();
    if (value) search[name] = value;
  }
  return search;
}

/** The URL query of a search, leaving out empty fields and defaults. */
function toQuery(search) {
  const params = new URLSearchParams();
  for (const name of FIELDS) {
    if (search[name] && !(name === "k" && search[name] === DEFAULT_K)) {
      params.set(name, search[name]);
    }
  }
  return params.toString();
}

function fillForm(search) {
  for (const name of FIELDS) {
    form.elements[name].value = search[name] || (name === "k" ? DEFAULT_K : "");
  }
  // Filters set by the URL are shown, not hidden behind the disclosure.
  if (FIELDS.slice(1).some((name) => name !== "k" && search[name])) options.open = true;
}

function readForm() {
  const search = {};
  for (const name of FIELDS) {
    const value = form.elements[name].value.trim();
    if (value) search[name] = value;
  }
  return search;
}

/** The words of a query worth marking in a passage, as patterns (a crude stem, then any ending). */
function wordPatterns(query) {
  const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu) || [];
  const patterns = new Set();
  for (const word of words) {
    if (word.length < 2 || STOP_WORDS.has(word)) continue;
    const stem = word.replace(/(ing|ed|es|s|ion|ions|ly)$/u, "");
    const escaped = (stem.length >= 4 ? stem : word).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    patterns.add(stem.length >= 4 ? `${escaped}[\\p{L}\\p{N}]*` : escaped);
  }
  return [...patterns];
}

/** Text with the query's words in <mark>, as nodes (the text is never parsed as HTML). */
function marked(text, patterns) {
  if (patterns.length === 0) return [text];
  const words = new RegExp(
    `(?<![\\p{L}\\p{N}])(?:${patterns.join("|")})(?![\\p{L}\\p{N}])`,
    "giu",
  );
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(words)) {
    nodes.push(text.slice(last, match.index), el("mark", {}, match[0]));
    last = match.index + match[0].length;
  }
  nodes.push(text.slice(last));
  return nodes;
}

function scopeOf(search) {
  const scope = {};
  for (const name of ["published_after", "published_before", "sort", "mode"]) {
    if (search[name]) scope[name] = search[name];
  }
  if (search.publisher) scope.publisher = [search.publisher];
  return scope;
}

/** One result as a card: title, publisher, date, the passage with the query's words marked. */
function card(result, patterns, back) {
  const source = result.source;
  const titleId = `result-${result.rank}`;
  const spanLink = (span, text) =>
    el("a", { href: articleHref(span.doc_id, span.char_start, span.char_end, back) }, text);
  const list = (items) => items.map((item, i) => [i === 0 ? "" : ", ", item]);
  // A duplicate can be a paragraph the same article repeats: say so rather than name it twice.
  const elsewhere = result.also_in.filter((other) => other.doc_id !== source.doc_id);
  const repeated = result.also_in.filter((other) => other.doc_id === source.doc_id);
  const published = source.published
    ? [" · ", el("time", { datetime: source.published }, day(source.published))]
    : " · undated";
  return el(
    "li",
    {},
    el(
      "article",
      { class: "card", "aria-labelledby": titleId },
      el("h3", { id: titleId }, spanLink(source, source.title || source.doc_id)),
      el("p", { class: "meta" }, source.publisher || "publisher unknown", published),
      el("p", { class: "passage" }, marked(result.text, patterns)),
      elsewhere.length
        ? el("p", { class: "also" }, "Also reported by ",
          list(elsewhere.map((o) => spanLink(o, o.title || o.doc_id))), ".")
        : null,
      repeated.length
        ? el("p", { class: "also" }, "Repeated in this article at ",
          list(repeated.map((o) => spanLink(o, `characters ${o.char_start} to ${o.char_end}`))), ".")
        : null,
    ),
  );
}

function renderResults(search, response, back) {
  const patterns = wordPatterns(search.q);
  results.replaceChildren(...response.results.map((result) => card(result, patterns, back)));
  const count = response.results.length;
  const words = [];
  if (count === 0) {
    words.push(`No passage matches “${search.q}”. Try other words, another mode, or fewer filters.`);
  } else {
    words.push(`${count} passage${count === 1 ? "" : "s"} for “${search.q}”, best first`);
    words.push(` (${Math.round(response.took_ms)} ms).`);
  }
  if (response.undated_documents) {
    words.push(` ${response.undated_documents} article(s) without a date were left out by the date filter.`);
  }
  status.textContent = words.join("");
  performance.mark("byline:results"); // what the load-time measurement waits for
}

function renderAnswer(response, back) {
  answer.hidden = false;
  answer.removeAttribute("aria-busy");
  if (!response.answerable || response.citations.length === 0) {
    answerBody.replaceChildren(
      el("p", { class: "no-answer" },
        "The articles do not answer this question closely enough, so Byline will not guess. ",
        "The nearest passages are below."),
    );
    return;
  }
  const citations = response.citations;
  const link = (c) => articleHref(c.doc_id, c.char_start, c.char_end, back);
  const cite = (c, i) => el("sup", {}, el("a", {
    class: "cite",
    href: link(c),
    "aria-label": `source ${i + 1}: ${c.title || c.doc_id}`,
  }, `[${i + 1}]`));
  // Who said what: a statement a line, each with its speaker; otherwise one quoted passage.
  const quotes = citations.some((c) => c.speaker)
    ? el("ul", { class: "statements" }, citations.map((c, i) =>
      el("li", {}, el("strong", {}, `${c.speaker}: `), el("q", {}, c.quote), cite(c, i))))
    : el("p", {}, citations.map((c, i) => [i === 0 ? "" : " ", el("q", {}, c.quote), cite(c, i)]));
  answerBody.replaceChildren(
    el("blockquote", { class: "quotes" }, quotes),
    el(
      "ol",
      { class: "citations", "aria-label": "Sources" },
      citations.map((c, i) =>
        el("li", {},
          el("a", { href: link(c) }, c.title || c.doc_id),
          c.publisher ? `, ${c.publisher}` : "",
          `: characters ${c.char_start} to ${c.char_end}`),
      ),
    ),
    el("p", { class: "confidence" }, `Confidence ${response.confidence.toFixed(2)} (similarity of the best quote to the question).`),
  );
}

let current = 0;

async function run(search) {
  const run = ++current;
  showError(null);
  document.title = search.q ? `${search.q}: Byline` : "Byline: search the news";
  if (!search.q) {
    results.replaceChildren();
    answer.hidden = true;
    status.textContent = "Ask a question about the news, or search for words.";
    return;
  }
  // The article links carry this search, so the article view can lead back to it.
  const back = `?${toQuery(search)}`;
  const scope = scopeOf(search);
  const query = new URLSearchParams({ q: search.q, k: search.k || DEFAULT_K });
  for (const [name, value] of Object.entries(scope)) {
    for (const one of [value].flat()) query.append(name, one);
  }
  status.textContent = `Searching for “${search.q}”…`;
  results.setAttribute("aria-busy", "true");
  answer.hidden = false;
  answer.setAttribute("aria-busy", "true");
  answerBody.replaceChildren(el("p", { class: "pending" }, "Finding an answer…"));
  const asking = api("/ask", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ question: search.q, ...scope }),
  });
  asking.catch(() => {}); // reported below, once the search has been
  try {
    const found = await api(`/search?${query}`);
    if (run !== current) return;
    renderResults(search, found, back);
  } catch (error) {
    if (run !== current) return;
    results.replaceChildren();
    answer.hidden = true;
    status.textContent = "The search failed.";
    showError(describe(error));
    return;
  } finally {
    results.removeAttribute("aria-busy");
  }
  try {
    const answered = await asking;
    if (run === current) {
      renderAnswer(answered, back);
      performance.mark("byline:answer");
    }
  } catch (error) {
    if (run !== current) return;
    answerBody.replaceChildren(el("p", { class: "error" }, `No answer: ${describe(error).message}`));
  }
}

/** An error as a person should read it. */
function describe(error) {
  if (!(error instanceof ApiError)) return new Error(`Something went wrong in the page: ${error}`);
  if (error.status === 503) return new Error(`Byline is not ready yet: ${error.message}`);
  if (error.status === 422) return new Error(`Byline could not take this search: ${error.message}`);
  return error;
}

let publishersLoaded = false;

async function loadPublishers() {
  if (publishersLoaded) return;
  publishersLoaded = true;
  try {
    const found = await api("/publishers");
    document.getElementById("publishers").replaceChildren(
      ...found.data.map((p) => el("option", { value: p.name }, `${p.documents} articles`)),
    );
  } catch {
    publishersLoaded = false; // the filter still takes a typed name
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const search = readForm();
  if (!search.q) {
    showError(new Error("Type a question or some words to search for."));
    form.elements.q.focus();
    return;
  }
  history.pushState(null, "", `/?${toQuery(search)}`);
  run(search);
});
options.addEventListener("toggle", () => {
  if (options.open) loadPublishers();
});
window.addEventListener("popstate", () => {
  const search = fromUrl();
  fillForm(search);
  run(search);
});

const initial = fromUrl();
fillForm(initial);
if (initial.q) run(initial);
else form.elements.q.focus();
