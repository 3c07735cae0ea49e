// Calls: the live calls (end one as the operator), the call records with filters (user and
// time on the server; end reason and quality here) and a call's page (timeline, both
// parties' quality over time, recordings).
import { admin, app, appPath } from './api.js';
import { lineChart, fmt } from './chart.js';
import { el, show, table, time, secs, fail } from './dom.js';
import { END_REASONS, CONNECT, timeline } from './records.js';
import { BANDS, callBand, matches, worse } from './quality.js';
import { recordingList } from './recordings.js';

const TYPES = { 0: 'voice', 1: 'video' };
const enc = encodeURIComponent;
// A filter on end reason or quality reads pages of 100 until it has a page of matches, or
// this many records.
const SCAN = 1000;
const PAGE = 20;

/** What the latest samples of a live call say, party by party ('' before any). */
function currentQuality(report) {
  return report.parties.filter((p) => p.samples.length).map((p) => {
    const x = p.samples[p.samples.length - 1];
    return `${p.user}: ${fmt(x.lossIn * 100)} % loss, ${fmt(x.rttMs)} ms`;
  }).join('; ');
}

export async function liveView(key) {
  const r = await admin('GET', `/apps/${appPath(key)}/calls/live`);
  const reports = await Promise.all(r.entities.map((c) => app(key, 'GET', `/calls/${enc(c.callId)}/quality`).then((q) => q.entities[0], () => null)));
  const rows = r.entities.map((c, i) => el('tr', { 'data-call': c.callId },
    el('td', { class: 'id' }, el('a', { href: `#/call/${enc(key)}/${enc(c.callId)}` }, c.callId)), el('td', {}, `${c.caller} → ${c.callee}`),
    el('td', {}, c.typeName), el('td', {}, c.state), el('td', {}, time(c.invitedAt)), el('td', {}, CONNECT[c.connectType] || ''),
    el('td', { class: 'small' }, reports[i] ? currentQuality(reports[i]) : ''),
    el('td', {}, el('button', { class: 'danger', type: 'button', 'aria-label': `End call ${c.callId}`, onclick: async () => {
      if (!confirm('End this call for both parties? They are told the service ended it (reason 103).')) return;
      try { await admin('DELETE', `/apps/${appPath(key)}/calls/${enc(c.callId)}?reason=103`); liveView(key).catch(fail); } catch (err) { fail(err); }
    } }, 'End call'))));
  show(`Live calls of ${key}`, table(['call', 'parties', 'type', 'state', 'since', 'connected', 'quality now', ''], rows, [2, 4, 5]),
    el('p', {}, el('button', { type: 'button', onclick: () => liveView(key).catch(fail) }, 'Refresh')));
}

/** The records page's filters from the route's query. */
function filtersOf(q) {
  return {
    user: q.get('user') || '', since: q.get('since') || '', until: q.get('until') || '',
    reason: q.get('reason') || '', quality: q.get('quality') || '',
  };
}

/** Reads records from the server (user and time filters there) and keeps those matching here. */
async function findCalls(key, f, cursor) {
  const q = new URLSearchParams({ limit: String(f.reason || f.quality ? 100 : PAGE) });
  if (f.user) q.set('user', f.user);
  if (f.since) q.set('since', String(Date.parse(f.since)));
  if (f.until) q.set('until', String(Date.parse(f.until)));
  const found = [];
  let read = 0;
  do {
    if (cursor) q.set('cursor', cursor);
    const page = await app(key, 'GET', `/calls?${q}`);
    read += page.entities.length;
    found.push(...page.entities.filter((c) => matches(c, f)));
    cursor = page.cursor || '';
  } while (cursor && found.length < PAGE && read < SCAN);
  return { calls: found, cursor, read };
}

export async function callsView(key, q = new URLSearchParams(), cursor = '') {
  const f = filtersOf(q);
  const { calls, cursor: next, read } = await findCalls(key, f, cursor);
  const who = el('input', { name: 'user', value: f.user, 'aria-label': 'Filter by user' });
  const since = el('input', { name: 'since', type: 'datetime-local', value: f.since, 'aria-label': 'Invited since' });
  const until = el('input', { name: 'until', type: 'datetime-local', value: f.until, 'aria-label': 'Invited before' });
  const reason = el('select', { name: 'reason', 'aria-label': 'End reason' }, el('option', { value: '' }, 'any'),
    Object.entries(END_REASONS).map(([n, name]) => el('option', { value: n, selected: n === f.reason }, name)));
  const quality = el('select', { name: 'quality', 'aria-label': 'Quality' }, el('option', { value: '' }, 'any'),
    BANDS.map((b) => el('option', { value: b.name, selected: b.name === f.quality }, b.name)),
    el('option', { value: 'lossy', selected: f.quality === 'lossy' }, 'lossy (≥ 5 % loss)'),
    el('option', { value: 'none', selected: f.quality === 'none' }, 'not reported'));
  const form = el('form', { class: 'row', onsubmit: (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    for (const [k, input] of Object.entries({ user: who, since, until, reason, quality })) if (input.value.trim()) p.set(k, input.value.trim());
    location.hash = `#/calls/${enc(key)}${p.size ? `?${p}` : ''}`;
  } }, el('label', {}, 'User', who), el('label', {}, 'Since', since), el('label', {}, 'Before', until),
  el('label', {}, 'Ended', reason), el('label', {}, 'Quality', quality), el('button', { type: 'submit' }, 'Filter'));
  const rows = calls.map((c) => {
    const w = worse(c);
    return el('tr', { 'data-call': c.id, 'data-band': callBand(c) },
      el('td', { class: 'id' }, el('a', { href: `#/call/${enc(key)}/${enc(c.id)}` }, c.id)),
      el('td', {}, `${c.caller} → ${c.callee}`), el('td', {}, TYPES[c.type] || c.type), el('td', {}, time(c.invitedAt)),
      el('td', {}, c.acceptedAt ? secs(c.endedAt - c.acceptedAt) : 'not answered'), el('td', {}, END_REASONS[c.endReason] || c.endReason),
      el('td', {}, w ? el('span', { class: `badge ${callBand(c)}` }, `${fmt(w.mos)} · ${fmt(w.lossInMax * 100)} % loss`) : el('span', { class: 'muted' }, '—')));
  });
  const more = next ? el('button', { type: 'button', onclick: () => callsView(key, q, next).catch(fail) }, 'Next page') : '';
  const scanned = f.reason || f.quality ? el('p', { class: 'muted' }, `${calls.length} matching of ${read} records read.`) : '';
  show(`Calls of ${key}${f.user ? ` with ${f.user}` : ''}`, form, scanned,
    table(['call', 'parties', 'type', 'invited', 'talk time', 'ended', 'quality (worse party)'], rows, [2, 3, 4]), el('p', {}, more));
}

/** The time-series charts of one party, each figure carrying its data for tests and tools. */
function partyCharts(p) {
  const t0 = p.samples.length ? p.samples[0].at : 0;
  const pts = (fn) => p.samples.map((x) => [(x.at - t0) / 1000, fn(x)]);
  return [
    lineChart('Packet loss', [{ name: 'heard', points: pts((x) => x.lossIn * 100) }, { name: 'sent', points: pts((x) => x.lossOut * 100) }], ' %'),
    lineChart('Round trip', [{ name: 'rtt', points: pts((x) => x.rttMs) }, { name: 'jitter', points: pts((x) => x.jitterMs) }], ' ms'),
    lineChart('Bitrate received', [{ name: 'audio', points: pts((x) => x.audioKbpsIn) }, { name: 'video', points: pts((x) => x.videoKbpsIn || 0) }], ' kbit/s'),
    lineChart('Video received', [{ name: 'fps', points: pts((x) => x.fpsIn || 0) }, { name: 'frozen s', points: pts((x) => (x.freezeMs || 0) / 1000) }], ''),
  ];
}

function partySummary(p, role) {
  const s = p.summary;
  const dl = el('dl', { class: 'summary', 'data-user': p.user, 'data-loss-in-max': s.lossInMax, 'data-loss-in-avg': s.lossInAvg, 'data-mos': s.mos },
    ...[
      ['audio score', `${fmt(s.mos)} (worst ${fmt(s.mosMin)})`],
      ['round trip', `${fmt(s.rttAvgMs)} ms (worst ${fmt(s.rttMaxMs)})`],
      ['loss heard', `${fmt(s.lossInAvg * 100)} % (worst ${fmt(s.lossInMax * 100)} %)`],
      ['loss sent', `${fmt(s.lossOutAvg * 100)} % (worst ${fmt(s.lossOutMax * 100)} %)`],
      ['video frozen', `${fmt(s.freezeRatio * 100)} % of the time (${s.freezes} freezes)`],
      ['network', Object.entries(s.statusMs).map(([k, v]) => `${k} ${secs(v)}`).join(', ') || '—'],
      ['connected', `${s.connectType}, ${s.iceRestarts} ICE restarts`],
      ['samples', `${s.samples} over ${secs(s.coveredMs)}`],
    ].flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  return el('section', { class: 'party', 'data-user': p.user }, el('h2', {}, `${role}${p.user} on ${p.device}`), dl, ...partyCharts(p));
}

export async function callView(key, id) {
  let c = null;
  try {
    c = (await app(key, 'GET', `/calls/${enc(id)}`)).entities[0];
  } catch (err) {
    if (err.status !== 404) throw err; // a live call has no record yet
  }
  const report = (await app(key, 'GET', `/calls/${enc(id)}/quality`)).entities[0];
  const parts = [];
  if (c) {
    parts.push(el('p', {}, `${c.caller} → ${c.callee}, ${TYPES[c.type] || c.type}, `,
      c.acceptedAt ? `talked ${secs(c.endedAt - c.acceptedAt)}` : 'not answered', `, ended ${END_REASONS[c.endReason] || c.endReason}.`),
    el('h2', {}, 'Timeline'), el('ol', { class: 'timeline' },
      timeline(c).map(([t, what]) => el('li', {}, el('span', { class: 'muted' }, `+${((t - c.invitedAt) / 1000).toFixed(1)} s `), what))));
  } else {
    parts.push(el('p', { class: 'muted' }, 'This call has no record yet: it is still in progress.'));
  }
  parts.push(el('h2', {}, 'Quality'));
  if (!report.parties.length) parts.push(el('p', { class: 'muted' }, 'No device reported quality samples for this call.'));
  const grid = el('div', { class: 'parties' });
  for (const p of report.parties) {
    const role = c ? (p.user === c.caller ? 'Caller ' : 'Callee ') : '';
    grid.append(partySummary(p, role));
  }
  parts.push(grid);
  if (c && c.serverVideoId) {
    parts.push(el('h2', {}, 'Recordings'), await recordingList(key, `/recordings?serverVideoId=${enc(c.serverVideoId)}`));
  }
  show(`Call ${id}`, ...parts);
}
