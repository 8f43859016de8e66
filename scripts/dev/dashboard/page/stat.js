// Grafana's stat panel: one big value per series, coloured by the thresholds (colorMode "background").
import { formatValue, thresholdColor } from './units.js';
import { countValues } from './series.js';

/**
 * values: [{ name, value }] over all targets (an instant query gives one value per series; a range query is
 * reduced to its last non-null value, the reduceOptions "lastNotNull" the chart uses). Returns the number of
 * values drawn.
 */
export function drawStat(body, panel, values) {
  const defaults = panel.fieldConfig?.defaults ?? {};
  const shown = values.filter((v) => v.value !== null);
  body.replaceChildren();
  if (shown.length === 0) {
    const empty = document.createElement('div');
    empty.className = 'panel-message';
    empty.textContent = defaults.noValue ?? 'No data';
    body.append(empty);
    return 0;
  }
  const box = document.createElement('div');
  box.className = 'stat';
  const background = (panel.options?.colorMode ?? 'value') === 'background';
  for (const v of shown) {
    const cell = document.createElement('div');
    cell.className = 'stat-value';
    const c = thresholdColor(defaults.thresholds, v.value);
    if (background) cell.style.background = c;
    else cell.style.color = c;
    const number = document.createElement('div');
    number.className = 'number';
    number.textContent = formatValue(v.value, defaults.unit, defaults.decimals);
    cell.append(number);
    if (shown.length > 1) {
      const label = document.createElement('div');
      label.className = 'label';
      label.textContent = v.name;
      cell.append(label);
    }
    box.append(cell);
  }
  body.append(box);
  return countValues(shown.map((v) => v.value));
}

/** lastNotNull of a range series. */
export const lastNotNull = (values) => {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
  return null;
};
