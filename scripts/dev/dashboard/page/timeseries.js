// Grafana's time-series panel drawn with uPlot: units on the axis and legend, fill opacity, stacking "normal",
// min/max, thresholds drawn as lines and areas ("line+area"), a shared crosshair (graphTooltip 1).
import { alpha, color, formatValue, paletteColor } from './units.js';
import { countValues } from './series.js';

const AXIS = { stroke: '#ccccdc', grid: { stroke: 'rgba(204, 204, 220, 0.08)', width: 1 }, ticks: { show: false }, font: '11px DejaVu Sans, sans-serif' };

/** Time-axis labels: seconds only for ranges under 10 minutes, the date once a range spans more than a day. */
function timeLabels(u, splits) {
  const span = u.scales.x.max - u.scales.x.min;
  const fmt = { hour: '2-digit', minute: '2-digit', hour12: false, ...(span < 600 ? { second: '2-digit' } : {}) };
  return splits.map((t) => {
    const d = new Date(t * 1000);
    const time = d.toLocaleTimeString([], fmt);
    return span > 86400 ? `${d.toLocaleDateString([], { month: '2-digit', day: '2-digit' })} ${time}` : time;
  });
}

/** Cumulative sums for stacking "normal"; a gap stays a gap in its own series and counts 0 for those above. */
function stacked(series) {
  const sums = new Array(series[0]?.values.length ?? 0).fill(0);
  return series.map((s) => s.values.map((v, i) => (v === null ? null : (sums[i] += v))));
}

/** uPlot hook drawing each non-transparent threshold as a dashed line with a light area up to the next one. */
function thresholdHook(thresholds) {
  const steps = (thresholds?.steps ?? []).filter((s) => s.value !== null && s.value !== undefined);
  return (u) => {
    const { ctx, bbox } = u;
    ctx.save();
    steps.forEach((s, k) => {
      const c = color(s.color);
      if (c === 'transparent') return;
      const y = u.valToPos(s.value, 'y', true);
      const next = steps[k + 1] ? u.valToPos(steps[k + 1].value, 'y', true) : bbox.top;
      const top = Math.max(bbox.top, next);
      if (y > bbox.top && top < y) {
        ctx.fillStyle = alpha(c, 0.09);
        ctx.fillRect(bbox.left, top, bbox.width, Math.min(y, bbox.top + bbox.height) - top);
      }
      if (y >= bbox.top && y <= bbox.top + bbox.height) {
        ctx.strokeStyle = c;
        ctx.setLineDash([6, 4]);
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(bbox.left, y);
        ctx.lineTo(bbox.left + bbox.width, y);
        ctx.stroke();
      }
    });
    ctx.restore();
  };
}

/**
 * Draws series ([{ name, values }], all on the grid xs) into body, replacing what was there. Returns the number
 * of non-null points drawn, and the uPlot instance (to be destroyed before the next draw).
 */
export function drawTimeseries(body, panel, xs, series, syncKey) {
  body.replaceChildren();
  const points = series.reduce((n, s) => n + countValues(s.values), 0);
  if (points === 0) {
    const empty = document.createElement('div');
    empty.className = 'panel-message';
    empty.textContent = 'No data';
    body.append(empty);
    return { points, plot: null };
  }
  const defaults = panel.fieldConfig?.defaults ?? {};
  const custom = defaults.custom ?? {};
  const unit = defaults.unit;
  const fmt = (v) => formatValue(v, unit, defaults.decimals);
  const stack = custom.stacking?.mode === 'normal';
  const drawn = stack ? stacked(series) : series.map((s) => s.values);
  const fillOpacity = (custom.fillOpacity ?? 0) / 100;
  const legend = panel.options?.legend ?? {};

  const opts = {
    width: Math.max(body.clientWidth - 8, 100),
    height: Math.max(body.clientHeight, 60),
    cursor: { sync: { key: syncKey }, points: { size: 5 } },
    legend: { show: legend.showLegend !== false, live: true },
    scales: {
      x: { time: true },
      y: {
        range: (_u, lo, hi) => {
          if (lo === null || hi === null) return [defaults.min ?? 0, defaults.max ?? 1];
          // a flat line (all zeros, say) gets a unit of room above it, not uPlot's default of 100
          let [a, b] = hi > lo ? uPlot.rangeNum(lo, hi, 0.1, true) : [lo - Math.abs(lo) * 0.1, hi + (Math.abs(hi) * 0.1 || 1)];
          if (defaults.min !== undefined && defaults.min !== null) a = defaults.min;
          if (defaults.max !== undefined && defaults.max !== null) b = defaults.max;
          return b > a ? [a, b] : [a, a + 1];
        },
      },
    },
    axes: [
      { ...AXIS, values: timeLabels, size: 28 }, // one line of labels (uPlot reserves 50 px for two)
      {
        ...AXIS,
        values: (_u, splits) => splits.map(fmt),
        size: (_u, values) => 14 + 6.5 * Math.max(4, ...(values ?? []).map((v) => String(v).length)),
      },
    ],
    series: [
      { value: (_u, t) => (t === null ? '' : new Date(t * 1000).toLocaleTimeString()) },
      ...series.map((s, i) => ({
        label: s.name,
        stroke: paletteColor(i),
        width: custom.lineWidth ?? 1,
        fill: fillOpacity > 0 ? alpha(paletteColor(i), fillOpacity) : undefined,
        spanGaps: custom.spanNulls === true,
        points: { show: custom.showPoints === 'always' },
        // the legend shows each series' own value, also when the lines are stacked
        value: (_u, _v, _si, idx) => (idx === null || idx === undefined ? '' : fmt(s.values[idx])),
      })),
    ],
    // stacked: each series fills down to the one below it, not to zero
    bands: stack ? series.slice(1).map((_, k) => ({ series: [k + 2, k + 1] })) : [],
    hooks: custom.thresholdsStyle?.mode?.startsWith('line') ? { drawClear: [thresholdHook(defaults.thresholds)] } : {},
  };
  const plot = new uPlot(opts, [xs, ...drawn], body);
  // The legend sits under the canvas inside body: give the canvas what it leaves.
  const legendEl = plot.root.querySelector('.u-legend');
  const legendHeight = legendEl ? legendEl.offsetHeight : 0;
  plot.setSize({ width: opts.width, height: Math.max(body.clientHeight - legendHeight - 2, 60) });
  return { points, plot };
}
