// Certificates: GET /api/v1/certificates; "Renew now" → POST /api/v1/certificates/APP/renew.
import { h, fill, table, badge, num, time, ago, enc } from '../dom.js';
import * as api from '../api.js';
import { showError, flash } from '../ui.js';

const stateKind = { valid: 'ok', pending: 'info', failed: 'bad', none: 'warn' };

export async function render(main, ctx) {
  const msg = h('div', { id: 'renew-message' });
  const body = h('div', { id: 'certificates' });
  fill(main, h('h1', null, 'Certificates'), msg, body);
  const renew = async (c, btn) => {
    btn.disabled = true;
    try {
      const r = await api.post(`/api/v1/certificates/${enc(c.app)}/renew`);
      flash(msg, `${c.app}: renewal started (state ${r && r.state ? r.state : 'pending'}).`);
      setTimeout(() => { if (ctx.alive) load(); }, 2000);
    } catch (e) {
      flash(msg, `Renew ${c.app} failed: ${e.describe ? e.describe() : e}`, false);
      showError(e);
    } finally {
      btn.disabled = false;
    }
  };
  const load = async () => {
    let list;
    try {
      list = await api.get('/api/v1/certificates');
    } catch (e) {
      showError(e);
      return;
    }
    if (!ctx.alive) return;
    const cols = [{ title: 'App' }, { title: 'Source' }, { title: 'Hosts' }, { title: 'Issuer' },
      { title: 'Valid from' }, { title: 'Expires' }, { title: 'State' }, { title: 'Next renewal' },
      { title: 'Failures', num: true }, { title: '' }];
    const rows = list.map((c) => {
      let btn = null;
      if (c.source === 'acme') {
        btn = h('button', { type: 'button', class: 'small', dataset: { renew: c.app } }, 'Renew now');
        btn.addEventListener('click', () => renew(c, btn));
      }
      return h('tr', { dataset: { cert: c.app } },
        h('td', null, c.app ? h('a', { href: '#/apps/' + enc(c.app) }, c.app) : '–'),
        h('td', null, c.source || '–'),
        h('td', null, (c.hosts || []).join(', ') || '–'),
        h('td', null, c.issuer || '–'),
        h('td', null, c.not_before ? time(c.not_before) : '–'),
        h('td', null, c.not_after ? `${time(c.not_after)} (${ago(c.not_after)})` : '–'),
        h('td', null, badge(c.state || '–', stateKind[c.state] || 'info'),
          c.last_error ? h('div', { class: 'mono' }, c.last_error) : null),
        h('td', null, c.next_renewal ? time(c.next_renewal) : '–'),
        h('td', { class: 'num' }, num(c.renewal_failures)),
        h('td', null, btn));
    });
    fill(body, table(cols, rows, 'No TLS certificates configured.'));
  };
  await load();
  ctx.every(10000, load);
}
