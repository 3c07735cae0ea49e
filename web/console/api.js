// The console's REST client: the admin API with the operator's admin token, and an app's
// own API with an app token the admin API mints (kept per app for the session).

const tokenKey = 'duet.console.token';

export const session = {
  get token() { return sessionStorage.getItem(tokenKey) || ''; },
  set token(t) { if (t) sessionStorage.setItem(tokenKey, t); else sessionStorage.removeItem(tokenKey); },
};

const appTokens = new Map();

/** Thrown for a reply that is not 2xx; code is duet's error code when the body has one. */
export class APIError extends Error {
  constructor(status, body) {
    super(body?.error_description || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
  }
}

async function call(method, path, token, body) {
  const resp = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON: the status says enough */ }
  if (!resp.ok) throw new APIError(resp.status, data);
  return data;
}

/** Calls the admin API. */
export const admin = (method, path, body) => call(method, `/admin/v1${path}`, session.token, body);

/** "org#app" → "org/app", the path of an app. */
export const appPath = (key) => key.replace('#', '/');

/** An app token of the app, minted once per session through the admin API. */
async function appToken(key) {
  let tok = appTokens.get(key);
  if (!tok) {
    const r = await admin('POST', `/apps/${appPath(key)}/token`, { ttl: 3600 });
    tok = r.access_token;
    appTokens.set(key, tok);
  }
  return tok;
}

/** Calls an app's API with an app token. */
export async function app(key, method, path, body) {
  return call(method, `/${appPath(key)}${path}`, await appToken(key), body);
}

/** Fetches a file of an app's API (a recording) with an app token, as a Blob. */
export async function appBlob(key, path) {
  const resp = await fetch(`/${appPath(key)}${path}`, { headers: { Authorization: `Bearer ${await appToken(key)}` } });
  if (!resp.ok) throw new APIError(resp.status, null);
  return resp.blob();
}

/** Reads every page of an app's list endpoint, up to max entities. */
export async function appPages(key, path, max) {
  const out = [];
  let cursor = '';
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await app(key, 'GET', `${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...page.entities);
    cursor = page.cursor || '';
  } while (cursor && out.length < max);
  return out.slice(0, max);
}

/** Forgets the tokens (log out). */
export function forget() {
  session.token = '';
  appTokens.clear();
}

/** The server's /healthz (no token). */
export async function health() {
  const r = await fetch('/healthz');
  return r.ok ? r.json() : null;
}
