// Mesh: GET /api/v1/mesh — WireGuard peers (endpoint, handshake age, bytes), the backhaul's
// view of each peer (RTT, reachable) and the anycast addresses. 404: no mesh on this node.
import { h, fill, table, badge, kv, num, bytes, duration } from '../dom.js';
import * as api from '../api.js';
import { showError } from '../ui.js';

export async function render(main, ctx) {
  const body = h('div', { id: 'mesh' });
  fill(main, h('h1', null, 'Mesh'), body);
  let timer = true;  // polling stops once the node says it has no mesh
  const load = async () => {
    let r;
    try {
      r = await api.request('GET', '/api/v1/mesh', { allow: [404] });
    } catch (e) {
      showError(e);
      return;
    }
    if (!ctx.alive) return;
    if (r.status === 404 || !r.data || r.data.configured === false) {
      fill(body, h('p', { class: 'muted' }, 'No mesh is configured on this node (no `mesh` section).'));
      timer = false;
      return;
    }
    const m = r.data;
    const bh = new Map((m.backhaul || []).map((b) => [b.name, b]));
    const peerRows = (m.peers || []).map((p) => {
      const b = bh.get(p.name) || {};
      bh.delete(p.name);
      return [p.name, b.region || '–', h('span', { class: 'mono' }, p.endpoint || 'unknown'),
        b.rtt_us !== undefined ? `${(b.rtt_us / 1000).toFixed(2)} ms${b.rtt_fixed ? ' (fixed)' : ''}` : '–',
        p.last_handshake ? duration(p.handshake_age_seconds) + ' ago' : 'never',
        bytes(p.rx_bytes), bytes(p.tx_bytes),
        b.reachable === undefined ? '–' : b.reachable ? badge('reachable', 'ok') : badge('unreachable', 'bad'),
        (p.allowed_ips || []).join(', ')];
    });
    // Backhaul peers without a WireGuard peer entry (e.g. reached over another path).
    for (const b of bh.values()) {
      peerRows.push([b.name, b.region || '–', h('span', { class: 'mono' }, b.address || '–'),
        `${(b.rtt_us / 1000).toFixed(2)} ms${b.rtt_fixed ? ' (fixed)' : ''}`, '–', '–', '–',
        b.reachable ? badge('reachable', 'ok') : badge('unreachable', 'bad'), '–']);
    }
    fill(body,
      h('div', { class: 'panel' }, kv([
        ['Interface', `${m.interface || '–'}${m.driver ? ' (' + m.driver + ')' : ''}`],
        ['Public key', h('code', null, m.public_key || '–')],
        ['Listen port', String(m.listen_port || '–')],
        ...(m.error ? [['Error', h('code', null, m.error)]] : []),
      ])),
      h('h2', null, 'Peers'),
      table([{ title: 'Peer' }, { title: 'Region' }, { title: 'Endpoint' }, { title: 'RTT' },
        { title: 'Handshake' }, { title: 'Received' }, { title: 'Sent' }, { title: 'Backhaul' }, { title: 'Allowed IPs' }],
      peerRows, 'No peers.'),
      h('h2', null, 'Anycast addresses'),
      table([{ title: 'Address' }, { title: 'Interface' }, { title: 'State' }],
        (m.anycast || []).map((a) => [h('span', { class: 'mono' }, a.address), a.interface || '–',
          [a.present ? badge('present', 'ok') : badge('absent', 'bad'), a.added_by_ferry ? badge('added by ferry', 'info') : null]]),
        'No anycast addresses.'));
  };
  await load();
  ctx.every(10000, () => { if (timer) load(); });
}
