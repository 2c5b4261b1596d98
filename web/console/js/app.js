// The Ferry console: a single-page app over the JSON API (docs/API.md), routed by the URL hash.
// Pages live in pages/*.js; each exports render(main, ctx) and uses ctx to register timers and
// clean-ups that end when the user navigates away.
import { h, fill } from './dom.js';
import * as api from './api.js';
import { showError, showNotice, hideNotice } from './ui.js';
import { chartAvailable } from './charts.js';
import * as login from './pages/login.js';
import * as overview from './pages/overview.js';
import * as apps from './pages/apps.js';
import * as appDetail from './pages/app.js';
import * as frontends from './pages/frontends.js';
import * as certificates from './pages/certificates.js';
import * as mesh from './pages/mesh.js';
import * as catalog from './pages/catalog.js';
import * as config from './pages/config.js';

// What GET /api/v1/me said: user, auth ("session" | "token" | "none"); null before it answered.
export const session = { user: null, auth: null, known: false };
let returnTo = '#/overview';

const routes = [
  [/^#\/login$/, login, 'login'],
  [/^#\/(overview)?$/, overview, 'overview'],
  [/^#\/apps$/, apps, 'apps'],
  [/^#\/apps\/([^/]+)$/, appDetail, 'apps'],
  [/^#\/frontends$/, frontends, 'frontends'],
  [/^#\/certificates$/, certificates, 'certificates'],
  [/^#\/instances$/, catalog, 'instances'],
  [/^#\/instances\/([^/]+)$/, catalog, 'instances'],
  [/^#\/mesh$/, mesh, 'mesh'],
  [/^#\/config$/, config, 'config'],
];

let current = null;  // the page context in force: {timers, cleanups, alive}

function leave() {
  if (!current) return;
  current.alive = false;
  for (const t of current.timers) clearInterval(t);
  for (const f of current.cleanups) {
    try { f(); } catch (e) { showError(e, 'leaving the page'); }
  }
  current = null;
}

function newContext(params) {
  const ctx = {
    params, timers: [], cleanups: [], alive: true, session,
    // Runs fn every `ms` while the page is shown (not now: pages load once themselves).
    every(ms, fn) {
      const t = setInterval(() => { if (ctx.alive) fn(); }, ms);
      ctx.timers.push(t);
    },
    onLeave(fn) { ctx.cleanups.push(fn); },
    go(hash) { location.hash = hash; },
    loggedIn(me) { setSession(me); refreshNodeName(); location.hash = returnTo || '#/overview'; },
  };
  return ctx;
}

function route() {
  const hash = location.hash || '#/overview';
  // Logged in (or no users configured): the login page has nothing to do.
  if (hash === '#/login' && (session.user || session.auth === 'none')) {
    location.hash = returnTo && returnTo !== '#/login' ? returnTo : '#/overview';
    return;
  }
  // Without a session every page but login goes to the login page first.
  if (session.known && !session.user && session.auth !== 'none' && hash !== '#/login') {
    returnTo = hash;
    location.hash = '#/login';
    return;
  }
  leave();
  const main = document.getElementById('main');
  let page = null, name = '', params = [];
  for (const [re, mod, n] of routes) {
    const m = hash.match(re);
    if (m) { page = mod; name = n; params = m.slice(1).map((p) => p && decodeURIComponent(p)); break; }
  }
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === name);
  document.getElementById('nav').classList.toggle('hidden', name === 'login');
  if (!page) {
    fill(main, h('h1', null, 'Not found'), h('p', null, 'No console page at ', h('code', null, hash), '. ',
      h('a', { href: '#/overview' }, 'Overview')));
    return;
  }
  const ctx = newContext(params);
  current = ctx;
  fill(main);
  Promise.resolve()
    .then(() => page.render(main, ctx))
    .catch((e) => showError(e, 'page ' + name));
}

function setSession(me) {
  session.known = true;
  session.user = me ? me.user || (me.auth === 'none' ? '' : null) : null;
  session.auth = me ? me.auth : null;
  if (me && me.csrf !== undefined) api.setCsrf(me.csrf);
  if (session.user) hideNotice('expired');
  renderWho();
  if (session.auth === 'none') {
    showNotice('auth', 'No users configured: this console and the API are open to anyone who can ' +
      'reach the admin address (allowed only on loopback). Add `admin-user` to the config to require a login.', 'warn');
  } else {
    hideNotice('auth');
  }
}

function renderWho() {
  const who = document.getElementById('who');
  if (!session.user) { fill(who); return; }
  fill(who, h('span', null, session.user),
    h('button', { type: 'button', class: 'small', onclick: logout }, 'Log out'));
}

async function logout() {
  try {
    await api.post('/api/v1/logout');
  } catch (e) {
    showError(e, 'log out');
  }
  session.user = null;
  api.setCsrf('');
  renderWho();
  returnTo = '#/overview';
  location.hash = '#/login';
}

async function boot() {
  window.addEventListener('error', (ev) => showError(ev.error || ev.message, 'script error'));
  window.addEventListener('unhandledrejection', (ev) => showError(ev.reason, 'unhandled'));
  api.onUnauthorized(() => {
    const was = session.user;
    session.user = null;
    api.setCsrf('');
    renderWho();
    if (location.hash !== '#/login') {
      returnTo = location.hash || '#/overview';
      location.hash = '#/login';
    }
    if (was) showNotice('expired', 'Your session ended: log in again.', 'warn');
  });
  if (!chartAvailable()) {
    showNotice('chart', 'Chart.js not installed: apt install libjs-chart.js (charts are not shown; everything else works).', 'warn');
  }
  try {
    const r = await api.request('GET', '/api/v1/me', { allow: [401], quiet401: true });
    if (r.status === 401) {
      setSession(null);
    } else {
      setSession(r.data);
    }
  } catch (e) {
    // The API is unreachable or broken: say so, and let the pages show their own failures.
    session.known = false;
    showError(e, 'who am I');
  }
  if (session.user || session.auth === 'none' || !session.known) refreshNodeName();
  window.addEventListener('hashchange', route);
  route();
}

// The node name in the header (from the overview); once a session exists.
async function refreshNodeName() {
  try {
    const o = await api.get('/api/v1/overview');
    if (o && o.node) fill(document.getElementById('node'), o.node + (o.region ? ' · ' + o.region : ''));
  } catch (e) {
    showError(e, 'node name');
  }
}

boot();
