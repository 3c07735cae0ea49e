// Users of an app: search by name (prefix), pages forward and back, add, delete, and sign
// a user out everywhere (the operator's kick: every token revoked, devices disconnected);
// a user's page lists their connected devices and kicks one.
import { admin, appPath } from './api.js';
import { el, show, table, time, fail } from './dom.js';

const enc = encodeURIComponent;
const PAGE = 20;

/**
 * One page of users in username order. `after` is the cursor (the last username of the
 * previous page); a search starts after the name just before the prefix and keeps the names
 * that start with it.
 */
export async function usersView(key, q = new URLSearchParams()) {
  const prefix = (q.get('q') || '').toLowerCase();
  const after = q.get('after') ?? (prefix ? beforePrefix(prefix) : '');
  // The cursors of the pages before this one (the first page's is '').
  const back = q.has('back') ? q.get('back').split(',') : [];
  const path = `/apps/${appPath(key)}/users?limit=${PAGE}${after ? `&cursor=${enc(after)}` : ''}`;
  const page = await admin('GET', path);
  let users = page.entities;
  let next = page.cursor || '';
  if (prefix) {
    const n = users.length;
    users = users.filter((u) => u.username.startsWith(prefix));
    if (users.length < n) next = ''; // names sort by prefix: once one does not match, none after it does
  }
  const go = ({ back: b = [], ...params }) => {
    const p = new URLSearchParams(params);
    if (b.length) p.set('back', b.join(','));
    location.hash = `#/users/${enc(key)}?${p}`;
  };

  const user = el('input', { name: 'username', required: true, 'aria-label': 'Username' });
  const pass = el('input', { name: 'password', type: 'password', required: true, 'aria-label': 'Password' });
  const add = el('form', { class: 'row', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await admin('POST', `/apps/${appPath(key)}/users`, { username: user.value.trim(), password: pass.value });
      go({ q: user.value.trim() });
    } catch (err) { fail(err); }
  } }, el('label', {}, 'Username', user), el('label', {}, 'Password', pass), el('button', { class: 'primary', type: 'submit' }, 'Add user'));
  const search = el('input', { name: 'q', type: 'search', value: prefix, 'aria-label': 'Search users' });
  const find = el('form', { class: 'row', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    go(search.value.trim() ? { q: search.value.trim() } : {});
  } }, el('label', {}, 'Names starting with', search), el('button', { type: 'submit' }, 'Search'));

  const rows = users.map((u) => el('tr', { 'data-user': u.username }, el('td', {}, u.username), el('td', {}, u.nickname || ''), el('td', {}, time(u.created)),
    el('td', {}, el('div', { class: 'links' },
      el('a', { href: `#/user/${enc(key)}/${enc(u.username)}` }, 'Devices'),
      el('a', { href: `#/calls/${enc(key)}?user=${enc(u.username)}` }, 'Calls'),
      el('button', { type: 'button', 'aria-label': `Sign out ${u.username}`, onclick: async () => {
        if (!confirm(`Sign ${u.username} out everywhere? Every token is revoked and the devices are disconnected.`)) return;
        try { await admin('DELETE', `/apps/${appPath(key)}/users/${enc(u.username)}/tokens`); } catch (err) { fail(err); }
      } }, 'Sign out'),
      el('button', { class: 'danger', type: 'button', 'aria-label': `Delete ${u.username}`, onclick: async () => {
        if (!confirm(`Delete ${u.username}? Their devices are disconnected.`)) return;
        try { await admin('DELETE', `/apps/${appPath(key)}/users/${enc(u.username)}`); usersView(key, q).catch(fail); } catch (err) { fail(err); }
      } }, 'Delete')))));
  const start = back.length * PAGE + 1;
  const pager = el('p', { class: 'pager' },
    el('span', { class: 'muted', 'data-page': back.length + 1 }, users.length ? `users ${start}–${start + users.length - 1}` : ''),
    back.length ? el('button', { type: 'button', onclick: () => go({ ...(prefix && { q: prefix }), after: back.at(-1), back: back.slice(0, -1) }) }, 'Previous page') : '',
    next ? el('button', { type: 'button', onclick: () => go({ ...(prefix && { q: prefix }), after: next, back: [...back, after] }) }, 'Next page') : '');
  show(`Users of ${key}`, find, table(['user', 'nickname', 'created', ''], rows, [1, 2]), pager, el('h2', {}, 'Add a user'), add);
}

/** A user's page: their devices connected now (on every node), each with a kick button. */
export async function userView(key, name) {
  const base = `/apps/${appPath(key)}/users/${enc(name)}`;
  const devices = (await admin('GET', `${base}/devices`)).entities;
  const media = (d) => [d.audio && 'audio', d.video && 'video'].filter(Boolean).join(', ') || '—';
  const rows = devices.map((d) => el('tr', { 'data-device': d.deviceId }, el('td', {}, d.deviceId), el('td', {}, media(d)),
    el('td', {}, el('button', { class: 'danger', type: 'button', 'aria-label': `Kick ${d.deviceId}`, onclick: async () => {
      if (!confirm(`Disconnect ${name}'s device ${d.deviceId}? It stops reconnecting; ${name} stays signed in elsewhere.`)) return;
      try { await admin('DELETE', `${base}/devices/${enc(d.deviceId)}`); userView(key, name).catch(fail); } catch (err) { fail(err); }
    } }, 'Kick'))));
  show(`${name} of ${key}`,
    el('div', { class: 'links' }, el('a', { href: `#/users/${enc(key)}?q=${enc(name)}` }, 'All users'), el('a', { href: `#/calls/${enc(key)}?user=${enc(name)}` }, 'Calls')),
    el('h2', {}, 'Devices online'), table(['device', 'media', ''], rows),
    el('p', {}, el('button', { type: 'button', onclick: () => userView(key, name).catch(fail) }, 'Refresh')));
}

// Usernames' characters in sort order (docs/REST.md: [A-Za-z0-9_.-], stored lower-case).
const CHARS = '-.0123456789_abcdefghijklmnopqrstuvwxyz';
const MAX_NAME = 64;

/**
 * The cursor that lists names from prefix on: the greatest valid username that sorts
 * before every name starting with prefix (the prefix with its last character decremented,
 * then padded with the last character to the longest name), so that no valid name lies
 * between the two. '' when prefix is the smallest there is.
 */
export function beforePrefix(prefix) {
  const head = prefix.slice(0, -1);
  const i = CHARS.indexOf(prefix.at(-1));
  if (i <= 0) return head;
  return (head + CHARS[i - 1]).padEnd(MAX_NAME, CHARS.at(-1));
}
