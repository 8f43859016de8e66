// Grafana's units and colours for the ones the chart's dashboard uses.

const NAMED = {
  green: '#73bf69', red: '#f2495c', orange: '#ff9830', yellow: '#fade2a', blue: '#5794f2', purple: '#b877d9',
  'dark-red': '#c4162a', 'dark-green': '#37872d', 'dark-orange': '#fa6400', text: '#ccccdc', transparent: 'transparent',
};
// Grafana's classic palette, in its order.
const CLASSIC = ['#7eb26d', '#eab839', '#6ed0e0', '#ef843c', '#e24d42', '#1f78c1', '#ba43a9', '#705da0', '#508642',
  '#cca300', '#447ebc', '#c15c17', '#890f02', '#0a437c', '#6d1f62', '#584477'];

export const color = (name) => NAMED[name] ?? name;
export const paletteColor = (i) => CLASSIC[i % CLASSIC.length];

/** The colour of the last threshold step at or below value (steps ascending; the first has value null = base). */
export function thresholdColor(thresholds, value) {
  let c = 'green';
  for (const step of thresholds?.steps ?? []) {
    if (step.value === null || step.value === undefined || value >= step.value) c = step.color;
  }
  return color(c);
}

/** rgba() of a #rrggbb colour. */
export function alpha(hex, a) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  return m ? `rgba(${parseInt(m[1], 16)}, ${parseInt(m[2], 16)}, ${parseInt(m[3], 16)}, ${a})` : hex;
}

/** Up to 3 significant digits, or exactly `decimals` when the panel sets them. */
function num(v, decimals) {
  if (decimals !== undefined && decimals !== null) return v.toFixed(decimals);
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return String(Number(v.toFixed(1)));
  if (a >= 1) return String(Number(v.toFixed(2)));
  return String(Number(v.toPrecision(3)));
}

function scaled(v, steps, decimals) {
  let i = 0;
  while (i < steps.length - 1 && Math.abs(v) >= steps[i + 1][0]) i++;
  const [div, suffix] = steps[i];
  return `${num(v / div, decimals)}${suffix}`;
}

const SHORT = [[1, ''], [1e3, ' K'], [1e6, ' Mil'], [1e9, ' Bil']];
const SECONDS = [[1e-6, ' µs'], [1e-3, ' ms'], [1, ' s'], [60, ' min'], [3600, ' hour'], [86400, ' day']];
const BYTES = [[1, ' B'], [1024, ' KiB'], [1024 ** 2, ' MiB'], [1024 ** 3, ' GiB'], [1024 ** 4, ' TiB']];

/** A value in the panel's unit, as Grafana would print it. */
export function formatValue(v, unit, decimals) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  switch (unit) {
    case 'percentunit': return `${num(v * 100, decimals)}%`;
    case 'percent': return `${num(v, decimals)}%`;
    case 's': return v === 0 ? '0 s' : scaled(v, SECONDS, decimals);
    case 'ms': return v === 0 ? '0 ms' : scaled(v / 1000, SECONDS, decimals);
    case 'bytes': return scaled(v, BYTES, decimals);
    case 'reqps': return `${scaled(v, SHORT, decimals)} req/s`;
    case 'ops': return `${scaled(v, SHORT, decimals)} ops/s`;
    case 'short': return scaled(v, SHORT, decimals);
    default: return num(v, decimals);
  }
}
