// Small DOM helpers shared by the demo's modules.
export const $ = (id) => document.getElementById(id);

const screens = ['login', 'home', 'incoming', 'call'];

/** Shows one screen and hides the others. */
export function show(name) {
  for (const s of screens) $('screen-' + s).hidden = s !== name;
  document.body.dataset.screen = name;
}

function initials(name) { return (name || '?').slice(0, 2).toUpperCase(); }

/** Fills an avatar element: initials on a stable hue per name. */
export function avatar(el, name) {
  el.textContent = initials(name);
  let h = 0;
  for (const c of name || '') h = (h * 31 + c.charCodeAt(0)) % 360;
  el.style.setProperty('--hue', String(h));
}

/** A round icon button with an accessible name. */
export function iconButton(icon, label, cls, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.setAttribute('aria-label', label);
  b.title = label;
  b.innerHTML = `<svg aria-hidden="true"><use href="#${icon}"/></svg>`;
  b.addEventListener('click', onClick);
  return b;
}

let toastTimer = 0;

/** A short message at the bottom of the screen (never over the top bar or the self-view). */
export function toast(title, detail, reason) {
  const el = $('ended');
  $('ended-title').textContent = title;
  $('ended-detail').textContent = detail;
  el.dataset.reason = reason == null ? '' : String(reason);
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 6000);
}
