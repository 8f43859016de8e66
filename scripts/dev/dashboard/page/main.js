// The page: reads the chart's dashboard.json and config.json from the dashboard server, lays the panels out,
// queries Prometheus for each visible panel, and refreshes on the dashboard's interval. What it drew is left in
// window.ephemeraDashboard (and data-state attributes) for the page test and for anyone at the console.
import { drawAlerts, drawTargets } from './alerts.js';
import { renderLayout } from './layout.js';
import { labelValues, queryInstant, queryRange } from './prometheus.js';
import { alignMatrix, timeGrid, vectorValues } from './series.js';
import { drawStat, lastNotNull } from './stat.js';
import { durationSeconds, interpolate, promDuration, rateInterval, resolveTime, stepFor } from './time.js';
import { drawTimeseries } from './timeseries.js';

const RANGES = ['now-5m', 'now-15m', 'now-30m', 'now-1h', 'now-3h', 'now-6h', 'now-12h', 'now-24h', 'now-2d', 'now-7d'];
// Grafana's refresh choices when the dashboard's timepicker names none.
const REFRESHES = ['5s', '10s', '30s', '1m', '5m', '15m', '30m', '1h', '2h', '1d'];
// Chromium opens at most 6 connections to one origin: more panels at once would only queue there.
const CONCURRENCY = 6;

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let dashboard;
let config;
let handles = [];
const variables = []; // { def, select, all: [values] }
const view = { from: 'now-1h', to: 'now', refresh: '' };
let timer = null;
let running = null;
let again = false;
const report = { refreshes: 0, panels: [], alerts: null, targets: null };
window.ephemeraDashboard = report;

function setUrl() {
  const p = new URLSearchParams({ from: view.from, to: view.to, refresh: view.refresh || 'off' });
  for (const v of variables) p.set(`var-${v.def.name}`, v.select.value);
  history.replaceState(null, '', `?${p}`);
}

function option(select, value, text, selected) {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  o.selected = selected;
  select.append(o);
}

function controls() {
  const range = $('range');
  const ranges = RANGES.includes(view.from) ? RANGES : [view.from, ...RANGES];
  for (const r of ranges) option(range, r, r.startsWith('now-') ? `Last ${r.slice(4)}` : r, r === view.from);
  range.addEventListener('change', () => { view.from = range.value; view.to = 'now'; changed(); });
  const refresh = $('refresh');
  const choices = dashboard.timepicker?.refresh_intervals ?? REFRESHES;
  option(refresh, 'off', 'Off', !view.refresh);
  for (const r of choices.includes(view.refresh) || !view.refresh ? choices : [view.refresh, ...choices]) option(refresh, r, r, r === view.refresh);
  refresh.addEventListener('change', () => { view.refresh = refresh.value === 'off' ? '' : refresh.value; changed(); });
  $('refresh-now').addEventListener('click', () => refreshAll());
}

function changed() {
  setUrl();
  void refreshAll();
}

const escapeRegex = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Template variables: label_values() queries become a select (All + values); a data source shows where it points. */
async function setUpVariables() {
  const box = $('variables');
  for (const def of dashboard.templating?.list ?? []) {
    if (def.type === 'datasource') {
      const s = document.createElement('span');
      s.className = 'muted';
      s.textContent = `Prometheus ${config.prometheusUrl}`;
      box.append(s);
      continue;
    }
    if (def.type !== 'query') continue;
    const q = typeof def.query === 'string' ? def.query : def.query?.query ?? def.definition ?? '';
    const m = /^label_values\(\s*(?:([^,]+?)\s*,\s*)?(\w+)\s*\)$/.exec(q.trim());
    const values = m ? await labelValues(m[2], m[1]) : [];
    const label = document.createElement('label');
    label.textContent = `${def.label ?? def.name} `;
    const select = document.createElement('select');
    const wanted = params.get(`var-${def.name}`) ?? [def.current?.value].flat()[0] ?? '$__all';
    if (def.includeAll) option(select, '$__all', 'All', wanted === '$__all');
    for (const v of values) option(select, v, v, v === wanted);
    select.addEventListener('change', changed);
    label.append(select);
    box.append(label);
    variables.push({ def, select, all: values });
  }
}

function variableValues() {
  const out = {};
  for (const { def, select, all } of variables) {
    const v = select.value;
    out[def.name] = v === '$__all' ? def.allValue ?? (all.map(escapeRegex).join('|') || '.*') : escapeRegex(v);
  }
  return out;
}

async function pool(tasks, n) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, async () => {
    while (next < tasks.length) await tasks[next++]();
  }));
}

function showPanelError(h, messages) {
  const e = document.createElement('div');
  e.className = 'panel-message panel-error';
  e.textContent = messages.join('\n');
  h.body.replaceChildren(e);
}

async function drawPanel(h, start, end, vars) {
  const { panel } = h;
  const scrape = config.scrapeIntervalSeconds;
  const step = stepFor(end - start, h.body.clientWidth, scrape);
  const grid = { start: Math.floor(start / step) * step, end: Math.floor(end / step) * step, step };
  const panelVars = { ...vars, __interval: promDuration(step), __rate_interval: promDuration(rateInterval(step, scrape)) };
  const targets = (panel.targets ?? []).filter((t) => !t.hide && typeof t.expr === 'string' && t.expr.trim());
  const xs = timeGrid(grid);
  const results = await Promise.all(targets.map(async (t) => {
    const expr = interpolate(t.expr, panelVars);
    try {
      if (t.instant && !t.range) return { t, vector: vectorValues(await queryInstant(expr, end), t) };
      const data = await queryRange(expr, grid.start, grid.end, step);
      return { t, series: alignMatrix(data.result, xs, step, t) };
    } catch (err) {
      return { t, error: err.message };
    }
  }));
  const record = { id: panel.id, title: panel.title, type: panel.type, state: 'data', targets: [] };
  h.plot?.destroy();
  h.plot = null;
  const errors = results.filter((r) => r.error).map((r) => `${r.t.refId}: ${r.error}`);
  let drawn = 0;
  if (errors.length) {
    showPanelError(h, errors);
  } else if (panel.type === 'stat') {
    const values = results.flatMap((r) => r.vector ?? r.series.map((s) => ({ name: s.name, value: lastNotNull(s.values) })));
    drawn = drawStat(h.body, panel, values);
  } else if (panel.type === 'timeseries') {
    const series = results.flatMap((r) => r.series ?? r.vector.map((v) => ({ name: v.name, values: xs.map((_, i) => (i === xs.length - 1 ? v.value : null)) })));
    const out = drawTimeseries(h.body, panel, xs, series, dashboard.graphTooltip ? dashboard.uid ?? 'dashboard' : null);
    h.plot = out.plot;
    drawn = out.points;
  } else {
    showPanelError(h, [`panel type "${panel.type}" is not drawn by this page`]);
    errors.push(`unsupported panel type ${panel.type}`);
  }
  for (const r of results) {
    const values = r.vector ? r.vector.map((v) => v.value) : r.error ? [] : r.series.flatMap((s) => s.values);
    record.targets.push({ refId: r.t.refId, series: r.vector?.length ?? r.series?.length ?? 0, points: values.filter((v) => v !== null).length, error: r.error ?? null });
  }
  record.state = errors.length ? 'error' : drawn > 0 ? 'data' : 'empty';
  record.points = drawn;
  h.el.dataset.state = record.state;
  h.el.dataset.points = String(drawn);
  h.el.dataset.draws = String(Number(h.el.dataset.draws ?? 0) + 1);
  return record;
}

async function refreshOnce() {
  clearTimeout(timer);
  const now = Date.now() / 1000;
  const start = resolveTime(view.from, now);
  const end = resolveTime(view.to, now);
  const vars = { ...variableValues(), __range: promDuration(Math.max(1, Math.round(end - start))) };
  const records = [];
  const visible = handles.filter((h) => h.visible());
  await pool(visible.map((h) => async () => { records.push(await drawPanel(h, start, end, vars)); }), CONCURRENCY);
  const [targets, alerts] = await Promise.all([drawTargets($('targets')), drawAlerts($('alerts'))]);
  report.panels = records.sort((a, b) => a.id - b.id);
  report.targets = targets;
  report.alerts = alerts;
  report.range = { start, end };
  report.refreshes++;
  $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  document.body.dataset.refreshes = String(report.refreshes);
  document.body.dataset.state = 'ready';
}

/** One refresh at a time; a request during one runs once it ends. Then the next one is scheduled. */
async function refreshAll() {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    do {
      again = false;
      await refreshOnce();
    } while (again);
  })().finally(() => { running = null; });
  await running;
  const every = durationSeconds(view.refresh);
  if (every > 0) timer = setTimeout(refreshAll, every * 1000);
}

async function start() {
  [config, dashboard] = await Promise.all(['config.json', 'dashboard.json'].map(async (f) => {
    const res = await fetch(f);
    if (!res.ok) throw new Error(`${f}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  }));
  view.from = params.get('from') ?? dashboard.time?.from ?? 'now-1h';
  view.to = params.get('to') ?? dashboard.time?.to ?? 'now';
  const refresh = params.get('refresh') ?? dashboard.refresh ?? '';
  view.refresh = refresh === 'off' ? '' : refresh;
  durationSeconds(view.refresh); // a bad ?refresh= fails here, visibly
  resolveTime(view.from, 0);
  resolveTime(view.to, 0);
  document.title = `${dashboard.title} dashboard`;
  $('title').textContent = dashboard.title ?? 'Dashboard';
  controls();
  await setUpVariables();
  handles = renderLayout($('panels'), dashboard.panels ?? [], () => void refreshAll());
  let resized = null;
  window.addEventListener('resize', () => {
    clearTimeout(resized);
    resized = setTimeout(() => void refreshAll(), 300);
  });
  await refreshAll();
}

start().catch((err) => {
  $('fatal').hidden = false;
  $('fatal').textContent = `The dashboard could not be drawn: ${err.message}`;
  document.body.dataset.state = 'error';
  report.fatal = err.message;
});
