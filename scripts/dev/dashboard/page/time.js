// Time ranges, steps and Grafana's variables, as Grafana computes them for a Prometheus data source.

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** "now", "now-1h", "now-30m" or epoch milliseconds (Grafana's URL forms) to epoch seconds. */
export function resolveTime(text, nowSeconds) {
  if (/^\d{10,}$/.test(text)) return Number(text) / 1000;
  const m = /^now(?:-(\d+)([smhdw]))?$/.exec(text);
  if (!m) throw new Error(`time "${text}" is not now, now-<n><s|m|h|d|w> or epoch milliseconds`);
  return m[1] ? nowSeconds - Number(m[1]) * UNIT_SECONDS[m[2]] : nowSeconds;
}

/** "30s", "1m", "1h" to seconds; "off" and "" to 0. */
export function durationSeconds(text) {
  if (!text || text === 'off') return 0;
  const m = /^(\d+)([smhdw])$/.exec(text);
  if (!m) throw new Error(`duration "${text}" is not <n><s|m|h|d|w>`);
  return Number(m[1]) * UNIT_SECONDS[m[2]];
}

/** A PromQL duration: whole seconds where possible, else milliseconds (a 0.5 s scrape interval). */
export function promDuration(seconds) {
  return Number.isInteger(seconds) ? `${seconds}s` : `${Math.round(seconds * 1000)}ms`;
}

/**
 * Grafana's step: about one point per pixel of the panel's width, never finer than the scrape interval
 * (finer steps only repeat samples), in whole seconds.
 */
export function stepFor(rangeSeconds, widthPx, scrapeSeconds) {
  return Math.max(scrapeSeconds, Math.ceil(rangeSeconds / Math.max(widthPx, 100)));
}

/** Grafana's $__rate_interval: max(step + scrape interval, 4 x scrape interval), so a rate() always has 2+ samples. */
export function rateInterval(stepSeconds, scrapeSeconds) {
  return Math.max(stepSeconds + scrapeSeconds, 4 * scrapeSeconds);
}

/** Replace $name, ${name} and ${name:format} with the variables' values; unknown ones stay (PromQL then says why). */
export function interpolate(expr, vars) {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole, braced, bare) => {
    const name = braced ?? bare;
    return Object.hasOwn(vars, name) ? vars[name] : whole;
  });
}
