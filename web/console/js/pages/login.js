// Login: POST /api/v1/login {user, password} → the session cookie and the CSRF token.
import { h, fill } from '../dom.js';
import * as api from '../api.js';

export function render(main, ctx) {
  const user = h('input', { id: 'login-user', name: 'user', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const msg = h('div', { id: 'login-message', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'primary', id: 'login-submit' }, 'Log in');
  const form = h('form', { class: 'panel login', id: 'login-form' },
    h('h1', null, 'Ferry console'),
    h('label', { for: 'login-user' }, 'User'), user,
    h('label', { for: 'login-password' }, 'Password'), pass,
    button, msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    fill(msg);
    try {
      const r = await api.request('POST', '/api/v1/login',
        { json: { user: user.value, password: pass.value }, quiet401: true });
      pass.value = '';
      ctx.loggedIn({ user: r.data.user, csrf: r.data.csrf, auth: 'session' });
    } catch (e) {
      const text = e.status === 401 ? 'Wrong user or password.'
        : e.status === 429 ? 'Too many failed logins from this address. ' + e.message
        : (e.describe ? e.describe() : String(e));
      fill(msg, h('div', { class: 'flash bad' }, text));
    } finally {
      button.disabled = false;
    }
  });
  fill(main, form);
  user.focus();
}
