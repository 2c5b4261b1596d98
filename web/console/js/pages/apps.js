// Apps list: GET /api/v1/apps (with each app's 30-minute requests-per-minute sparkline),
// refreshed every 10 s.
import { h, fill, table, badge, num, rate, enc } from '../dom.js';
import * as api from '../api.js';
import { showError } from '../ui.js';
import { sparkline } from '../charts.js';

export function limits(a) {
  const soft = a.soft ? num(a.soft) : '∞';
  const hard = a.hard ? num(a.hard) : '∞';
  return `${num(a.inflight)} / ${soft} / ${hard}`;
}

export async function render(main, ctx) {
  const body = h('div', { id: 'apps' });
  fill(main, h('h1', null, 'Apps'), body);
  const load = async () => {
    let list;
    try {
      list = await api.get('/api/v1/apps');
    } catch (e) {
      showError(e);
      return;
    }
    if (!ctx.alive) return;
    const cols = [{ title: 'App' }, { title: 'Mode' }, { title: 'Hosts' },
      { title: 'Traffic (30 min)' }, { title: 'Requests/s', num: true }, { title: 'Requests', num: true },
      { title: '2xx', num: true }, { title: '4xx', num: true }, { title: '5xx', num: true },
      { title: 'In flight / soft / hard', num: true }, { title: 'Queued', num: true }, { title: 'Rejected', num: true }];
    const rows = list.map((a) => {
      const st = a.status || {};
      return h('tr', { dataset: { app: a.name } },
        h('td', null, h('a', { href: '#/apps/' + enc(a.name) }, a.name)),
        h('td', null, badge(a.mode || '?', 'info')),
        h('td', null, (a.hosts || []).join(', ') || '–'),
        h('td', null, sparkline(a.spark, `requests per minute, last 30 minutes: ${(a.spark || []).join(' ')}`)),
        h('td', { class: 'num' }, rate(a.rps)),
        h('td', { class: 'num' }, num(a.requests)),
        h('td', { class: 'num' }, num(st['2xx'])),
        h('td', { class: 'num' }, num(st['4xx'])),
        h('td', { class: 'num' }, num(st['5xx'])),
        h('td', { class: 'num' }, limits(a)),
        h('td', { class: 'num' }, num(a.queued)),
        h('td', { class: 'num' }, num(a.rejected)));
    });
    fill(body, table(cols, rows, 'No apps configured.'));
  };
  await load();
  ctx.every(10000, load);
}
