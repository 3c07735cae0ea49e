// Recordings of an app, newest first, each playable in the page: the file needs an app
// token, which a <video src> cannot send, so the player gets it fetched into a Blob.
import { app, appBlob, appPath } from './api.js';
import { el, show, table, time, secs, fail } from './dom.js';

const enc = encodeURIComponent;

/** A table of the recordings a list endpoint of the app returns, with a Play button each. */
export async function recordingList(key, path) {
  const r = await app(key, 'GET', path);
  const player = el('div', { class: 'player' });
  const rows = r.entities.map((rec) => el('tr', { 'data-recording': rec.id },
    el('td', {}, rec.recordType === 'MERGE_ALL' ? 'merged' : rec.owner),
    el('td', {}, el('a', { href: `#/call/${enc(key)}/${enc(rec.callId)}` }, rec.callId)),
    el('td', {}, rec.status), el('td', {}, time(rec.begin)), el('td', {}, secs(rec.duration)),
    el('td', {}, rec.size ? `${Math.round(rec.size / 1024)} KiB` : '—'),
    el('td', {}, rec.url ? el('button', { type: 'button', 'aria-label': `Play ${rec.id}`, onclick: () => play(key, rec, player).catch(fail) }, 'Play') : '')));
  return el('div', {}, table(['party', 'call', 'status', 'began', 'length', 'size', ''], rows, [1, 3, 5]), player);
}

async function play(key, rec, player) {
  const path = new URL(rec.url, location.href).pathname.replace(`/${appPath(key)}`, '');
  const blob = await appBlob(key, path);
  const old = player.querySelector('video');
  if (old && old.src.startsWith('blob:')) URL.revokeObjectURL(old.src);
  const video = el('video', { controls: true, autoplay: true, playsinline: true, 'data-recording': rec.id, 'aria-label': `Recording ${rec.id}` });
  video.src = URL.createObjectURL(blob);
  player.replaceChildren(el('p', {}, `${rec.recordType === 'MERGE_ALL' ? 'Merged recording' : `${rec.owner}\u2019s recording`} of call ${rec.callId}`), video);
  video.play().catch(() => {}); // autoplay may be refused; the controls remain
}

export async function recordingsView(key) {
  show(`Recordings of ${key}`, await recordingList(key, '/recordings?limit=50'));
}
