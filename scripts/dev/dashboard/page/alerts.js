// Beside the panels: Prometheus's scrape targets and the state of every alert rule (the chart's alerts.yaml).
import { alertRules, scrapeTargets } from './prometheus.js';

const ORDER = { firing: 0, pending: 1, inactive: 2 };

function line(badgeClass, badgeText, name, detail) {
  const el = document.createElement('div');
  el.className = 'alert';
  const head = document.createElement('div');
  const badge = document.createElement('span');
  badge.className = `badge ${badgeClass}`;
  badge.textContent = badgeText;
  const title = document.createElement('span');
  title.className = 'name';
  title.textContent = name;
  head.append(badge, title);
  el.append(head);
  if (detail) {
    const d = document.createElement('div');
    d.className = 'detail';
    d.textContent = detail;
    el.append(d);
  }
  return el;
}

function showError(body, err) {
  const e = document.createElement('div');
  e.className = 'panel-error';
  e.textContent = err.message;
  body.replaceChildren(e);
}

/** Returns { firing, pending, inactive } counts, or { error } (also shown in the side panel). */
export function drawAlerts(section) {
  return drawSection(section, async (body) => {
    const data = await alertRules();
    const rules = data.groups.flatMap((g) => g.rules).filter((r) => r.type === 'alerting');
    rules.sort((a, b) => ORDER[a.state] - ORDER[b.state] || a.name.localeCompare(b.name));
    const counts = { firing: 0, pending: 0, inactive: 0 };
    for (const r of rules) counts[r.state] = (counts[r.state] ?? 0) + 1;
    const summary = document.createElement('div');
    summary.className = 'detail muted';
    summary.textContent = `${counts.firing} firing · ${counts.pending} pending · ${counts.inactive} inactive`;
    body.replaceChildren(summary, ...rules.map((r) => {
      const active = r.alerts?.[0];
      const severity = r.labels?.severity ? `${r.labels.severity}` : '';
      const since = active?.activeAt ? `since ${new Date(active.activeAt).toLocaleTimeString()}` : '';
      const summaryText = active?.annotations?.summary ?? r.annotations?.summary ?? '';
      return line(r.state, r.state, r.name, [severity, since, r.state !== 'inactive' ? summaryText : ''].filter(Boolean).join(' · '));
    }));
    return counts;
  });
}

/** Returns { up, down } counts, or { error }. */
export function drawTargets(section) {
  return drawSection(section, async (body) => {
    const data = await scrapeTargets();
    const counts = { up: 0, down: 0 };
    body.replaceChildren(...data.activeTargets.map((t) => {
      counts[t.health === 'up' ? 'up' : 'down']++;
      const detail = t.health === 'up' ? t.scrapeUrl : `${t.scrapeUrl}: ${t.lastError || 'not scraped yet'}`;
      return line(t.health, t.health, t.labels?.job ?? t.scrapePool, detail);
    }));
    if (data.activeTargets.length === 0) body.textContent = 'no targets';
    return counts;
  });
}

/**
 * One side-panel section: `fill` draws into its body and returns counts; the section's data-state says ready or
 * error (the page test waits on it), and an error is shown in place and returned as { error }.
 */
async function drawSection(section, fill) {
  const body = section.querySelector('.body');
  body.classList.remove('muted');
  try {
    const counts = await fill(body);
    section.dataset.state = 'ready';
    return counts;
  } catch (err) {
    showError(body, err);
    section.dataset.state = 'error';
    return { error: err.message };
  }
}
