// Drives the Ferry web console in Debian's headless Chromium with playwright-core (no browser
// download: executablePath /usr/bin/chromium). Run by tests/integration/test_console.py:
//
//   FERRY_CONSOLE_URL=http://127.0.0.1:PORT FERRY_CONSOLE_APP=shop [FERRY_CONSOLE_USER=ops
//   FERRY_CONSOLE_PASSWORD=...] FERRY_ARTIFACTS=DIR node console.spec.mjs
//
// Steps: log in (when the login page is shown), overview, apps list (sparkline), the app's page
// (its requests chart has data points > 0 and pixels of the 2xx line), drain an instance with
// its button (the row shows "drained"; when the API reports per-server responses, the drained
// server's stop growing while the others' grow), enable it again, validate a broken candidate
// config (the error's line number is listed and that line highlighted), the instances page (the
// catalog by node and region: states, live figures, health, scale-to-zero; one app's view from
// its page's link). No console errors, no
// page errors, no error shown by the console. Prints "CHECK ok|FAIL name: detail",
// "SCREENSHOT path" and a last "N passed, N failed" line; exits 1 on any failure.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const base = process.env.FERRY_CONSOLE_URL;
const appName = process.env.FERRY_CONSOLE_APP || '';
const user = process.env.FERRY_CONSOLE_USER || '';
const password = process.env.FERRY_CONSOLE_PASSWORD || '';
const artifacts = process.env.FERRY_ARTIFACTS || path.join(process.cwd(), 'artifacts');
const executablePath = process.env.FERRY_CHROMIUM || '/usr/bin/chromium';
if (!base || !appName) {
  console.error('FERRY_CONSOLE_URL and FERRY_CONSOLE_APP are required');
  process.exit(2);
}
fs.mkdirSync(artifacts, { recursive: true });

const results = [];
function check(name, ok, detail = '') {
  results.push({ name, ok });
  console.log(`CHECK ${ok ? 'ok' : 'FAIL'} ${name}${detail ? ': ' + detail : ''}`);
  return ok;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  // --headless and --user-data-dir are given by Playwright itself (headless: true, userDataDir).
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1400, height: 1000 },
  timeout: 60000,
});
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(15000);

// Console and page errors. Before logging in, the console's first GET /api/v1/me answers 401
// (that is how it learns it must show the login page); Chromium logs that response as a
// "Failed to load resource" error: it is the only one allowed.
const consoleErrors = [];
const pageErrors = [];
let loggedIn = false;
page.on('console', (msg) => {
  if (msg.type() !== 'error' && msg.type() !== 'warning') return;
  const loc = msg.location() || {};
  const text = msg.text();
  if (!loggedIn && /Failed to load resource.*401/.test(text) && /\/api\/v1\/me$/.test(loc.url || '')) return;
  if (msg.type() === 'warning' && !/Content.Security.Policy|Refused/i.test(text)) return;
  consoleErrors.push(`${msg.type()}: ${text} (${loc.url || '?'}:${loc.lineNumber ?? '?'})`);
});
page.on('pageerror', (e) => pageErrors.push(String(e && e.stack ? e.stack : e)));
const badResponses = [];
page.on('response', (r) => {
  if (r.status() >= 400 && !(r.status() === 401 && !loggedIn && r.url().endsWith('/api/v1/me'))) {
    badResponses.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  }
});

const shots = [];
async function shot(name) {
  const p = path.join(artifacts, `${String(shots.length + 1).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: p, fullPage: true });
  shots.push(p);
  console.log(`SCREENSHOT ${p}`);
}

async function api(p) {  // GET with the page's session cookie
  return page.evaluate(async (url) => {
    const r = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
    return { status: r.status, body: r.ok ? await r.json() : await r.text() };
  }, p);
}

async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    check(name, false, String(e && e.message ? e.message.split('\n')[0] : e));
    await shot('failed-' + name.replace(/[^a-z0-9]+/gi, '-')).catch(() => {});
  }
}

try {
  // ---- login -------------------------------------------------------------------------------
  await step('login', async () => {
    await page.goto(base + '/', { waitUntil: 'load' });
    const which = await (await page.waitForFunction(() =>
      (document.querySelector('#login-form') && 'login') ||
      (!document.querySelector('#nav').classList.contains('hidden') && 'console'))).jsonValue();
    if (which === 'login') {
      if (!user) throw new Error('the login page is shown but no user was given');
      await shot('login');
      await page.fill('#login-user', user);
      await page.fill('#login-password', password);
      loggedIn = true;  // from here on, a 401 is an error
      await page.click('#login-submit');
      await page.waitForSelector('#nav:not(.hidden)', { state: 'visible' });
      check('login', true, `logged in as ${user}`);
    } else {
      loggedIn = true;
      const notice = await page.textContent('#notices');
      check('login', /no users configured/i.test(notice || ''), 'no login page; notice: ' + JSON.stringify(notice));
    }
  });

  // ---- overview ----------------------------------------------------------------------------
  await step('overview', async () => {
    await page.goto(base + '/#/overview');
    await page.waitForSelector('.cards .card');
    const text = await page.textContent('#main');
    check('overview', /Uptime/.test(text) && /Workers/.test(text) && /Config loaded/.test(text), 'node/uptime/workers/config shown');
    await shot('overview');
  });

  // ---- apps list ---------------------------------------------------------------------------
  await step('apps list', async () => {
    await page.goto(base + '/#/apps');
    const row = page.locator(`#apps tr[data-app="${appName}"]`);
    await row.waitFor();
    const n = await page.locator('#apps tr[data-app] svg.spark').count();
    check('apps list', n >= 2, `${n} sparklines`);
    await shot('apps');
    await row.locator('a').first().click();  // open the app from the list
    await page.waitForURL(`**/#/apps/${encodeURIComponent(appName)}`);
  });

  // ---- app page: chart drawn -----------------------------------------------------------------
  await step('chart drawn', async () => {
    if (!page.url().endsWith(`#/apps/${encodeURIComponent(appName)}`)) {
      await page.goto(base + `/#/apps/${encodeURIComponent(appName)}`);
    }
    await page.waitForSelector('#instances tr[data-server]');
    const hasChart = await page.evaluate(() => typeof window.Chart === 'function');
    if (!hasChart) throw new Error('window.Chart missing: /vendor/chart.js not served');
    // The history gets a row for the current minute within one 10 s sample; the page redraws
    // every 10 s.
    const deadline = Date.now() + 45000;
    let probe = null;
    while (Date.now() < deadline) {
      probe = await page.evaluate(() => {
        const canvas = document.querySelector('#chart-requests canvas');
        const chart = canvas && window.Chart.getChart(canvas);
        if (!chart) return { error: 'no Chart instance on #chart-requests' };
        const ds = chart.data.datasets;
        const points = ds.reduce((n, d) => n + d.data.filter((v) => v > 0).length, 0);
        // Pixels of the 2xx line (#217a3c) on the canvas.
        const ctx = canvas.getContext('2d');
        const img = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let green = 0, painted = 0;
        for (let i = 0; i < img.length; i += 4) {
          if (img[i + 3] > 0) painted++;
          if (img[i + 3] > 180 && Math.abs(img[i] - 0x21) < 40 && Math.abs(img[i + 1] - 0x7a) < 40 && Math.abs(img[i + 2] - 0x3c) < 40) green++;
        }
        return { points, labels: chart.data.labels.length, green, painted };
      });
      if (probe.error) throw new Error(probe.error);
      if (probe.points > 0 && probe.green > 20) break;
      await sleep(2000);
    }
    check('chart drawn', probe.points > 0 && probe.green > 20,
      `${probe.points} points > 0 over ${probe.labels} slots, ${probe.green} pixels of the 2xx line, ${probe.painted} painted`);
    await shot('app');
  });

  // ---- slow requests linked to their traces ---------------------------------------------------
  // The test's config has `tracing` with `slow 20ms` and a ui-url; one backend answers slowly.
  await step('slow request linked', async () => {
    const link = page.locator('#slow-requests a.trace-link').first();
    await link.waitFor({ timeout: 30000 });
    const href = await link.getAttribute('href');
    const id = (await link.textContent()).trim();
    const want = (process.env.FERRY_CONSOLE_TRACE_URL || '').split('%{trace-id}').join(id);
    check('slow request linked', /^[0-9a-f]{32}$/.test(id) && href === want, `trace ${id} -> ${href}`);
  });

  // ---- drain an instance ---------------------------------------------------------------------
  await step('drain', async () => {
    const row = page.locator('#instances tr[data-server]').first();
    const server = await row.getAttribute('data-server');
    await row.locator('button[data-action="drain"]').click();
    const drainedRow = page.locator(`#instances tr[data-server="${server}"]`);
    await drainedRow.locator('.state .badge', { hasText: 'drained' }).waitFor();
    await drainedRow.locator('button[data-action="enable"]').waitFor();
    check('drain', true, `${server} shows drained`);
    await shot('drained');

    // Traffic moves: the drained server's responses stop growing, the others' grow.
    const responses = async () => {
      const r = await api(`/api/v1/apps/${encodeURIComponent(appName)}`);
      if (r.status !== 200) throw new Error(`GET app: ${r.status} ${r.body}`);
      return Object.fromEntries(r.body.instances.map((s) => [`${s.backend}/${s.name}`, s.responses]));
    };
    await sleep(1500);  // requests in flight at the drain finish
    const r0 = await responses();
    if (typeof r0[server] !== 'number') {
      console.log('NOTE the API reports no per-server responses: traffic movement not checked');
    } else {
      await sleep(6000);
      const r1 = await responses();
      const grew = Object.keys(r1).filter((k) => k !== server).map((k) => r1[k] - r0[k]);
      const drainedGrew = r1[server] - r0[server];
      check('traffic moves', drainedGrew === 0 && grew.some((d) => d > 0),
        `drained ${server} +${drainedGrew}, others ${JSON.stringify(grew)} in 6 s`);
    }

    await drainedRow.locator('button[data-action="enable"]').click();
    await drainedRow.locator('button[data-action="drain"]').waitFor();
    const badges = await drainedRow.locator('.state').textContent();
    check('enable', !/drained/.test(badges), `${server} state after enable: ${badges}`);
  });

  // ---- validate a broken config ----------------------------------------------------------------
  await step('validate', async () => {
    await page.goto(base + '/#/config');
    await page.waitForSelector('#running-config ol.code, #running-config p');
    const running = await page.evaluate(() =>
      [...document.querySelectorAll('#running-config ol.code li')].map((li) => li.textContent).join('\n'));
    let lines = running ? running.split('\n') : ['global', '    workers 1', '', 'frontend web', '    bind 127.0.0.1:0', ''];
    let at = lines.findIndex((l) => /^frontend\b/.test(l));
    if (at < 0) at = 0;
    lines.splice(at + 1, 0, '    bnd 127.0.0.1:1');
    const badLine = at + 2;
    await page.fill('#candidate', lines.join('\n') + '\n');
    await page.click('#validate');
    await page.waitForSelector('#validate-summary');
    const summary = await page.textContent('#validate-summary');
    const listed = await page.locator(`#diagnostics li[data-line="${badLine}"]`).count();
    const listText = await page.textContent('#diagnostics');
    const highlighted = await page.locator(`#candidate-L${badLine}.err`).count();
    check('validate', /Invalid/.test(summary) && listed > 0 && listText.includes(`line ${badLine}`) && highlighted === 1,
      `summary ${JSON.stringify(summary)}, diagnostics ${JSON.stringify(listText.trim())}, line ${badLine} highlighted: ${highlighted === 1}`);
    await page.locator(`#candidate-L${badLine}`).scrollIntoViewIfNeeded();
    await shot('config-validate');
  });

  // ---- the live catalog by node and region ------------------------------------------------------
  // FERRY_CONSOLE_CATALOG="APP/STARTED-ID,APP/STOPPED-ID": instances the test registered.
  await step('instances view', async () => {
    const [started, stopped] = (process.env.FERRY_CONSOLE_CATALOG || '').split(',');
    if (!started || !stopped) throw new Error('FERRY_CONSOLE_CATALOG not given');
    await page.goto(base + '/#/instances');
    await page.waitForSelector(`#catalog-instances tr[data-instance="${started}"]`);
    const row = (id) => page.locator(`#catalog-instances tr[data-instance="${id}"]`);
    const startedState = await row(started).getAttribute('data-state');
    const stoppedState = await row(stopped).getAttribute('data-state');
    const inflight = (await row(started).locator('td.inflight').textContent()).trim();
    const stoppedInflight = (await row(stopped).locator('td.inflight').textContent()).trim();
    const group = await page.locator('#catalog-instances h2.group').first().textContent();
    const health = await page.textContent('#catalog-health');
    const scale = await page.locator('#catalog-autoscale tr[data-autoscale]').count();
    // Routed (live figures: a number) vs. stopped (not routed: a dash); grouped under this node.
    check('instances view', startedState === 'started' && stoppedState === 'stopped' && /^\d/.test(inflight) &&
      stoppedInflight === '–' && /this node/.test(group) && /embedded/.test(health) && /current/.test(health) && scale === 1,
    `states ${startedState}/${stoppedState}, in flight ${JSON.stringify(inflight)}/${JSON.stringify(stoppedInflight)}, ` +
      `group ${JSON.stringify(group)}, health ${JSON.stringify(health)}, autoscale rows ${scale}`);
    await shot('instances');
    const app = started.split('/')[0];
    await page.goto(base + `/#/apps/${encodeURIComponent(app)}`);
    await page.click('#catalog-link');
    await page.waitForURL(`**/#/instances/${encodeURIComponent(app)}`);
    await page.waitForSelector(`#catalog-instances tr[data-instance="${started}"]`);
    const others = await page.locator('#catalog-instances tr[data-instance]').evaluateAll((rows, only) =>
      rows.map((r) => r.dataset.instance).filter((id) => !id.startsWith(only + '/')), app);
    check('instances of one app', others.length === 0, `other apps' rows: ${JSON.stringify(others)}`);
  });

  // ---- nothing went wrong on the way -----------------------------------------------------------
  const shown = await page.locator('#errors .error .msg').allTextContents();
  check('no errors shown by the console', shown.length === 0, JSON.stringify(shown));
  check('no console errors', consoleErrors.length === 0,
    consoleErrors.slice(0, 5).join(' | ') + (consoleErrors.length > 5 ? ` … (${consoleErrors.length} in all)` : ''));
  check('no page errors', pageErrors.length === 0, pageErrors.join(' | '));
  if (badResponses.length) console.log('NOTE responses >= 400: ' + badResponses.join(', '));
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}

const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
