// The People tab: everyone in the app (searched by the start of their names and paged from
// the server, no cap) or only the user's own contacts (kept on the server), each with their
// presence as the server pushes it (presence.subscribe, no polling).
import { CallType } from '/sdk/duet.js';
import { $, avatar, iconButton } from './ui.js';

const PAGE = 50;

let client = null;
let dial = () => {};
let mine = false; // "My contacts" rather than everyone
let query = '';
let cursor = ''; // the next page of everyone ('' when there is none)
let generation = 0; // drops the answers of loads that a newer one replaced
let contacts = new Set();
let reloadTimer = 0;
const rows = new Map(); // username → <li>

const presenceDelegate = { presenceDidChange: (user, online) => onPresence(user, online) };

/** Starts the tab for a logged-in client; dialFn(name, type) places a call. */
export async function startPeople(c, dialFn) {
  client = c;
  dial = dialFn;
  client.presenceManager.addDelegate(presenceDelegate);
  reload();
  try {
    contacts = new Set(await client.contactManager.getAllContacts());
    for (const [u, li] of rows) setContactButton(li, u);
    // Everyone the app's policy shows (the SDK subscribes again after a reconnect); the
    // contacts too, for apps whose policy is "contacts only".
    await client.presenceManager.subscribeApp();
    await client.presenceManager.subscribeContacts();
  } catch { /* offline right now: the SDK subscribes when it reconnects */ }
}

export function stopPeople() {
  if (client) client.presenceManager.removeDelegate(presenceDelegate);
  client = null;
  generation++;
  rows.clear();
  $('contacts').replaceChildren();
}

/** Loads the first page again (the tab was opened, the search or the filter changed). */
export async function reload() {
  if (!client) return;
  const gen = ++generation;
  cursor = '';
  let list;
  try {
    list = await fetchPage('');
  } catch {
    return; // keep what is shown; the next open retries
  }
  if (gen !== generation) return;
  rows.clear();
  $('contacts').replaceChildren(...list.map(row));
  $('contacts').dataset.loaded = '1';
  render();
}

async function more() {
  if (!client || !cursor) return;
  const gen = generation;
  $('more').disabled = true;
  try {
    const list = await fetchPage(cursor);
    if (gen !== generation) return;
    $('contacts').append(...list.filter((u) => !rows.has(u.username)).map(row));
  } catch { /* the button stays for another try */ } finally {
    $('more').disabled = false;
  }
  render();
}

/** A page of users, each {username, online}; sets cursor to the next page. */
async function fetchPage(after) {
  const me = client.currentUsername;
  if (mine) {
    const names = [...contacts].filter((u) => u.startsWith(query)).sort();
    cursor = '';
    return names.map((u) => ({ username: u, online: !!client.presenceManager.isOnline(u) }));
  }
  const qs = new URLSearchParams({ q: query, limit: String(PAGE) });
  if (after) qs.set('cursor', after);
  const r = await fetch('/demo/users?' + qs, { headers: { Authorization: 'Bearer ' + client.accessToken } });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  const body = await r.json();
  cursor = body.cursor || '';
  return body.users.filter((u) => u.username !== me).map((u) => {
    const known = client.presenceManager.isOnline(u.username);
    return { username: u.username, online: known === undefined ? u.online : known };
  });
}

function render() {
  $('more').hidden = !cursor;
  const empty = $('home-empty');
  if (!$('contacts').hidden) {
    empty.hidden = rows.size > 0;
    empty.textContent = mine
      ? (query ? `None of your contacts starts with “${query}”.` : 'No contacts yet. Tap the star next to someone to add them.')
      : (query ? `No one called “${query}…” here. You can still dial a username above.`
        : 'No one else is here yet. Open this page in another browser and create a second account to call it.');
  }
  const n = rows.size;
  const noun = mine ? (n === 1 && !cursor ? 'contact' : 'contacts') : (n === 1 && !cursor ? 'person' : 'people');
  $('people-count').textContent = n ? `${n}${cursor ? '+' : ''} ${noun}` : '';
}

function row(u) {
  const li = document.createElement('li');
  li.dataset.user = u.username;
  const av = document.createElement('span');
  av.className = 'avatar';
  avatar(av, u.username);
  const who = document.createElement('div');
  who.className = 'who';
  const name = document.createElement('strong');
  name.textContent = u.username;
  const st = document.createElement('small');
  who.append(name, st);
  const star = iconButton('i-star', '', 'fav', () => toggleContact(u.username, star));
  const voice = iconButton('i-phone', `Voice call ${u.username}`, 'dial voice', () => dial(u.username, CallType.Voice));
  const video = iconButton('i-video', `Video call ${u.username}`, 'dial video', () => dial(u.username, CallType.Video));
  li.append(av, who, star, voice, video);
  rows.set(u.username, li);
  setOnline(li, u.online);
  setContactButton(li, u.username);
  return li;
}

function setOnline(li, online) {
  li.classList.toggle('online', online);
  li.querySelector('small').textContent = online ? 'online' : 'offline';
}

function setContactButton(li, user) {
  const b = li.querySelector('button.fav');
  const is = contacts.has(user);
  b.classList.toggle('active', is);
  b.setAttribute('aria-pressed', String(is));
  const label = is ? `Remove ${user} from contacts` : `Add ${user} to contacts`;
  b.setAttribute('aria-label', label);
  b.title = label;
}

async function toggleContact(user, button) {
  if (!client) return;
  button.disabled = true;
  try {
    if (contacts.has(user)) {
      await client.contactManager.deleteContact(user);
      contacts.delete(user);
    } else {
      await client.contactManager.addContact(user);
      contacts.add(user);
    }
  } catch { /* unchanged: the button shows the list as it is */ } finally {
    button.disabled = false;
  }
  const li = rows.get(user);
  if (li) setContactButton(li, user);
}

function onPresence(user, online) {
  const li = rows.get(user);
  if (li) { setOnline(li, online); return; }
  // Someone not shown yet came online (a new account, say): show them if they belong on
  // what is loaded.
  if (!mine && online && user.startsWith(query) && (!cursor || user < cursor) && user !== client.currentUsername) {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(reload, 150);
  }
}

/** Wires the search box, the filter and "Show more". */
export function wirePeople() {
  let t = 0;
  $('search').addEventListener('input', () => {
    clearTimeout(t);
    t = setTimeout(() => { query = $('search').value.trim().toLowerCase(); reload(); }, 200);
  });
  for (const b of document.querySelectorAll('.filter button')) {
    b.addEventListener('click', () => {
      mine = b.dataset.filter === 'mine';
      for (const x of document.querySelectorAll('.filter button')) x.setAttribute('aria-pressed', String(x === b));
      reload();
    });
  }
  $('more').addEventListener('click', more);
}

export function peopleShown() { return render(); }
