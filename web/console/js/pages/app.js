// App detail: GET /api/v1/apps/NAME (instances, slow requests linked to their traces, hosts,
// certificate, live figures) and
// GET /api/v1/apps/NAME/history?range=R (the charts), both refreshed every 10 s; drain / enable
// an instance with POST /api/v1/servers/BACKEND/SERVER/drain|enable.
import { h, fill, table, badge, card, kv, num, rate, ms, bytes, time, ago, hhmm, enc } from '../dom.js';
import * as api from '../api.js';
import { showError, flash } from '../ui.js';
import { lineChart, setData, destroy, colors } from '../charts.js';
import { limits } from './apps.js';

const RANGES = ['15m', '1h', '6h', '24h', '48h', '7d', '30d'];
let range = '1h';  // kept while the console is open

// History rows → chart series, one slot per minute (or hour) from `from` to `to`; absent slots
// are 0 requests (no latency). The slot still filling is divided by its elapsed time.
export function toSeries(hist, app) {
  const res = hist.resolution_s || 60;
  const pts = hist.points || [];
  const byT = new Map(pts.map((p) => [Math.floor(p.t / res) * res, p]));
  let start = Math.floor((hist.from ?? (pts.length ? pts[0].t : 0)) / res) * res;
  const end = Math.floor((hist.to ?? (pts.length ? pts[pts.length - 1].t : 0)) / res) * res;
  if ((end - start) / res > 5000) start = end - 5000 * res;
  const withDate = end - start > 86400 || res >= 3600;
  const out = { labels: [], s2xx: [], s3xx: [], s4xx: [], s5xx: [], p50: [], p99: [], inflight: [], soft: [], hard: [], total: 0 };
  for (let t = start; t <= end; t += res) {
    const p = byT.get(t);
    const span = hist.to && t + res > hist.to ? Math.max(1, hist.to - t) : res;
    out.labels.push(hhmm(t, withDate));
    for (const k of ['s2xx', 's3xx', 's4xx', 's5xx']) out[k].push(p ? +(((p[k] || 0) / span).toFixed(3)) : 0);
    out.p50.push(p && p.requests ? p.p50_ms : null);
    out.p99.push(p && p.requests ? p.p99_ms : null);
    out.inflight.push(p ? p.peak_inflight || 0 : 0);
    out.soft.push(app && app.soft ? app.soft : null);
    out.hard.push(app && app.hard ? app.hard : null);
    out.total += p ? p.requests || 0 : 0;
  }
  return out;
}

function states(s) {
  const b = [s.healthy ? badge('healthy', 'ok') : badge('down', 'bad')];
  if (s.ejected) b.push(badge('ejected', 'warn'));
  if (s.drained) {
    const d = badge('drained', 'warn');
    d.title = 'No new requests or connections; kept across reloads until enabled';
    b.push(d);
  }
  if (s.disabled) b.push(badge('disabled', 'warn'));
  return b;
}

export async function render(main, ctx) {
  const name = ctx.params[0];
  const base = '/api/v1/apps/' + enc(name);
  const head = h('div', { class: 'row' }, h('h1', null, name));
  const rangeBar = h('div', { class: 'seg', id: 'range' });
  const cards = h('div', { class: 'cards' });
  const chartNote = h('div');
  const cReq = lineChart('Requests/s by status class', [
    { label: '2xx', color: colors.s2xx }, { label: '3xx', color: colors.s3xx },
    { label: '4xx', color: colors.s4xx }, { label: '5xx', color: colors.s5xx }], 'req/s');
  const cLat = lineChart('Latency', [{ label: 'p50', color: colors.p50 }, { label: 'p99', color: colors.p99 }], 'ms');
  const cConc = lineChart('Concurrency (peak in flight) vs limits', [
    { label: 'peak in flight', color: colors.inflight, fill: true },
    { label: 'soft limit', color: colors.soft, dashed: true },
    { label: 'hard limit', color: colors.hard, dashed: true }], 'requests');
  cReq.el.id = 'chart-requests'; cLat.el.id = 'chart-latency'; cConc.el.id = 'chart-concurrency';
  ctx.onLeave(() => [cReq, cLat, cConc].forEach(destroy));
  const actionMsg = h('div', { id: 'action-message' });
  const instances = h('div', { id: 'instances' });
  const hosts = h('div', { id: 'hosts' });
  const cert = h('div', { id: 'certificate' });
  const slow = h('div', { id: 'slow-requests' });
  fill(main,
    h('p', null, h('a', { href: '#/apps' }, '← Apps')),
    head, cards,
    h('div', { class: 'row' }, h('h2', null, 'Traffic'), h('span', { class: 'spacer' }), rangeBar),
    chartNote,
    h('div', { class: 'charts' }, cReq.el, cLat.el, cConc.el),
    h('div', { class: 'row' }, h('h2', null, 'Instances'), h('span', { class: 'spacer' }),
      h('a', { href: '#/instances/' + enc(name), id: 'catalog-link' }, 'Catalog view by node and region')),
    actionMsg, instances,
    h('h2', null, 'Slow requests'), slow,
    h('div', { class: 'grid2' },
      h('div', null, h('h2', null, 'Hosts'), hosts),
      h('div', null, h('h2', null, 'Certificate'), cert)));

  let app = null;

  const drawRange = () => fill(rangeBar, RANGES.map((r) => h('button', {
    type: 'button', class: r === range ? 'on' : null, dataset: { range: r },
    onclick: () => { range = r; drawRange(); loadHistory(); },
  }, r)));
  drawRange();

  const loadHistory = async () => {
    let hist;
    try {
      hist = await api.get(`${base}/history?range=${enc(range)}`);
    } catch (e) {
      fill(chartNote, h('div', { class: 'flash bad' }, 'History unavailable: ' + (e.describe ? e.describe() : e)));
      if (e.status !== 404) showError(e);
      return;
    }
    if (!ctx.alive) return;
    const s = toSeries(hist, app);
    fill(chartNote, s.total ? null : h('p', { class: 'muted' }, `No requests in the last ${range}.`));
    setData(cReq, s.labels, [s.s2xx, s.s3xx, s.s4xx, s.s5xx]);
    setData(cLat, s.labels, [s.p50, s.p99]);
    setData(cConc, s.labels, [s.inflight, s.soft, s.hard]);
  };

  const act = async (srv, verb, button) => {
    button.disabled = true;
    try {
      const s = await api.post(`/api/v1/servers/${enc(srv.backend)}/${enc(srv.name)}/${verb}`);
      flash(actionMsg, `${srv.backend}/${srv.name}: ${verb === 'drain' ? 'drained (no new requests; in-flight ones finish)' : 'enabled'}.`);
      if (app && s && s.name) {
        app.instances = (app.instances || []).map((x) => (x.backend === s.backend && x.name === s.name ? s : x));
        drawInstances();
      }
      loadApp();
    } catch (e) {
      flash(actionMsg, `${verb} ${srv.backend}/${srv.name} failed: ${e.describe ? e.describe() : e}`, false);
      showError(e);
    } finally {
      button.disabled = false;
    }
  };

  const drawInstances = () => {
    const cols = [{ title: 'Server' }, { title: 'Address' }, { title: 'Node' }, { title: 'Region' }, { title: 'State' },
      { title: 'In flight', num: true }, { title: 'EWMA latency', num: true }, { title: 'Responses', num: true },
      { title: 'Connect errors', num: true }, { title: 'Retries', num: true }, { title: '' }];
    const rows = (app.instances || []).map((s) => {
      const drained = !!s.drained;
      const btn = h('button', { type: 'button', class: ['small', drained ? null : 'danger'], dataset: { action: drained ? 'enable' : 'drain' } },
        drained ? 'Enable' : 'Drain');
      btn.addEventListener('click', () => act(s, drained ? 'enable' : 'drain', btn));
      return h('tr', { class: [drained ? 'drained' : null, s.disabled ? 'disabled' : null, s.healthy ? null : 'down'],
        dataset: { server: `${s.backend}/${s.name}` } },
        h('td', null, s.backend !== app.backend ? `${s.backend}/${s.name}` : s.name),
        h('td', { class: 'mono' }, s.address || '–'),
        h('td', null, s.node || 'local'),
        h('td', null, s.region || '–'),
        h('td', { class: 'state' }, states(s)),
        h('td', { class: 'num' }, num(s.inflight) + (s.remote_inflight ? ` (+${num(s.remote_inflight)} remote)` : '')),
        h('td', { class: 'num' }, ms(s.ewma_latency_ms)),
        h('td', { class: 'num responses' }, num(s.responses)),
        h('td', { class: 'num' }, num(s.connect_errors)),
        h('td', { class: 'num' }, num(s.retries)),
        h('td', null, btn));
    });
    fill(instances, table(cols, rows, 'No instances.'));
  };

  // The newest slow requests (tracing on, at least `tracing slow` long), each linked to its trace
  // in the tracing UI when `tracing ui-url` is set.
  const drawSlow = () => {
    const cols = [{ title: 'Started' }, { title: 'Request' }, { title: 'Status', num: true },
      { title: 'Duration', num: true }, { title: 'Trace' }];
    const rows = (app.slow_requests || []).map((r) => {
      // Only an exported trace can be looked up; the others show their id (not sampled).
      const link = app.trace_url && r.exported ? app.trace_url.split('%{trace-id}').join(encodeURIComponent(r.trace_id)) : null;
      return h('tr', { dataset: { trace: r.trace_id } },
        h('td', null, time(Math.floor(r.unix_ms / 1000))),
        h('td', { class: 'mono' }, `${r.method} ${r.path}`),
        h('td', { class: 'num' }, r.status ? String(r.status) : '–'),
        h('td', { class: 'num' }, ms(r.duration_ms)),
        h('td', { class: 'mono' }, link ? h('a', { href: link, target: '_blank', rel: 'noopener noreferrer', class: 'trace-link' }, r.trace_id)
          : `${r.trace_id}${r.exported ? '' : ' (not sampled)'}`));
    });
    fill(slow, table(cols, rows, 'No slow requests (listed when a tracing section is configured).'));
  };

  const loadApp = async () => {
    try {
      app = await api.get(base);
    } catch (e) {
      showError(e);
      return;
    }
    if (!ctx.alive) return;
    const st = app.status || {};
    const lat = app.latency_ms || {};
    fill(head, h('h1', null, name), badge(app.mode || '?', 'info'),
      app.backend ? h('span', { class: 'muted' }, 'backend ' + app.backend) : null);
    fill(cards,
      card('Requests/s (10 s)', rate(app.rps)),
      card('Requests', num(app.requests)),
      card('2xx / 4xx / 5xx', `${num(st['2xx'])} / ${num(st['4xx'])} / ${num(st['5xx'])}`),
      card('In flight / soft / hard', limits(app)),
      card('Queued / rejected', `${num(app.queued)} / ${num(app.rejected)}`),
      card('Latency p50 / p99', `${ms(lat.p50)} / ${ms(lat.p99)}`),
      card('Bytes in / out', `${bytes(app.bytes_in)} / ${bytes(app.bytes_out)}`));
    drawInstances();
    drawSlow();
    fill(hosts, (app.hosts || []).length
      ? h('ul', null, app.hosts.map((x) => h('li', null, h('code', null, x))))
      : h('p', { class: 'muted' }, 'No hosts (reached by address or default route).'));
    const c = app.certificate || { source: 'none' };
    fill(cert, c.source === 'none' && !c.not_after
      ? h('p', { class: 'muted' }, 'No certificate (plain HTTP or TLS passthrough).')
      : h('div', { class: 'panel' }, kv([
        ['Source', c.source],
        ['State', badge(c.state || '–', c.state === 'valid' ? 'ok' : c.state === 'failed' ? 'bad' : 'warn')],
        ['Hosts', (c.hosts || []).join(', ') || '–'],
        ['Issuer', c.issuer || '–'],
        ['Expires', c.not_after ? `${time(c.not_after)} (${ago(c.not_after)})` : '–'],
        ...(c.last_error ? [['Last error', h('code', null, c.last_error)]] : []),
        ['', h('a', { href: '#/certificates' }, 'All certificates')],
      ])));
  };

  await loadApp();
  await loadHistory();
  ctx.every(10000, async () => { await loadApp(); await loadHistory(); });
}
