// Charts: Chart.js (window.Chart, from /vendor/chart.js = Debian's libjs-chart.js) for the app
// page, and a hand-drawn SVG sparkline for the apps list. Without Chart.js the chart slots say
// how to install it; nothing else depends on it.
import { h, svg } from './dom.js';

export const chartAvailable = () => typeof window.Chart === 'function';
export const CHART_MISSING = 'Chart.js not installed: apt install libjs-chart.js';

export const colors = {
  s2xx: '#217a3c', s3xx: '#2f6fb3', s4xx: '#c77800', s5xx: '#b3261e',
  p50: '#2f6fb3', p99: '#7b3fa0', inflight: '#2f6fb3', soft: '#c77800', hard: '#b3261e',
};

// Lines have no point marks, except a value with no neighbour (e.g. the latency of the only
// minute with traffic), which would otherwise not be drawn at all.
function isolatedPoint(c) {
  const d = c.dataset.data;
  const i = c.dataIndex;
  if (d[i] === null || d[i] === undefined) return 0;
  const lonely = (j) => j < 0 || j >= d.length || d[j] === null || d[j] === undefined;
  return lonely(i - 1) && lonely(i + 1) ? 3 : 0;
}

// A chart panel: {el (to insert), chart (Chart instance or null)}. series: [{label, color,
// dashed?, fill?}]. The data comes later through setData().
export function lineChart(title, series, yTitle) {
  const canvas = h('canvas', { role: 'img', 'aria-label': title });
  const box = h('div', { class: 'chart-box' });
  const panel = h('div', { class: 'chart' }, h('h3', null, title), box);
  if (!chartAvailable()) {
    box.classList.add('hidden');
    panel.append(h('div', { class: 'chart-missing' }, CHART_MISSING));
    return { el: panel, chart: null, canvas: null };
  }
  box.append(canvas);
  const chart = new window.Chart(canvas.getContext('2d'), {
    type: 'line',
    data: {
      labels: [],
      datasets: series.map((s) => ({
        label: s.label, data: [], borderColor: s.color, backgroundColor: s.color + '22',
        borderWidth: s.dashed ? 1.5 : 2, borderDash: s.dashed ? [6, 4] : undefined,
        pointRadius: isolatedPoint, pointHitRadius: 6, tension: 0.2, fill: !!s.fill, spanGaps: false,
      })),
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
      scales: {
        x: { ticks: { maxTicksLimit: 8, maxRotation: 0 } },
        y: { beginAtZero: true, title: { display: !!yTitle, text: yTitle || '' } },
      },
    },
  });
  return { el: panel, chart, canvas };
}

// Replaces the labels and each dataset's values (same order as the series), redraws.
export function setData(c, labels, values) {
  if (!c.chart) return;
  c.chart.data.labels = labels;
  values.forEach((v, i) => { c.chart.data.datasets[i].data = v; });
  c.chart.update('none');
}

export function destroy(c) {
  if (c && c.chart) c.chart.destroy();
}

// An SVG sparkline of `values` (oldest first), scaled to its own maximum.
export function sparkline(values, title) {
  const W = 120, H = 26, pad = 2;
  const el = svg('svg', { class: 'spark', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img' });
  const t = svg('title');
  t.textContent = title || '';
  el.append(t);
  const vals = (values || []).map((v) => (Number.isFinite(v) ? v : 0));
  el.append(svg('line', { x1: 0, y1: H - pad, x2: W, y2: H - pad }));
  if (vals.length < 2) return el;
  const max = Math.max(1, ...vals);
  const pts = vals.map((v, i) => [(i / (vals.length - 1)) * W, H - pad - (v / max) * (H - 2 * pad)]);
  const line = pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  el.append(svg('polygon', { points: `0,${H - pad} ${line} ${W},${H - pad}` }));
  el.append(svg('polyline', { points: line }));
  return el;
}
