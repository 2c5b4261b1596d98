// Overview: GET /api/v1/overview, refreshed every 10 s.
import { h, fill, card, kv, table, badge, num, rate, bytes, duration, time, ago, enc } from '../dom.js';
import * as api from '../api.js';
import { showError } from '../ui.js';

export async function render(main, ctx) {
  const body = h('div');
  fill(main, h('h1', null, 'Overview'), body);
  const load = async () => {
    let o;
    try {
      o = await api.get('/api/v1/overview');
    } catch (e) {
      showError(e);
      return;
    }
    if (!ctx.alive) return;
    const t = o.totals || {};
    const r = o.reload || {};
    fill(body,
      h('div', { class: 'cards' },
        card('Requests/s (10 s)', rate(t.rps)),
        card('Requests', num(t.requests)),
        card('5xx', num(t.errors_5xx)),
        card('Bytes in', bytes(t.bytes_in)),
        card('Bytes out', bytes(t.bytes_out)),
        card('Connections', num(o.connections_active))),
      h('div', { class: 'grid2' },
        h('div', { class: 'panel' }, kv([
          ['Node', o.node || '–'],
          ['Region', o.region || '–'],
          ['Version', o.version || '–'],
          ['PID', String(o.pid ?? '–')],
          ['Uptime', duration(o.uptime_s)],
          ['Started', time(o.started_at)],
          ['Workers', String(o.workers ?? '–')],
        ])),
        h('div', { class: 'panel' }, kv([
          ['Config', h('code', null, o.config_path || '–')],
          ['Config loaded', `${time(o.config_loaded_at)} (${ago(o.config_loaded_at)})`],
          ['Generation', String(o.generation ?? '–')],
          ['Reloads', `${num(r.attempts)} attempts, ${num(r.failures)} failed`],
          ['Last reload', r.last_at ? [r.last_ok ? badge('ok', 'ok') : badge('failed', 'bad'), time(r.last_at)] : 'none'],
          ...(r.last_error ? [['Last error', h('code', null, r.last_error)]] : []),
        ]))),
      h('h2', null, 'Top apps'),
      table([{ title: 'App' }, { title: 'Requests/s', num: true }],
        (o.top_apps || []).map((a) => [h('a', { href: '#/apps/' + enc(a.name) }, a.name), rate(a.rps)]),
        'No traffic yet.'));
  };
  await load();
  ctx.every(10000, load);
}
