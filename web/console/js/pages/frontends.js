// Frontends and their listeners: GET /api/v1/frontends, refreshed every 10 s.
import { h, fill, table, badge, num } from '../dom.js';
import * as api from '../api.js';
import { showError } from '../ui.js';

export async function render(main, ctx) {
  const body = h('div', { id: 'frontends' });
  fill(main, h('h1', null, 'Frontends'), body);
  const load = async () => {
    let list;
    try {
      list = await api.get('/api/v1/frontends');
    } catch (e) {
      showError(e);
      return;
    }
    if (!ctx.alive) return;
    const cols = [{ title: 'Frontend' }, { title: 'Mode' }, { title: 'Binds (configured → listening)' },
      { title: 'Connections', num: true }, { title: 'Active', num: true }, { title: 'TLS handshakes', num: true },
      { title: 'TLS failures' }];
    const rows = list.map((f) => {
      const fails = Object.entries(f.tls_failures || {}).filter(([, n]) => n > 0);
      return [
        f.name,
        badge(f.mode || '?', 'info'),
        h('div', null, (f.binds || []).map((b) => h('div', { class: 'mono' },
          b.address, b.tls ? [' ', badge('tls', 'ok')] : null,
          b.listening ? ` → ${b.listening}` : [' ', badge('not listening', 'bad')]))),
        num(f.connections_total), num(f.connections_active), num(f.tls_handshakes),
        fails.length ? fails.map(([k, n]) => badge(`${k} ${num(n)}`, 'bad')) : h('span', { class: 'muted' }, 'none'),
      ];
    });
    fill(body, table(cols, rows, 'No frontends configured.'));
  };
  await load();
  ctx.every(10000, load);
}
