// The operator's console: one page, hash routes, views built from the documented REST API
// (docs/REST.md) with the admin token the operator logs in with. No build step, like the
// demo app; served by `duet server` at /console/.
import { admin, app, appPath, forget, health, session, APIError } from './api.js';
import { lineChart, fmt } from './chart.js';
import { END_REASONS, CONNECT, timeline } from './records.js';

const view = document.getElementById('view');
const nav = document.getElementById('nav');
const errorBox = document.getElementById('error');

const TYPES = { 0: 'voice', 1: 'video' };

/** Builds an element: el('td', {class: 'n'}, 'text', child…). */
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) e.append(k instanceof Node ? k : document.createTextNode(String(k ?? '')));
  return e;
}

const time = (ms) => (ms ? new Date(ms).toLocaleString() : '—');
const secs = (ms) => (ms > 0 ? `${Math.round(ms / 100) / 10} s` : '—');

function table(head, rows) {
  return el('div', { class: 'scroll' }, el('table', {},
    el('thead', {}, el('tr', {}, head.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.length ? rows : [el('tr', {}, el('td', { colspan: head.length, class: 'muted' }, 'Nothing here yet.'))])));
}

function show(title, ...content) {
  view.replaceChildren(el('h1', {}, title), ...content);
  document.title = `${title} · duet console`;
}

function fail(err) {
  if (err instanceof APIError && err.status === 401) {
    forget();
    location.hash = '#/login';
    return;
  }
  errorBox.textContent = err.message || String(err);
  errorBox.hidden = false;
  setTimeout(() => { errorBox.hidden = true; }, 6000);
}

async function apps() {
  const r = await admin('GET', '/apps');
  return r.entities;
}

// ---------- views ----------

function loginView() {
  nav.hidden = true;
  const input = el('input', { type: 'password', name: 'token', autocomplete: 'current-password', required: true, 'aria-label': 'Admin token' });
  const form = el('form', { class: 'row', onsubmit: async (ev) => {
    ev.preventDefault();
    session.token = input.value.trim();
    try {
      await apps();
      location.hash = '#/dashboard';
    } catch (err) {
      forget();
      fail(err instanceof APIError && err.status === 401 ? new Error('That admin token is not accepted.') : err);
    }
  } }, el('label', {}, 'Admin token (duet server prints where it is)', input), el('button', { class: 'primary', type: 'submit' }, 'Log in'));
  show('Log in', el('p', { class: 'muted' }, 'The console uses the server\u2019s admin API.'), form);
  input.focus();
}

async function dashboardView() {
  const [h, list] = await Promise.all([health(), apps()]);
  const since = Date.now() - 3600_000;
  let live = 0; let ended = 0; const byReason = {}; let answered = 0;
  for (const a of list) {
    const [l, calls] = await Promise.all([
      admin('GET', `/apps/${appPath(a.key)}/calls/live`),
      app(a.key, 'GET', `/calls?since=${since}&limit=100`),
    ]);
    live += l.entities.length;
    for (const c of calls.entities) {
      ended++;
      if (c.acceptedAt) answered++;
      const r = END_REASONS[c.endReason] || String(c.endReason);
      byReason[r] = (byReason[r] || 0) + 1;
    }
  }
  const card = (n, l) => el('div', { class: 'card' }, el('div', { class: 'n' }, n), el('div', { class: 'l' }, l));
  show('Dashboard',
    el('div', { class: 'cards' },
      card(h ? h.connections : '—', 'devices online (this node)'),
      card(live, 'live calls'),
      card(fmt(ended / 60), 'calls per minute (last hour)'),
      card(ended ? `${Math.round((answered / ended) * 100)} %` : '—', 'answered (last hour)'),
      card(list.length, 'apps')),
    el('h2', {}, 'How calls ended in the last hour'),
    table(['reason', 'calls'], Object.entries(byReason).sort((a, b) => b[1] - a[1]).map(([r, n]) => el('tr', {}, el('td', {}, r), el('td', {}, n)))),
    h && h.node ? el('p', { class: 'muted' }, `Node ${h.node}, deciding partitions ${h.partitions.join(', ') || 'none'}; ${h.peers} other nodes.`) : '');
}

async function appsView() {
  const list = await apps();
  const org = el('input', { name: 'org', required: true, 'aria-label': 'Organization' });
  const name = el('input', { name: 'name', required: true, 'aria-label': 'App name' });
  const mode = el('select', { name: 'registration', 'aria-label': 'Registration' }, el('option', { value: 'open' }, 'open'), el('option', { value: 'authorized' }, 'authorized'));
  const form = el('form', { class: 'row', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await admin('POST', '/apps', { org: org.value.trim(), name: name.value.trim(), registration: mode.value });
      appsView().catch(fail);
    } catch (err) { fail(err); }
  } }, el('label', {}, 'Organization', org), el('label', {}, 'Name', name), el('label', {}, 'Registration', mode),
  el('button', { class: 'primary', type: 'submit' }, 'Create app'));
  show('Apps', form, table(['app', 'registration', 'created', ''], list.map((a) => el('tr', {},
    el('td', {}, a.key), el('td', {}, a.registration), el('td', {}, time(a.created)),
    el('td', {}, el('a', { href: `#/users/${encodeURIComponent(a.key)}` }, 'Users'), ' · ',
      el('a', { href: `#/calls/${encodeURIComponent(a.key)}` }, 'Calls'), ' · ',
      el('a', { href: `#/live/${encodeURIComponent(a.key)}` }, 'Live'))))));
}

/** Lets the operator pick an app when a view needs one and the route names none. */
async function pickApp(route) {
  const list = await apps();
  if (list.length === 1) { location.hash = `#/${route}/${encodeURIComponent(list[0].key)}`; return; }
  show('Choose an app', el('ul', {}, list.map((a) => el('li', {}, el('a', { href: `#/${route}/${encodeURIComponent(a.key)}` }, a.key)))));
}

async function usersView(key, cursor = '') {
  const q = `?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
  const page = await admin('GET', `/apps/${appPath(key)}/users${q}`);
  const user = el('input', { name: 'username', required: true, 'aria-label': 'Username' });
  const pass = el('input', { name: 'password', type: 'password', required: true, 'aria-label': 'Password' });
  const form = el('form', { class: 'row', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await admin('POST', `/apps/${appPath(key)}/users`, { username: user.value.trim(), password: pass.value });
      usersView(key).catch(fail);
    } catch (err) { fail(err); }
  } }, el('label', {}, 'Username', user), el('label', {}, 'Password', pass), el('button', { class: 'primary', type: 'submit' }, 'Add user'));
  const rows = page.entities.map((u) => el('tr', {}, el('td', {}, u.username), el('td', {}, time(u.created)),
    el('td', {}, el('a', { href: `#/calls/${encodeURIComponent(key)}/user/${encodeURIComponent(u.username)}` }, 'Calls'), ' ',
      el('button', { class: 'danger', type: 'button', 'aria-label': `Delete ${u.username}`, onclick: async () => {
        if (!confirm(`Delete ${u.username}? Their devices are disconnected.`)) return;
        try { await admin('DELETE', `/apps/${appPath(key)}/users/${encodeURIComponent(u.username)}`); usersView(key, cursor).catch(fail); } catch (err) { fail(err); }
      } }, 'Delete'))));
  const more = page.cursor ? el('button', { type: 'button', onclick: () => usersView(key, page.cursor).catch(fail) }, 'Next page') : '';
  show(`Users of ${key}`, form, table(['user', 'created', ''], rows), el('p', {}, more));
}

async function liveView(key) {
  const r = await admin('GET', `/apps/${appPath(key)}/calls/live`);
  const rows = r.entities.map((c) => el('tr', { 'data-call': c.callId }, el('td', {}, c.callId), el('td', {}, `${c.caller} → ${c.callee}`),
    el('td', {}, c.typeName), el('td', {}, c.state), el('td', {}, time(c.invitedAt)), el('td', {}, CONNECT[c.connectType] || ''),
    el('td', {}, el('button', { class: 'danger', type: 'button', 'aria-label': `End call ${c.callId}`, onclick: async () => {
      if (!confirm('End this call for both parties? They are told the service ended it (reason 103).')) return;
      try { await admin('DELETE', `/apps/${appPath(key)}/calls/${encodeURIComponent(c.callId)}?reason=103`); liveView(key).catch(fail); } catch (err) { fail(err); }
    } }, 'End call'))));
  show(`Live calls of ${key}`, table(['call', 'parties', 'type', 'state', 'since', 'connected', ''], rows),
    el('p', {}, el('button', { type: 'button', onclick: () => liveView(key).catch(fail) }, 'Refresh')));
}

const callCache = new Map();

async function callsView(key, user = '', cursor = '') {
  const q = new URLSearchParams({ limit: '20' });
  if (user) q.set('user', user);
  if (cursor) q.set('cursor', cursor);
  const page = await app(key, 'GET', `/calls?${q}`);
  for (const c of page.entities) callCache.set(`${key}/${c.id}`, c);
  const who = el('input', { name: 'user', value: user, 'aria-label': 'Filter by user' });
  const form = el('form', { class: 'row', onsubmit: (ev) => {
    ev.preventDefault();
    location.hash = who.value.trim() ? `#/calls/${encodeURIComponent(key)}/user/${encodeURIComponent(who.value.trim())}` : `#/calls/${encodeURIComponent(key)}`;
  } }, el('label', {}, 'User', who), el('button', { type: 'submit' }, 'Filter'));
  const rows = page.entities.map((c) => el('tr', {},
    el('td', {}, el('a', { href: `#/call/${encodeURIComponent(key)}/${encodeURIComponent(c.id)}` }, c.id)),
    el('td', {}, `${c.caller} → ${c.callee}`), el('td', {}, TYPES[c.type] || c.type), el('td', {}, time(c.invitedAt)),
    el('td', {}, c.acceptedAt ? secs(c.endedAt - c.acceptedAt) : 'not answered'), el('td', {}, END_REASONS[c.endReason] || c.endReason)));
  const more = page.cursor ? el('button', { type: 'button', onclick: () => callsView(key, user, page.cursor).catch(fail) }, 'Next page') : '';
  show(`Calls of ${key}${user ? ` with ${user}` : ''}`, form, table(['call', 'parties', 'type', 'invited', 'talk time', 'ended'], rows), el('p', {}, more));
}

async function callView(key, id) {
  let c = callCache.get(`${key}/${id}`);
  if (!c) {
    const page = await app(key, 'GET', '/calls?limit=100');
    c = page.entities.find((x) => x.id === id);
  }
  const q = await app(key, 'GET', `/calls/${encodeURIComponent(id)}/quality`);
  const report = q.entities[0];
  const parts = [];
  if (c) {
    parts.push(el('h2', {}, 'Timeline'), el('ol', { class: 'timeline' },
      timeline(c).map(([t, what]) => el('li', {}, el('span', { class: 'muted' }, `+${((t - c.invitedAt) / 1000).toFixed(1)} s `), what))));
  } else {
    parts.push(el('p', { class: 'muted' }, 'The record of this call is not among the app\u2019s latest 100 calls.'));
  }
  parts.push(el('h2', {}, 'Quality'));
  if (!report.parties.length) parts.push(el('p', { class: 'muted' }, 'No device reported quality samples for this call.'));
  for (const p of report.parties) {
    const s = p.summary;
    const t0 = p.samples.length ? p.samples[0].at : 0;
    const pts = (f) => p.samples.map((x) => [(x.at - t0) / 1000, f(x)]);
    parts.push(el('h2', {}, `${p.user} on ${p.device}`),
      el('p', {}, `Audio score ${fmt(s.mos)} (worst ${fmt(s.mosMin)}), round trip ${fmt(s.rttAvgMs)} ms (worst ${fmt(s.rttMaxMs)}), `
        + `loss heard ${fmt(s.lossInAvg * 100)} % (worst ${fmt(s.lossInMax * 100)} %), video frozen ${fmt(s.freezeRatio * 100)} % of the time, `
        + `${s.samples} samples over ${secs(s.coveredMs)}.`),
      lineChart('Packet loss', [{ name: 'heard', points: pts((x) => x.lossIn * 100) }, { name: 'sent', points: pts((x) => x.lossOut * 100) }], ' %'),
      lineChart('Round trip', [{ name: 'rtt', points: pts((x) => x.rttMs) }, { name: 'jitter', points: pts((x) => x.jitterMs) }], ' ms'),
      lineChart('Bitrate received', [{ name: 'audio', points: pts((x) => x.audioKbpsIn) }, { name: 'video', points: pts((x) => x.videoKbpsIn || 0) }], ' kbit/s'));
  }
  if (c && c.serverVideoId) {
    const recs = await app(key, 'GET', `/recordings?serverVideoId=${encodeURIComponent(c.serverVideoId)}`);
    parts.push(el('h2', {}, 'Recordings'));
    for (const r of recs.entities) {
      parts.push(el('p', {}, `${r.recordType === 'MERGE_ALL' ? 'merged' : r.owner}: ${r.status}, ${secs(r.duration)}`),
        r.url ? el('video', { controls: true, preload: 'metadata', src: r.url, 'aria-label': `Recording ${r.id}` }) : '');
    }
  }
  show(`Call ${id}`, ...parts);
}

// ---------- routing ----------

const routes = [
  [/^#\/login$/, loginView],
  [/^#\/dashboard$/, dashboardView],
  [/^#\/apps$/, appsView],
  [/^#\/users$/, () => pickApp('users')],
  [/^#\/users\/([^/]+)$/, (k) => usersView(k)],
  [/^#\/live$/, () => pickApp('live')],
  [/^#\/live\/([^/]+)$/, (k) => liveView(k)],
  [/^#\/calls$/, () => pickApp('calls')],
  [/^#\/calls\/([^/]+)$/, (k) => callsView(k)],
  [/^#\/calls\/([^/]+)\/user\/([^/]+)$/, (k, u) => callsView(k, u)],
  [/^#\/call\/([^/]+)\/([^/]+)$/, (k, id) => callView(k, id)],
];

async function route() {
  errorBox.hidden = true;
  const hash = location.hash || '#/dashboard';
  if (!session.token && hash !== '#/login') { location.hash = '#/login'; return; }
  nav.hidden = hash === '#/login';
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', hash.startsWith(a.getAttribute('href')));
  for (const [re, fn] of routes) {
    const m = hash.match(re);
    if (m) {
      try { await fn(...m.slice(1).map(decodeURIComponent)); } catch (err) { fail(err); }
      return;
    }
  }
  location.hash = '#/dashboard';
}

if (typeof window !== 'undefined' && view) {
  document.getElementById('logout').addEventListener('click', () => { forget(); location.hash = '#/login'; });
  window.addEventListener('hashchange', route);
  route();
}
