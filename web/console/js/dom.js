// DOM building and formatting helpers. Text always goes in as text nodes (never innerHTML), so
// names and messages from the API cannot inject markup; no style attributes (CSP).

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function svg(tag, attrs) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  setAttrs(el, attrs);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// Replaces el's children.
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// A table: cols = [{title, num?}], rows = array of <tr> (from tr()) or arrays of cells.
export function table(cols, rows, empty = 'Nothing to show.') {
  const head = h('thead', null, h('tr', null, cols.map((c) =>
    h('th', { class: c.num ? 'num' : null }, c.title))));
  const body = h('tbody');
  if (!rows.length) body.append(h('tr', null, h('td', { class: 'empty', colspan: cols.length }, empty)));
  for (const r of rows) {
    if (r instanceof Node) { body.append(r); continue; }
    body.append(h('tr', null, r.map((cell, i) => h('td', { class: cols[i] && cols[i].num ? 'num' : null }, cell))));
  }
  return h('table', { class: 't' }, head, body);
}

export function badge(text, kind = 'info') {
  return h('span', { class: ['badge', kind] }, text);
}

export function card(label, value) {
  return h('div', { class: 'card' }, h('div', { class: 'k' }, label), h('div', { class: 'v' }, value));
}

export function kv(pairs) {
  const dl = h('dl', { class: 'kv' });
  for (const [k, v] of pairs) dl.append(h('dt', null, k), append(h('dd'), [v]));
  return dl;
}

// ---- formatting ------------------------------------------------------------------------------

const nf = new Intl.NumberFormat('en-US');
export function num(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return nf.format(v);
}

export function rate(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return v >= 100 ? nf.format(Math.round(v)) : v.toFixed(1);
}

export function ms(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return (v >= 100 ? Math.round(v) : v.toFixed(v >= 10 ? 1 : 2)) + ' ms';
}

export function bytes(v) {
  if (v === null || v === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i ? v.toFixed(1) : String(v)) + ' ' + units[i];
}

export function duration(s) {
  if (s === null || s === undefined || s < 0) return '–';
  s = Math.floor(s);
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${hh}h ${mm}m`;
  if (hh) return `${hh}h ${mm}m`;
  if (mm) return `${mm}m ${s % 60}s`;
  return `${s}s`;
}

const pad = (n) => String(n).padStart(2, '0');
// Unix seconds → "2026-11-28 09:15:02" (local time); 0 or missing → "never".
export function time(t) {
  if (!t) return 'never';
  const d = new Date(t * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function ago(t) {
  if (!t) return 'never';
  const s = Date.now() / 1000 - t;
  return s >= 0 ? duration(s) + ' ago' : 'in ' + duration(-s);
}

export function hhmm(t, withDate) {
  const d = new Date(t * 1000);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return withDate ? `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}` : hm;
}
export const enc = encodeURIComponent;
