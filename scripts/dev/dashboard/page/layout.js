// The dashboard's rows and 24-column grid (gridPos), as Grafana lays them out.

/**
 * Sections in order: the panels before the first row, then each row with its panels (those below it up to the
 * next row, or, for a collapsed row, the panels it holds). Panel y is made relative to the section.
 */
export function sections(panels) {
  const sorted = [...panels].sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
  const out = [{ row: null, panels: [] }];
  for (const p of sorted) {
    if (p.type === 'row') out.push({ row: p, panels: [...(p.collapsed ? p.panels ?? [] : [])] });
    else out[out.length - 1].panels.push(p);
  }
  return out.filter((s) => s.row || s.panels.length);
}

function panelElement(panel, top) {
  const el = document.createElement('div');
  el.className = 'panel';
  el.dataset.panelId = String(panel.id);
  el.dataset.type = panel.type;
  el.dataset.state = 'loading';
  const { x, y, w, h } = panel.gridPos;
  el.style.gridColumn = `${x + 1} / span ${w}`;
  el.style.gridRow = `${y - top + 1} / span ${h}`;
  const title = document.createElement('div');
  title.className = 'panel-title';
  const text = document.createElement('span');
  text.textContent = panel.title ?? '';
  title.append(text);
  if (panel.description) {
    const info = document.createElement('span');
    info.className = 'info';
    info.textContent = 'i';
    info.title = panel.description;
    title.append(info);
  }
  const body = document.createElement('div');
  body.className = 'panel-body';
  el.append(title, body);
  return { panel, el, body };
}

/**
 * Renders the sections into container; returns one handle per panel ({ panel, el, body, visible() }).
 * onToggle runs after a row is opened (the newly shown panels need drawing).
 */
export function renderLayout(container, panels, onToggle) {
  container.replaceChildren();
  const handles = [];
  for (const section of sections(panels)) {
    const grid = document.createElement('div');
    grid.className = 'grid';
    if (section.row) {
      const header = document.createElement('div');
      header.className = 'row-header';
      header.dataset.rowId = String(section.row.id);
      const chevron = document.createElement('span');
      chevron.className = 'chevron';
      const title = document.createElement('span');
      title.textContent = section.row.title ?? '';
      header.append(chevron, title);
      const show = (open) => {
        grid.hidden = !open;
        chevron.textContent = open ? '▾' : '▸';
      };
      show(!section.row.collapsed);
      header.addEventListener('click', () => {
        const open = grid.hidden;
        show(open);
        if (open) onToggle(); // a closed row's panels are not queried; reopened, they are drawn afresh
      });
      container.append(header);
    }
    const top = Math.min(...section.panels.map((p) => p.gridPos.y));
    for (const p of section.panels) {
      const handle = panelElement(p, top);
      handle.visible = () => !grid.hidden;
      grid.append(handle.el);
      handles.push(handle);
    }
    container.append(grid);
  }
  return handles;
}
