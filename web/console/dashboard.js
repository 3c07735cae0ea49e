// The dashboard: devices online, live calls, calls per minute, how calls ended, and the
// distribution of call quality over the last hour and day.
import { admin, appPages, appPath, health } from './api.js';
import { fmt } from './chart.js';
import { el, show, table, card } from './dom.js';
import { END_REASONS } from './records.js';
import { BANDS, distribution } from './quality.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
// The dashboard reads at most this many of each app's latest calls of the day.
const MAX_CALLS = 1000;

const BAND_LABEL = {
  good: 'good (score ≥ 4.0)', fair: 'fair (3.6–4.0)', poor: 'poor (3.1–3.6)', bad: 'bad (< 3.1)', none: 'not reported',
};

export async function dashboardView() {
  const [h, list] = await Promise.all([health(), admin('GET', '/apps').then((r) => r.entities)]);
  const now = Date.now();
  let live = 0;
  const calls = [];
  for (const a of list) {
    const [l, day] = await Promise.all([
      admin('GET', `/apps/${appPath(a.key)}/calls/live`),
      appPages(a.key, `/calls?since=${now - DAY}`, MAX_CALLS),
    ]);
    live += l.entities.length;
    calls.push(...day);
  }
  const lastHour = calls.filter((c) => c.invitedAt >= now - HOUR);
  const byReason = {};
  let answered = 0;
  for (const c of lastHour) {
    if (c.acceptedAt) answered++;
    const r = END_REASONS[c.endReason] || String(c.endReason);
    byReason[r] = (byReason[r] || 0) + 1;
  }
  const hour = distribution(calls, now - HOUR);
  const day = distribution(calls, now - DAY);
  show('Dashboard',
    el('div', { class: 'cards' },
      card(h ? h.connections : '—', 'devices online (this node)'),
      card(live, 'live calls'),
      card(fmt(lastHour.length / 60), 'calls per minute (last hour)'),
      card(lastHour.length ? `${Math.round((answered / lastHour.length) * 100)} %` : '—', 'answered (last hour)'),
      card(list.length, 'apps')),
    el('h2', {}, 'Call quality'),
    el('p', { class: 'muted' }, 'Each call counts in the band of its worse party\u2019s audio score (E-model MOS).'),
    qualityTable(hour, day),
    el('h2', {}, 'How calls ended in the last hour'),
    table(['reason', 'calls'], Object.entries(byReason).sort((a, b) => b[1] - a[1]).map(([r, n]) => el('tr', {}, el('td', {}, r), el('td', {}, n)))),
    h && h.node ? el('p', { class: 'muted' }, `Node ${h.node}, deciding partitions ${h.partitions.join(', ') || 'none'}; ${h.peers} other nodes.`) : '',
    calls.length >= MAX_CALLS * list.length ? el('p', { class: 'muted' }, `Counted from the latest ${MAX_CALLS} calls of each app.`) : '');
}

/** The bands as rows, last hour and last day side by side, each with a bar of its share. */
function qualityTable(hour, day) {
  const bar = (n, name) => el('span', { class: `bar ${name}` }, el('span', {}), el('b', {}, n));
  const rows = [...BANDS.map((b) => b.name), 'none'].map((name) => {
    const tr = el('tr', { 'data-band': name, 'data-hour': hour[name], 'data-day': day[name] },
      el('th', { scope: 'row' }, BAND_LABEL[name]), el('td', {}, bar(hour[name], name)), el('td', {}, bar(day[name], name)));
    // The bars' widths are set through the CSSOM: the content policy allows no inline style markup.
    const [hb, db] = tr.querySelectorAll('.bar > span');
    hb.style.width = `${hour.total ? (100 * hour[name]) / hour.total : 0}%`;
    db.style.width = `${day.total ? (100 * day[name]) / day.total : 0}%`;
    return tr;
  });
  return el('div', { class: 'scroll' }, el('table', { class: 'quality', 'aria-label': 'Call quality distribution' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'band'), el('th', { scope: 'col' }, `last hour (${hour.total})`), el('th', { scope: 'col' }, `last day (${day.total})`))),
    el('tbody', {}, rows)));
}
