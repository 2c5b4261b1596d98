// The JSON API client (docs/API.md). Keeps the session's CSRF token (from POST /api/v1/login or
// GET /api/v1/me) and sends it in X-CSRF-Token on every POST; the session itself is the
// HttpOnly cookie the browser holds. A 401 calls the handler set by onUnauthorized() (the app
// goes to the login page) and rejects with an ApiError like any other failure.

export class ApiError extends Error {
  constructor(status, message, method, path) {
    super(message);
    this.status = status;     // HTTP status, 0 for a network failure
    this.method = method;
    this.path = path;
  }
  // "GET /api/v1/apps: 503 draining"
  describe() {
    return `${this.method} ${this.path}: ${this.status ? this.status + ' ' : ''}${this.message}`;
  }
}

let csrf = '';
let unauthorized = () => {};

export function setCsrf(token) { csrf = token || ''; }
export function onUnauthorized(fn) { unauthorized = fn; }

// Returns {status, data}. opts: json (object body), text (text/plain body), allow (statuses
// that are not errors), quiet401 (do not call the unauthorized handler). Actions that take no
// input (drain, enable, renew, reload, logout) are POSTed without a body.
export async function request(method, path, opts = {}) {
  const headers = { Accept: 'application/json' };
  let body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.text !== undefined) {
    headers['Content-Type'] = 'text/plain; charset=utf-8';
    body = opts.text;
  }
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let resp;
  try {
    resp = await fetch(path, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network error (is ferryd running?): ' + e.message, method, path);
  }
  const raw = await resp.text();
  let data = null;
  if ((resp.headers.get('Content-Type') || '').includes('json') && raw) {
    try { data = JSON.parse(raw); } catch (e) {
      throw new ApiError(resp.status, 'bad JSON in the answer: ' + e.message, method, path);
    }
  }
  const allow = opts.allow || [];
  if (allow.includes(resp.status)) return { status: resp.status, data, headers: resp.headers };
  if (resp.status === 401 && !opts.quiet401) unauthorized();
  if (!resp.ok) {
    let msg = (data && data.error) || raw.trim().slice(0, 300) || resp.statusText;
    if (resp.status === 429) {
      const after = resp.headers.get('Retry-After');
      if (after) msg += ` (retry after ${after} s)`;
    }
    throw new ApiError(resp.status, msg, method, path);
  }
  return { status: resp.status, data, headers: resp.headers };
}

export const get = async (path, opts) => (await request('GET', path, opts)).data;
export const post = async (path, opts) => (await request('POST', path, opts)).data;


