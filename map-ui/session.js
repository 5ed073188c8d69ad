// The signed-in session: the bearer token (kept in sessionStorage, so it ends with the tab),
// requests that carry it, the problems (RFC 7807) the case API answers with, photos as blob:
// URLs, and the server-sent event stream of case changes.
import { t } from './i18n.js';

const KEY = 'citygrid.session';
let session = null; // { token, expires_at, user }
const listeners = [];
const photoUrls = new Map(); // photo id → Promise<blob: URL>

try {
  session = JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
} catch { session = null; }

/** A refused request: the HTTP status and the problem document's members. */
export class Problem extends Error {
  constructor(status, body) {
    super(body?.detail ?? `${status}`);
    this.status = status;
    this.detail = body?.detail ?? '';
    this.title = body?.title ?? '';
    this.parameter = body?.parameter ?? null;
    this.current = body?.current ?? null;
  }
}

/** The session (`{ token, expires_at, user }`), or null when signed out. */
export function current() { return session; }

/** Calls `f(session)` after every sign-in and sign-out. */
export function onSessionChange(f) { listeners.push(f); }

function set(next) {
  session = next;
  if (next) sessionStorage.setItem(KEY, JSON.stringify(next)); else sessionStorage.removeItem(KEY);
  if (!next) {
    for (const url of photoUrls.values()) url.then(URL.revokeObjectURL, () => {});
    photoUrls.clear();
  }
  for (const f of listeners) f(session);
}

async function problemOf(response) {
  let body = null;
  try { body = await response.json(); } catch { /* not a problem document */ }
  return new Problem(response.status, body);
}

/** Signs in; resolves with the session or rejects with a [`Problem`]. */
export async function signIn(username, password) {
  const r = await fetch('/auth/login', {
    method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!r.ok) throw await problemOf(r);
  const body = await r.json();
  set({ token: body.token, expires_at: body.expires_at, user: body.user });
  return session;
}

/** Signs out: revokes the token on the server (best effort) and forgets it. */
export async function signOut() {
  const token = session?.token;
  set(null);
  if (token) {
    try { await fetch('/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${token}` } }); } catch { /* offline: the token expires */ }
  }
}

/** Checks a token kept from an earlier page load; forgets it when the server no longer knows it. */
export async function revalidate() {
  if (!session) return;
  try {
    const user = await request('/auth/me');
    set({ ...session, user });
  } catch { /* request() signed out on 401; a network error keeps the session */ }
}

/**
 * A request with the bearer token: `options.json` is sent as JSON, `options.body` as is. Resolves
 * with the JSON answer (null for 204); rejects with a [`Problem`]. A 401 ends the session.
 */
export async function request(path, options = {}) {
  const headers = { accept: 'application/json', ...(options.headers ?? {}) };
  if (session) headers.authorization = `Bearer ${session.token}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  const r = await fetch(path, { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  if (!r.ok) {
    const problem = await problemOf(r);
    if (r.status === 401 && session) set(null);
    throw problem;
  }
  return r.status === 204 ? null : r.json();
}

/** A blob: URL of a stored photo (fetched once with the token; photos are never public). */
export function photoUrl(id) {
  if (!photoUrls.has(id)) {
    const url = fetch(`/photos/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${session?.token}` } })
      .then(async (r) => { if (!r.ok) throw await problemOf(r); return URL.createObjectURL(await r.blob()); });
    url.catch(() => photoUrls.delete(id));
    photoUrls.set(id, url);
  }
  return photoUrls.get(id);
}

/**
 * What went wrong, for people: a sentence in the current language for the status (and the
 * parameter where it tells more), followed by the server's own detail.
 */
export function problemMessage(error) {
  if (!(error instanceof Problem)) return `${t('network_error')} (${error?.message ?? error})`;
  const key = {
    400: 'problem_400', 401: 'problem_401', 403: 'problem_403', 404: 'problem_404', 409: 'problem_409',
    413: 'problem_413', 415: 'problem_415', 422: error.parameter === 'location' ? 'problem_422_location' : 'problem_422',
    429: 'problem_429',
  }[error.status] ?? 'problem_other';
  return error.detail ? `${t(key)} — ${error.detail}` : t(key);
}

let source = null;
/**
 * Follows the event stream of case changes with the current token (EventSource cannot send
 * headers, hence `access_token`); `onCase(event)` for each change, `onLagged()` when changes were
 * missed, `onStatus('connecting'|'open'|'closed')` as the connection goes. Replaces the previous stream; with no session, just closes it.
 */
export function followEvents(onCase, onLagged, onStatus) {
  source?.close();
  source = null;
  onStatus?.('closed');
  if (!session) return;
  const es = new EventSource(`/cases/events?access_token=${encodeURIComponent(session.token)}`);
  es.addEventListener('case', (e) => {
    try { onCase(JSON.parse(e.data)); } catch { /* a malformed event is skipped */ }
  });
  es.addEventListener('lagged', () => onLagged());
  // The server ends the stream when the session ends (logout, password change, disabled user,
  // expiry): stop following and check the session, which signs out.
  es.addEventListener('session_ended', () => {
    if (es !== source) return;
    es.close();
    onStatus?.('closed');
    revalidate();
  });
  // The browser reconnects by itself after a network error; when it gives up (the token was
  // refused), check the session, which signs out on 401.
  es.addEventListener('error', () => {
    if (es !== source) return;
    onStatus?.(es.readyState === EventSource.CLOSED ? 'closed' : 'connecting');
    if (es.readyState === EventSource.CLOSED) revalidate();
  });
  // Changes made while disconnected are caught up on reconnection.
  let opened = false;
  es.addEventListener('open', () => {
    if (es !== source) return;
    onStatus?.('open');
    if (opened) onLagged();
    opened = true;
  });
  source = es;
  onStatus?.('connecting');
}
