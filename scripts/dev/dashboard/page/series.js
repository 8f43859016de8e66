// Prometheus results to named series, the way Grafana names and aligns them.

/**
 * legendFormat with {{label}} filled in; without one (or where it comes out empty, e.g. {{pod}} outside
 * Kubernetes), the labels ({a="b"}) or, for a bare number, the query.
 */
export function seriesName(labels, legendFormat, expr) {
  const named = (legendFormat ?? '').replace(/\{\{\s*(\w+)\s*\}\}/g, (_, l) => labels[l] ?? '').trim();
  if (named) return named;
  const { __name__: metric, ...rest } = labels;
  const pairs = Object.entries(rest).map(([k, v]) => `${k}="${v}"`).join(', ');
  if (metric || pairs) return `${metric ?? ''}${pairs ? `{${pairs}}` : ''}`;
  const flat = expr.replace(/\s+/g, ' ');
  return flat.length > 60 ? `${flat.slice(0, 59)}…` : flat;
}

/** "NaN" (a quantile without traffic), "+Inf" and missing samples are gaps, as in Grafana. */
export function sampleValue(text) {
  const v = Number(text);
  return Number.isFinite(v) ? v : null;
}

/** The time grid of a range query: start, start + step, ..., end (both aligned on the step). */
export function timeGrid({ start, end, step }) {
  const xs = [];
  for (let t = start; t <= end; t += step) xs.push(t);
  return xs;
}

/** A matrix result on the grid: one array of values (null where Prometheus has no sample) per series. */
export function alignMatrix(result, xs, step, target) {
  const index = new Map(xs.map((t, i) => [t, i]));
  return result.map((s) => {
    const values = new Array(xs.length).fill(null);
    for (const [t, v] of s.values) {
      // Prometheus answers at start + k * step exactly; rounding guards against float noise in t.
      const i = index.get(Math.round(t / step) * step);
      if (i !== undefined) values[i] = sampleValue(v);
    }
    return { name: seriesName(s.metric, target.legendFormat, target.expr), values };
  });
}

/** An instant (vector or scalar) result: one value per series. */
export function vectorValues(data, target) {
  if (data.resultType === 'scalar') return [{ name: seriesName({}, target.legendFormat, target.expr), value: sampleValue(data.result[1]) }];
  return data.result.map((s) => ({ name: seriesName(s.metric, target.legendFormat, target.expr), value: sampleValue(s.value[1]) }));
}

export const countValues = (values) => values.reduce((n, v) => n + (v === null ? 0 : 1), 0);
