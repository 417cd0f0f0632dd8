// @ts-check
// Requests to the JSON API under /api/: JSON in and out, and the CSRF token (from the page's
// <meta name="csrf">) on everything but GET.

/** @type {string | null} */
let csrf = null;

/** The page's CSRF token, read once. */
function csrfToken() {
  if (csrf === null) {
    const meta = /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="csrf"]'));
    csrf = meta ? meta.content : "";
  }
  return csrf;
}

/**
 * What a request came back with: `data` is the parsed JSON body, or null when there was none.
 * @typedef {{ ok: boolean, status: number, data: any }} Reply
 */

/**
 * Sends `body` (as JSON, when given) with `method` to `path`.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<Reply>}
 */
export async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = {};
  /** @type {RequestInit} */
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  return { ok: response.ok, status: response.status, data };
}

/**
 * The error a failed reply carries, or its status.
 * @param {Reply} r
 */
export const errorOf = (r) => r.data?.error || `error ${r.status}`;
