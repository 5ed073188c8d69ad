// Evaluation of case handling (案件评价): GET /cases/metrics by street, community, grid, unit or
// category as a table with the rates in percent, and a bar chart of 结案率 (closure rate) and
// 按期结案率 (on-time closure rate) drawn here as SVG.
import { t, onLangChange } from './i18n.js';
import { $, esc, chinaDate, formatTime } from './ui.js';
import { request, problemMessage, onSessionChange } from './session.js';
import { categoryName } from './cases.js';

const GROUPS = ['street', 'community', 'grid', 'unit', 'category'];
const COLUMNS = [
  ['received', 'count'], ['filed', 'count'], ['due', 'count'], ['closed', 'count'],
  ['closure_rate', 'rate'], ['on_time_rate', 'rate'], ['rework_rate', 'rate'], ['extension_rate', 'rate'],
  ['median_hours_to_close', 'hours'], ['overdue_now', 'count'],
];
const BARS = [['closure_rate', '#1e88e5'], ['on_time_rate', '#43a047']];
const CHART_GROUPS = 15;

let answer = null; // { group_by, body }

/** Wires the metrics panel. */
export function initMetrics() {
  $('metrics-from').value = chinaDate(-29);
  $('metrics-to').value = chinaDate(0);
  renderControls();
  $('metrics-show').addEventListener('click', show);
  onLangChange(() => { renderControls(); render(); });
  onSessionChange((s) => { if (!s) { answer = null; render(); } });
}

function renderControls() {
  const keep = $('metrics-group').value || 'street';
  $('metrics-group').innerHTML = GROUPS.map((g) => `<option value="${g}">${t(`group_${g}`)}</option>`).join('');
  $('metrics-group').value = keep;
}

async function show() {
  const groupBy = $('metrics-group').value;
  const params = new URLSearchParams({ group_by: groupBy });
  if ($('metrics-from').value) params.set('from', $('metrics-from').value);
  if ($('metrics-to').value) params.set('to', $('metrics-to').value);
  $('metrics-result').innerHTML = `<p class="muted">${t('loading')}</p>`;
  try {
    answer = { groupBy, body: await request(`/cases/metrics?${params}`) };
    render();
  } catch (err) {
    answer = null;
    $('metrics-result').innerHTML = `<p class="error">${esc(problemMessage(err))}</p>`;
  }
}

const pct = (r) => (r === null || r === undefined ? '—' : `${(r * 100).toFixed(1)}%`);
function cell(row, [key, kind]) {
  const v = row[key];
  const text = kind === 'rate' ? pct(v) : kind === 'hours' ? (v === null || v === undefined ? '—' : v.toFixed(1)) : String(v ?? 0);
  return `<td class="num" data-col="${key}">${text}</td>`;
}
function groupName(row) {
  if (row.key === 'all') return t('total');
  if (row.key === 'none' || row.name === '(none)') return t('none');
  return answer.groupBy === 'category' ? `${row.key} ${categoryName(row.key)}` : row.name;
}

function render() {
  if (!answer) { $('metrics-result').innerHTML = ''; return; }
  const { body } = answer;
  const rows = [...body.groups, body.total];
  const head = `<tr><th>${t(`group_${answer.groupBy}`)}</th>${COLUMNS.map(([k]) => `<th class="num">${t(`m_${k}`)}</th>`).join('')}</tr>`;
  const table = rows.map((r) => `<tr data-key="${esc(r.key)}"${r === body.total ? ' class="total"' : ''}><th>${esc(groupName(r))}</th>${COLUMNS.map((c) => cell(r, c)).join('')}</tr>`).join('');
  $('metrics-result').innerHTML =
    `<p class="muted">${esc(formatTime(body.from).slice(0, 10))} – ${esc(formatTime(new Date(new Date(body.to).getTime() - 1)).slice(0, 10))} · ${t('metrics_note')}</p>` +
    `${chart(rows)}` +
    `<div class="table-scroll"><table id="metrics-table"><thead>${head}</thead><tbody>${table}</tbody></table></div>`;
}

/** Horizontal bars of the two closure rates for the total and the groups with the most due cases. */
function chart(rows) {
  const shown = [rows.at(-1), ...rows.slice(0, -1).filter((r) => r.due > 0).sort((a, b) => b.due - a.due).slice(0, CHART_GROUPS)];
  if (!shown[0] || shown[0].due === 0) return `<p class="muted" id="metrics-chart-empty">${t('metrics_nothing_due')}</p>`;
  const labelW = 120; const barW = 200; const rowH = 34; const top = 28; const width = labelW + barW + 60;
  const height = top + shown.length * rowH + 8;
  const name = (r) => { const n = groupName(r); return n.length > 9 ? `${n.slice(0, 8)}…` : n; };
  const bars = shown.map((r, i) => {
    const y = top + i * rowH;
    return `<g data-key="${esc(r.key)}"><text x="${labelW - 6}" y="${y + rowH / 2 + 4}" text-anchor="end">${esc(name(r))}</text>` +
      BARS.map(([k, color], j) => {
        const v = r[k] ?? 0;
        const by = y + 4 + j * 13;
        return `<rect x="${labelW}" y="${by}" width="${(v * barW).toFixed(1)}" height="11" fill="${color}" data-col="${k}"><title>${esc(`${t(`m_${k}`)} ${pct(r[k])}`)}</title></rect>` +
          `<text x="${labelW + v * barW + 4}" y="${by + 10}" class="value">${pct(r[k])}</text>`;
      }).join('') + '</g>';
  }).join('');
  const legend = BARS.map(([k, color], j) => `<rect x="${labelW + j * 120}" y="6" width="12" height="12" fill="${color}"></rect><text x="${labelW + 16 + j * 120}" y="16">${t(`m_${k}`)}</text>`).join('');
  const axis = [0, 0.5, 1].map((v) => `<line x1="${labelW + v * barW}" x2="${labelW + v * barW}" y1="${top - 4}" y2="${height - 4}" class="grid"></line>`).join('');
  return `<svg id="metrics-chart" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${esc(t('metrics_chart'))}">${axis}${legend}${bars}</svg>`;
}
