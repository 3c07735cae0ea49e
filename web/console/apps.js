// Apps: the list (create one), and an app's page: its registration mode (changed there),
// its push credentials, its call webhooks and their dead letters, each of which can be
// retried.
import { admin, appPath } from './api.js';
import { el, show, table, time, fail } from './dom.js';

const enc = encodeURIComponent;

export async function appsView() {
  const list = (await admin('GET', '/apps')).entities;
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
  show('Apps', form, table(['app', 'registration', 'created', ''], list.map((a) => el('tr', { 'data-app': a.key },
    el('td', {}, el('a', { href: `#/app/${enc(a.key)}` }, a.key)), el('td', {}, a.registration), el('td', {}, time(a.created)),
    el('td', {}, el('div', { class: 'links' }, ['users', 'calls', 'live', 'recordings'].map((r) => el('a', { href: `#/${r}/${enc(a.key)}` }, r[0].toUpperCase() + r.slice(1)))))))));
}

export async function appView(key) {
  const base = `/apps/${appPath(key)}`;
  const [apps, push, hooks, dead] = await Promise.all([
    admin('GET', '/apps'), admin('GET', `${base}/push`), admin('GET', `${base}/webhooks`), admin('GET', `${base}/webhooks/deadletters?limit=100`),
  ]);
  const a = apps.entities.find((x) => x.key === key) || { key };
  const url = el('input', { name: 'url', type: 'url', required: true, placeholder: 'https://…', 'aria-label': 'Webhook URL' });
  const addHook = el('form', { class: 'row', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const r = await admin('POST', `${base}/webhooks`, { url: url.value.trim() });
      const secret = r.entities[0].secret;
      await appView(key);
      if (secret) alert(`The endpoint's signing secret (shown only now): ${secret}`);
    } catch (err) { fail(err); }
  } }, el('label', {}, 'Add a call webhook', url), el('button', { class: 'primary', type: 'submit' }, 'Add'));
  const hookRows = hooks.entities.map((h) => el('tr', { 'data-webhook': h.id }, el('td', {}, h.url), el('td', {}, time(h.created)),
    el('td', {}, el('button', { class: 'danger', type: 'button', 'aria-label': `Remove ${h.url}`, onclick: async () => {
      if (!confirm(`Remove ${h.url} and its queued deliveries?`)) return;
      try { await admin('DELETE', `${base}/webhooks/${enc(h.id)}`); appView(key).catch(fail); } catch (err) { fail(err); }
    } }, 'Remove'))));
  const retry = async (path) => {
    try { await admin('POST', `${base}/webhooks/deadletters${path}`); await appView(key); } catch (err) { fail(err); }
  };
  const deadRows = dead.entities.map((d) => el('tr', { 'data-dead': d.id },
    el('td', {}, d.eventType, el('div', { class: 'muted small' }, d.url)),
    el('td', { class: 'id' }, el('a', { href: `#/call/${enc(key)}/${enc(d.callId)}` }, d.callId)),
    el('td', {}, d.attempts), el('td', { class: 'small' }, d.lastError), el('td', {}, time(d.deadAt)),
    el('td', {}, el('button', { type: 'button', 'aria-label': `Retry ${d.eventId}`, onclick: () => retry(`/${d.id}/retry`) }, 'Retry'))));
  const mode = el('select', { name: 'registration', 'aria-label': 'Registration' },
    ['open', 'authorized'].map((m) => el('option', { value: m, selected: m === a.registration }, m)));
  const setMode = el('form', { class: 'row', onsubmit: async (ev) => {
    ev.preventDefault();
    try { await admin('PUT', `${base}/registration`, { registration: mode.value }); await appView(key); } catch (err) { fail(err); }
  } }, el('label', {}, 'Who may register users: anyone (open) or the app\u2019s server (authorized)', mode),
  el('button', { type: 'submit' }, 'Change'));
  show(`App ${key}`,
    el('p', {}, `Registration ${a.registration || '?'}, created ${time(a.created)}. `,
      ['users', 'calls', 'live', 'recordings'].flatMap((r) => [el('a', { href: `#/${r}/${enc(key)}` }, r), ' '])),
    setMode,
    el('h2', {}, 'Push credentials'),
    table(['provider', 'settings'], push.entities.map((p) => el('tr', {}, el('td', {}, p.provider), el('td', {}, el('code', {}, JSON.stringify(p.config)))))),
    el('p', { class: 'muted' }, 'Set them with `duet app push set` or PUT /admin/v1/apps/{org}/{app}/push/{provider} (docs/REST.md).'),
    el('h2', {}, 'Call webhooks'), addHook, table(['url', 'added', ''], hookRows),
    el('h2', {}, `Dead letters (${dead.entities.length})`),
    el('p', { class: 'muted' }, 'Deliveries given up after every retry. Retrying makes them pending again, in order per endpoint and call.'),
    table(['event, endpoint', 'call', 'attempts', 'last error', 'given up', ''], deadRows, [2, 4]),
    dead.entities.length ? el('p', {}, el('button', { type: 'button', onclick: () => retry('/retry') }, 'Retry all')) : '');
}
