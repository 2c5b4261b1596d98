// Shared page furniture: the error list (every failure is shown, never silent; repeats are
// counted, not stacked), notices, and flash messages for actions.
import { h, fill } from './dom.js';
import { ApiError } from './api.js';

const errors = () => document.getElementById('errors');
const notices = () => document.getElementById('notices');

// Shows an error until dismissed. err: an ApiError, an Error or a string. A 401 is not shown
// (the app is already on its way to the login page).
export function showError(err, context) {
  if (err instanceof ApiError && err.status === 401) return;
  let text = err instanceof ApiError ? err.describe() : (err && err.message) || String(err);
  if (context) text = context + ': ' + text;
  const box = errors();
  for (const el of box.children) {
    if (el.dataset.text === text) {
      const n = Number(el.dataset.count || 1) + 1;
      el.dataset.count = n;
      fill(el.querySelector('.count'), `×${n}`);
      return;
    }
  }
  const el = h('div', { class: 'error', dataset: { text } },
    h('span', { class: 'msg' }, text), h('span', { class: 'count' }),
    h('button', { type: 'button', onclick: () => el.remove(), title: 'Dismiss' }, '×'));
  box.append(el);
}

export function clearErrors() { errors().replaceChildren(); }

// A persistent notice (id: replaced when shown again).
export function showNotice(id, text, kind = '') {
  let el = document.getElementById('notice-' + id);
  if (!el) {
    el = h('div', { id: 'notice-' + id, class: ['notice', kind] });
    notices().append(el);
  }
  fill(el, h('span', { class: 'msg' }, text));
}

export function hideNotice(id) {
  const el = document.getElementById('notice-' + id);
  if (el) el.remove();
}

// A short message in `where` (an element) saying how an action went.
export function flash(where, text, ok = true) {
  fill(where, h('div', { class: ['flash', ok ? '' : 'bad'] }, text));
}
