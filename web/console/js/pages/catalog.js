// Instances: GET /api/v1/instances — the live catalog as this node sees it. Its health (back
// end, version, lag, per peer: last sync, staleness, errors, acknowledged version; with etcd: stale,
// endpoint, last sync, error), scale-to-zero per app, and every instance grouped by region and
// node with its state and, where this node routes to it, in flight and latency. Refreshed
// every 5 s; `#/instances/APP` shows one app.
import { h, fill, table, badge, card, kv, num, ms, ago, enc } from '../dom.js';
import * as api from '../api.js';
import { showError } from '../ui.js';

const STATE_KIND = { started: 'ok', starting: 'info', stopping: 'warn', stopped: 'bad' };

function age(msAgo) {
  if (msAgo === undefined || msAgo < 0) return 'never';
  return msAgo < 1000 ? `${msAgo} ms ago` : `${(msAgo / 1000).toFixed(1)} s ago`;
}

// Groups the instances by "region · node", this node's group first, then by name.
export function groups(instances, self) {
  const by = new Map();
  for (const i of instances) {
    const key = `${i.region || '–'} · ${i.node}`;
    if (!by.has(key)) by.set(key, { region: i.region || '–', node: i.node, local: i.node === self, rows: [] });
    by.get(key).rows.push(i);
  }
  return [...by.values()].sort((a, b) => (b.local - a.local) || a.region.localeCompare(b.region) || a.node.localeCompare(b.node));
}

function health(c) {
  if (c.backend === 'etcd') return c.stale ? badge('stale', 'bad') : badge('current', 'ok');
  const stale = (c.peers || []).filter((p) => p.stale).length;
  return stale ? badge(`${stale} peer(s) stale`, 'warn') : badge('current', 'ok');
}

export async function render(main, ctx) {
  const app = ctx.params[0] || '';
  const summary = h('div', { class: 'cards', id: 'catalog-health' });
  const details = h('div', { id: 'catalog-details' });
  const peers = h('div', { id: 'catalog-peers' });
  const autoscale = h('div', { id: 'catalog-autoscale' });
  const list = h('div', { id: 'catalog-instances' });
  fill(main,
    h('div', { class: 'row' }, h('h1', null, app ? `Instances of ${app}` : 'Instances'),
      app ? h('a', { href: '#/instances' }, 'all apps') : null),
    summary, details, h('h2', null, 'Peers'), peers, autoscale, list);

  const load = async () => {
    let v;
    try {
      v = await api.get('/api/v1/instances' + (app ? '?app=' + enc(app) : ''));
    } catch (e) {
      showError(e);
      return;
    }
    if (!ctx.alive) return;
    const c = v.catalog || {};
    const all = v.instances || [];
    const count = (s) => all.filter((i) => i.state === s).length;
    fill(summary,
      card('Back end', c.backend || '–'),
      card('Health', health(c)),
      card('This node', `${v.node} · v${num(c.version)}`),
      card('Lag p50 / p99', c.lag_changes ? `${ms(c.lag_p50_ms)} / ${ms(c.lag_p99_ms)}` : '–'),
      card('Instances', num(all.length)),
      card('Started / stopped', `${num(count('started'))} / ${num(count('stopped'))}`));
    fill(details, c.backend === 'etcd'
      ? h('div', { class: 'panel' }, kv([
        ['Endpoint', h('code', null, c.endpoint || '–')],
        ['Last sync', age(c.last_sync_age_ms)],
        ...(c.error ? [['Error', h('code', null, c.error)]] : []),
      ]))
      : null);
    const acks = new Map((c.acks || []).map((a) => [a.node, a]));
    const peerRows = (c.peers || []).map((p) => {
      const a = acks.get(p.node);
      acks.delete(p.node);
      return h('tr', { dataset: { peer: p.node } },
        h('td', null, p.node), h('td', { class: 'num' }, num(p.instances)),
        h('td', { class: 'num' }, p.version ? `v${num(p.version)}` : '–'),
        h('td', { class: 'lag' }, age(p.last_sync_age_ms)),
        h('td', null, p.stale ? badge('stale', 'bad') : badge('current', 'ok')),
        h('td', { class: 'num' }, num(p.sync_errors)),
        h('td', null, a ? (a.reachable ? `v${num(a.version)}` : badge('unreachable', 'bad')) : '–'));
    });
    for (const a of acks.values()) {
      peerRows.push(h('tr', { dataset: { peer: a.node } }, h('td', null, a.node), h('td', { class: 'num' }, '0'),
        h('td', { class: 'num' }, '–'), h('td', null, 'never'), h('td', null, badge('no copy', 'warn')),
        h('td', { class: 'num' }, '0'), h('td', null, a.reachable ? `v${num(a.version)}` : badge('unreachable', 'bad'))));
    }
    fill(peers, table([{ title: 'Peer' }, { title: 'Instances', num: true }, { title: 'Its version', num: true },
      { title: 'Last sync' }, { title: 'Copy' }, { title: 'Sync errors', num: true }, { title: 'Routes our version' }],
    peerRows, c.backend === 'etcd' ? 'No other node has instances in etcd.' : 'No mesh peers.'));
    const scale = v.autoscale || [];
    fill(autoscale, scale.length ? [h('h2', null, 'Scale-to-zero'),
      table([{ title: 'App' }, { title: 'Start' }, { title: 'Last start' }, { title: 'Starts (failed)', num: true },
        { title: 'Stops (failed)', num: true }, { title: 'Last error' }],
      scale.map((a) => h('tr', { dataset: { autoscale: a.app } },
        h('td', null, a.app),
        h('td', null, a.calling ? badge('calling hook', 'info') : a.pending ? badge('waiting for instance', 'warn') : badge('idle', 'ok')),
        h('td', null, a.last_start_ms ? ago(Math.floor(a.last_start_ms / 1000)) : 'never'),
        h('td', { class: 'num' }, `${num(a.start_calls)} (${num(a.start_failures)})`),
        h('td', { class: 'num' }, `${num(a.stop_calls)} (${num(a.stop_failures)})`),
        h('td', null, a.last_error ? h('code', null, a.last_error) : '–'))))] : null);
    const cols = [{ title: 'App' }, { title: 'Instance' }, { title: 'Address' }, { title: 'State' },
      { title: 'Weight', num: true }, { title: 'In flight', num: true }, { title: 'EWMA latency', num: true },
      { title: 'Responses', num: true }, { title: 'Version', num: true }, { title: 'Changed' }];
    const sections = groups(all, v.node).map((g) => [
      h('h2', { class: 'group', dataset: { node: g.node, region: g.region } },
        `${g.region} · ${g.node}`, g.local ? ' ' : null, g.local ? badge('this node', 'info') : null,
        h('span', { class: 'count' }, ` ${g.rows.length} instance(s)`)),
      table(cols, g.rows.map((i) => {
        const live = i.live || null;
        return h('tr', { dataset: { instance: `${i.app}/${i.id}`, state: i.state } },
          h('td', null, h('a', { href: '#/apps/' + enc(i.app) }, i.app)),
          h('td', null, i.id),
          h('td', { class: 'mono' }, i.address),
          h('td', null, badge(i.state, STATE_KIND[i.state] || 'info'), live && !live.healthy ? badge('down', 'bad') : null),
          h('td', { class: 'num' }, num(i.weight)),
          h('td', { class: 'num inflight' }, live ? num(live.inflight) + (live.remote_inflight ? ` (+${num(live.remote_inflight)} remote)` : '') : '–'),
          h('td', { class: 'num' }, live ? ms(live.ewma_latency_ms) : '–'),
          h('td', { class: 'num' }, live ? num(live.responses) : '–'),
          h('td', { class: 'num' }, `v${num(i.version)}`),
          h('td', null, i.changed_ms ? ago(Math.floor(i.changed_ms / 1000)) : '–'));
      }))]);
    fill(list, sections.length ? sections
      : h('p', { class: 'muted' }, 'No instances in the catalog (backends take them with `instances catalog`).'));
  };
  await load();
  ctx.every(5000, load);
}
