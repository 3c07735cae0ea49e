// The operator's console: one page, hash routes, views built from the documented REST API
// (docs/REST.md) with the admin token the operator logs in with. No build step, like the
// demo app; served by `duet server` at /console/. Each view lives in a module of its own.
import { admin, forget, session, APIError } from './api.js';
import { el, show, fail } from './dom.js';
import { dashboardView } from './dashboard.js';
import { appsView, appView } from './apps.js';
import { usersView, userView } from './users.js';
import { liveView, callsView, callView } from './calls.js';
import { recordingsView } from './recordings.js';

const nav = document.getElementById('nav');

function loginView() {
  nav.hidden = true;
  const input = el('input', { type: 'password', name: 'token', autocomplete: 'current-password', required: true, 'aria-label': 'Admin token' });
  const form = el('form', { class: 'row', onsubmit: async (ev) => {
    ev.preventDefault();
    session.token = input.value.trim();
    try {
      await admin('GET', '/apps');
      location.hash = '#/dashboard';
    } catch (err) {
      forget();
      fail(err instanceof APIError && err.status === 401 ? new Error('That admin token is not accepted.') : err);
    }
  } }, el('label', {}, 'Admin token (duet server prints where it is)', input), el('button', { class: 'primary', type: 'submit' }, 'Log in'));
  show('Log in', el('p', { class: 'muted' }, 'The console uses the server\u2019s admin API.'), form);
  input.focus();
}

/** Lets the operator pick an app when a view needs one and the route names none. */
async function pickApp(route) {
  const list = (await admin('GET', '/apps')).entities;
  if (list.length === 1) { location.hash = `#/${route}/${encodeURIComponent(list[0].key)}`; return; }
  show('Choose an app', el('ul', {}, list.map((a) => el('li', {}, el('a', { href: `#/${route}/${encodeURIComponent(a.key)}` }, a.key)))));
}

// Routes: a pattern of the hash's path, and the view it shows (called with the path's
// parts, then the hash's query).
const routes = [
  [/^#\/login$/, loginView],
  [/^#\/dashboard$/, dashboardView],
  [/^#\/apps$/, appsView],
  [/^#\/app\/([^/]+)$/, appView],
  [/^#\/users$/, () => pickApp('users')],
  [/^#\/users\/([^/]+)$/, usersView],
  [/^#\/user\/([^/]+)\/([^/]+)$/, (k, u) => userView(k, u)],
  [/^#\/live$/, () => pickApp('live')],
  [/^#\/live\/([^/]+)$/, liveView],
  [/^#\/calls$/, () => pickApp('calls')],
  [/^#\/calls\/([^/]+)$/, callsView],
  [/^#\/calls\/([^/]+)\/user\/([^/]+)$/, (k, u) => callsView(k, new URLSearchParams({ user: u }))],
  [/^#\/call\/([^/]+)\/([^/]+)$/, (k, id) => callView(k, id)],
  [/^#\/recordings$/, () => pickApp('recordings')],
  [/^#\/recordings\/([^/]+)$/, recordingsView],
];

async function route() {
  document.getElementById('error').hidden = true;
  const hash = location.hash || '#/dashboard';
  if (!session.token && hash !== '#/login') { location.hash = '#/login'; return; }
  const [path, query = ''] = hash.split('?');
  nav.hidden = path === '#/login';
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', path.startsWith(a.getAttribute('href')));
  for (const [re, fn] of routes) {
    const m = path.match(re);
    if (m) {
      document.body.dataset.view = path.split('/')[1];
      try { await fn(...m.slice(1).map(decodeURIComponent), new URLSearchParams(query)); } catch (err) { fail(err); }
      document.body.dataset.loaded = hash;
      return;
    }
  }
  location.hash = '#/dashboard';
}

if (typeof window !== 'undefined' && document.getElementById('view')) {
  document.getElementById('logout').addEventListener('click', () => { forget(); location.hash = '#/login'; });
  window.addEventListener('hashchange', route);
  route();
}
