// Shared by the search page and the article view: API calls that carry the tab's key, and
// DOM building that never parses text from the API as HTML.

const KEY = "byline-api-key";

/** An element with attributes and children; strings become text nodes, never markup. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined && value !== false) {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** A failed call, with the message of the API's error body when there is one. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function request(path, options, key) {
  const headers = new Headers(options.headers || {});
  if (key) headers.set("Authorization", `Bearer ${key}`);
  let response;
  try {
    response = await fetch(path, { ...options, headers });
  } catch {
    throw new ApiError(0, "unreachable", "Byline could not be reached: is the service running?");
  }
  if (response.ok) return response.json();
  let code = "http_error";
  let message = `The service answered ${response.status} ${response.statusText}.`;
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) {
      code = String(body.error.code);
      message = String(body.error.message);
    }
  } catch {
    // Not our JSON error body (a proxy's page, say): keep the status line.
  }
  throw new ApiError(response.status, code, message);
}

let pendingKey = null;

/** Show the key form and resolve once a key is given; concurrent calls share one form. */
function askForKey(reason) {
  if (pendingKey) return pendingKey;
  const form = document.getElementById("key-form");
  const input = document.getElementById("key");
  document.getElementById("key-reason").textContent = reason;
  form.hidden = false;
  input.value = "";
  input.focus();
  pendingKey = new Promise((resolve) => {
    form.addEventListener(
      "submit",
      (event) => {
        event.preventDefault();
        // sessionStorage: the key lives as long as this tab, and never leaves it but as a header.
        sessionStorage.setItem(KEY, input.value.trim());
        input.value = "";
        form.hidden = true;
        pendingKey = null;
        resolve();
      },
      { once: true },
    );
  });
  return pendingKey;
}

/** Call the JSON API; when reads need a key, ask for it once and retry. */
export async function api(path, options = {}) {
  for (;;) {
    const key = sessionStorage.getItem(KEY);
    try {
      return await request(path, options, key);
    } catch (error) {
      const refused = error instanceof ApiError && error.code === "forbidden";
      if (!(error instanceof ApiError) || (error.status !== 401 && !refused)) throw error;
      // A key given while this call was under way (for a call beside it): try that one.
      if (sessionStorage.getItem(KEY) !== key) continue;
      sessionStorage.removeItem(KEY);
      await askForKey(
        refused
          ? "That key was not accepted. Enter the service's API key."
          : "This Byline needs an API key to read (BYLINE_PROTECT_READS is on).",
      );
    }
  }
}

/** Show an error in words, or hide the error line when `error` is null. */
export function showError(error) {
  const line = document.getElementById("error");
  line.hidden = error === null;
  line.textContent = error === null ? "" : error.message;
}

/** A span of an article as a link to the article view, highlighted there. */
export function articleHref(docId, start, end, search = "") {
  return `/articles/${encodeURIComponent(docId)}${search}#chars=${start}-${end}`;
}

/** "2024-08-12" from an ISO date or date-time; the text as given otherwise. */
export function day(published) {
  return /^\d{4}-\d{2}-\d{2}/.test(published) ? published.slice(0, 10) : published;
}

/** A URL the page may link to: http and https only (never javascript: or data:). */
export function safeUrl(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}
