// Configuration: the running config (GET /api/v1/config), a candidate checked by
// POST /api/v1/config/validate (nothing applied; diagnostics by line, error lines highlighted)
// and "reload" (POST /api/v1/reload: re-reads the file, like SIGHUP).
import { h, fill, num, time, ago } from '../dom.js';
import * as api from '../api.js';
import { showError, flash } from '../ui.js';

// Numbered lines; diags: [{line, severity, text|message}] shown under their line.
function codeView(text, diags = [], id) {
  const byLine = new Map();
  for (const d of diags) {
    if (!d.line) continue;
    if (!byLine.has(d.line)) byLine.set(d.line, []);
    byLine.get(d.line).push(d);
  }
  const lines = text.replace(/\n$/, '').split('\n');
  return h('ol', { class: 'code', id }, lines.map((l, i) => {
    const ds = byLine.get(i + 1) || [];
    const sev = ds.some((d) => d.severity === 'error') ? 'err' : ds.length ? 'warn' : null;
    return h('li', { class: sev, id: id ? `${id}-L${i + 1}` : null, dataset: { line: i + 1 } },
      l || ' ', ds.map((d) => h('span', { class: 'diag' }, `${d.severity}: ${d.message || d.text}`)));
  }));
}

export async function render(main, ctx) {
  const running = h('div', { id: 'running-config' });
  const reloadMsg = h('div', { id: 'reload-message' });
  const candidate = h('textarea', { class: 'candidate', id: 'candidate', spellcheck: 'false',
    placeholder: 'Paste a candidate configuration here and press Validate. Nothing is applied.' });
  const result = h('div', { id: 'validate-result' });
  const validateBtn = h('button', { type: 'button', class: 'primary', id: 'validate' }, 'Validate');
  const copyBtn = h('button', { type: 'button', id: 'copy-running' }, 'Start from the running config');
  const reloadBtn = h('button', { type: 'button', id: 'reload' }, 'Reload from file…');
  const confirmBtn = h('button', { type: 'button', class: ['danger', 'hidden'], id: 'reload-confirm' }, 'Confirm reload');
  let runningText = '';

  fill(main, h('h1', null, 'Configuration'),
    h('div', { class: 'row' }, h('h2', null, 'Running configuration'), h('span', { class: 'spacer' }), reloadBtn, confirmBtn),
    reloadMsg, running,
    h('h2', null, 'Validate a candidate'),
    h('p', { class: 'muted' }, 'Checked exactly like ', h('code', null, 'ferryd -c'), '; nothing is applied or written.'),
    candidate,
    h('div', { class: 'row' }, validateBtn, copyBtn,
      h('span', { class: 'muted' }, 'Password hashes in the running config are shown as <hash>: put real ones back before validating a copy.')),
    result);

  const loadRunning = async () => {
    let c;
    try {
      c = await api.get('/api/v1/config');
    } catch (e) {
      fill(running, h('p', { class: 'muted' }, 'The running configuration could not be read.'));
      showError(e);
      return;
    }
    if (!ctx.alive) return;
    runningText = c.text || '';
    fill(running, h('p', { class: 'muted' }, h('code', null, c.path || '–'), ` · generation ${num(c.generation)} · loaded ${time(c.loaded_at)} (${ago(c.loaded_at)})`),
      codeView(runningText, [], 'running'));
  };

  copyBtn.addEventListener('click', () => { candidate.value = runningText; candidate.focus(); });

  validateBtn.addEventListener('click', async () => {
    validateBtn.disabled = true;
    fill(result, h('p', { class: 'muted' }, 'Validating…'));
    const text = candidate.value;
    try {
      const r = await api.post('/api/v1/config/validate', { text });
      const diags = r.diagnostics || [];
      const summary = r.ok
        ? h('div', { class: 'flash', id: 'validate-summary' }, `Valid: ${num(r.warnings || 0)} warning(s). Nothing was applied.`)
        : h('div', { class: 'flash bad', id: 'validate-summary' }, `Invalid: ${num(r.errors)} error(s), ${num(r.warnings || 0)} warning(s).`);
      const list = h('ul', { class: 'diags', id: 'diagnostics' }, diags.map((d) => h('li', { class: d.severity, dataset: { line: d.line || 0 } },
        d.line ? h('a', { href: '#/config', class: 'line', onclick: (ev) => {
          ev.preventDefault();
          const el = document.getElementById(`candidate-L${d.line}`);
          if (el) el.scrollIntoView({ block: 'center' });
        } }, `line ${d.line}${d.col ? ':' + d.col : ''}`) : h('span', { class: 'line' }, 'file'),
        ` ${d.severity}: ${d.message || d.text}`)));
      fill(result, summary, list, diags.length ? codeView(text, diags, 'candidate') : null);
    } catch (e) {
      fill(result, h('div', { class: 'flash bad' }, 'Validation failed: ' + (e.describe ? e.describe() : e)));
      showError(e);
    } finally {
      validateBtn.disabled = false;
    }
  });

  reloadBtn.addEventListener('click', () => { confirmBtn.classList.toggle('hidden'); });
  confirmBtn.addEventListener('click', async () => {
    confirmBtn.classList.add('hidden');
    reloadBtn.disabled = true;
    fill(reloadMsg, h('p', { class: 'muted' }, 'Reloading…'));
    try {
      const r = await api.post('/api/v1/reload');
      if (r.ok) flash(reloadMsg, `Reloaded: generation ${r.generation}.`);
      else flash(reloadMsg, 'Reload failed; the old configuration stays: ' + (r.error || 'no reason given'), false);
      await loadRunning();
    } catch (e) {
      flash(reloadMsg, 'Reload failed: ' + (e.describe ? e.describe() : e), false);
      showError(e);
    } finally {
      reloadBtn.disabled = false;
    }
  });

  await loadRunning();
}
