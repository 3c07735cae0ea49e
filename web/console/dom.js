// The console's small DOM toolkit: element building, tables, the view and error slots.
import { APIError, forget } from './api.js';

const view = () => document.getElementById('view');
const errorBox = () => document.getElementById('error');

/** Builds an element: el('td', {class: 'n'}, 'text', child…); on* attributes are listeners. */
export function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) e.append(k instanceof Node ? k : document.createTextNode(String(k ?? '')));
  return e;
}

export const time = (ms) => (ms ? new Date(ms).toLocaleString() : '—');
export const secs = (ms) => (ms > 0 ? `${Math.round(ms / 100) / 10} s` : '—');

/**
 * A table with a header row; an empty body says so. The columns whose indexes are in opt
 * are optional: a phone leaves them out.
 */
export function table(head, rows, opt = []) {
  for (const r of rows) for (const i of opt) r.children[i]?.classList.add('opt');
  return el('div', { class: 'scroll' }, el('table', {},
    el('thead', {}, el('tr', {}, head.map((h, i) => el('th', { scope: 'col', class: opt.includes(i) ? 'opt' : null }, h)))),
    el('tbody', {}, rows.length ? rows : [el('tr', {}, el('td', { colspan: head.length, class: 'muted' }, 'Nothing here yet.'))])));
}

/** Replaces the view with a titled page. */
export function show(title, ...content) {
  view().replaceChildren(el('h1', {}, title), ...content);
  document.title = `${title} · duet console`;
}

/** Shows an error for a few seconds. */
export function showError(msg) {
  const box = errorBox();
  box.textContent = msg;
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

/** A card of the dashboard: a big number and its label. */
export const card = (n, l, attrs = {}) => el('div', { class: 'card', ...attrs }, el('div', { class: 'n' }, n), el('div', { class: 'l' }, l));

/** Reports a failed request: a refused admin token goes back to the login page. */
export function fail(err) {
  if (err instanceof APIError && err.status === 401) {
    forget();
    location.hash = '#/login';
    return;
  }
  showError(err.message || String(err));
}
