// Prometheus's HTTP API, through the dashboard server's same-origin /api/v1 proxy.

async function call(path, params) {
  const init = params
    ? { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) }
    : { method: 'GET' };
  const res = await fetch(`api/v1/${path}`, init);
  let json;
  try {
    json = await res.json();
  } catch {
    throw new Error(`${path}: HTTP ${res.status}, not JSON`);
  }
  if (json.status !== 'success') throw new Error(`${json.errorType ?? 'error'}: ${json.error ?? `HTTP ${res.status}`}`);
  return json.data;
}

/** Range query; start and end are aligned on the step so every series of a panel shares one time grid. */
export function queryRange(expr, start, end, step) {
  return call('query_range', { query: expr, start: String(start), end: String(end), step: String(step) });
}

export function queryInstant(expr, time) {
  return call('query', { query: expr, time: String(time) });
}

export function labelValues(label, match) {
  return call(`label/${encodeURIComponent(label)}/values?${new URLSearchParams(match ? { 'match[]': match } : {})}`);
}

export const alertRules = () => call('rules?type=alert');
export const scrapeTargets = () => call('targets?state=active');
