// Cases in the viewer, for signed-in users: the cases layer (open cases in view, coloured by
// state, overdue ones ringed in red), "my tasks" (我的任务), the case page with its timeline,
// photos and the actions the user may take, and live updates from the event stream.
import { t, lang, onLangChange } from './i18n.js';
import { getJson } from './api.js';
import { $, esc, formatTime, remaining } from './ui.js';
import { current, request, photoUrl, problemMessage, onSessionChange, followEvents, Problem } from './session.js';
import { CASE_STATE, caseLayers } from './layers.js';

const empty = { type: 'FeatureCollection', features: [] };
/** Roles that may report, see the workflow's `Action::Report`. */
const REPORTERS = new Set(['worker', 'dispatcher', 'supervisor', 'admin']);
/** Roles the metrics are for (handlers and grid workers are refused by the server). */
const EVALUATORS = new Set(['dispatcher', 'supervisor', 'analyst', 'viewer', 'admin']);
/** Actions whose form takes photos (what was done, what was found on site). */
const WITH_PHOTOS = new Set(['handle', 'verify', 'reject']);
const MAX_PHOTOS = 6;
const MAX_PHOTO_BYTES = 10 * 1024 * 1024;

/** The case categories by code (public reference data, fetched once). */
export const categories = getJson('/cases/categories')
  .then((body) => new Map(body.categories.map((c) => [c.code, c])))
  .catch(() => new Map());
let categoryByCode = new Map();
categories.then((m) => { categoryByCode = m; renderTasks(); renderCase(); });

/** A category's name in the current language (its code when unknown). */
export const categoryName = (code) => {
  const c = categoryByCode.get(code);
  return c ? (lang() === 'zh' ? c.name_zh : c.name_en) : code;
};
/** A state's name in the current language. */
export const stateLabel = (state) => t(`state_${state}`);
/** The amount and unit of a time limit, e.g. "8 工作时". */
export const limitText = (amount, unit) => `${amount} ${t(`unit_${unit}`)}`;

let map; let showTab; let highlight;
let hiddenLayer = false;
let tasks = [];
let open = null; // { id, detail, form, message }: the case page
let wanted = null; // the case last asked for: an earlier answer arriving late is dropped

/**
 * Wires the cases layer, task list, case page and event stream. `ctx`: `map` (before its load
 * event; its style has the `cases` source and the layers of `caseLayers()`), `showTab(name)`,
 * `highlight(geometry|null)`, `onLayersChanged()` (the layer list re-renders).
 */
export function initCases(ctx) {
  ({ map, showTab, highlight } = ctx);
  // The cases source and layers are in the map's first style (app.js); filled once it is loaded.
  map.on('load', () => { if (current()) refreshLayer(); });
  map.on('moveend', () => refreshLayer());
  $('tasks-refresh').addEventListener('click', () => refreshTasks());
  $('task-list').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-case]');
    if (b) openCase(Number(b.dataset.case), { fly: true });
  });
  $('case-page').addEventListener('click', onCasePageClick);
  $('case-page').addEventListener('submit', onActionSubmit);
  $('case-page').addEventListener('change', (e) => { if (e.target.id === 'action-photos') renderActionPreviews(); });
  onSessionChange((s) => { applySession(s); ctx.onLayersChanged(); });
  onLangChange(() => { renderTasks(); renderCase(); renderLive(); });
  // Remaining times move on.
  setInterval(() => { renderTasks(); renderDeadline(); }, 60_000);
  applySession(current());
}

/** The layer list's entry for cases (only while signed in). */
export function casesLayerGroup() {
  if (!current()) return null;
  return {
    id: 'cases',
    title: t('cases_layer'),
    visible: !hiddenLayer,
    legend: [
      ...Object.entries(CASE_STATE).map(([state, color]) => ({ shape: 'circle', color, label: stateLabel(state) })),
      { shape: 'circle ring', color: 'transparent', label: t('overdue') },
    ],
    toggle(visible) {
      hiddenLayer = !visible;
      for (const l of caseLayers()) if (map.getLayer(l.id)) map.setLayoutProperty(l.id, 'visibility', visible ? 'visible' : 'none');
    },
  };
}

/** The case under a tap at `point` (screen pixels), or null. */
export function caseAt(point) {
  if (!map.getLayer('cases-circle') || hiddenLayer) return null;
  const r = 12;
  const found = map.queryRenderedFeatures([[point.x - r, point.y - r], [point.x + r, point.y + r]], { layers: ['cases-circle'] });
  return found.length ? Number(found[0].properties.id) : null;
}

function applySession(s) {
  const role = s?.user.role;
  const tab = (name) => document.querySelector(`#tabs button[data-tab="${name}"]`);
  tab('report').hidden = !REPORTERS.has(role);
  tab('tasks').hidden = !s || role === 'analyst' || role === 'viewer';
  tab('metrics').hidden = !EVALUATORS.has(role);
  if (!s) {
    tab('case').hidden = true;
    dropForm();
    open = null;
    wanted = null;
    tasks = [];
    $('case-page').innerHTML = '';
    renderTasks();
    map.getSource('cases')?.setData(empty);
    // Stay on the sign-in panel (the tablet may pass to the next person); leave a case panel.
    const selected = document.querySelector('#tabs button[aria-selected="true"]');
    if (document.body.dataset.tab !== 'account' && (!selected || selected.hidden)) showTab('layers');
  } else {
    refreshLayer();
    refreshTasks();
  }
  followEvents(onCaseEvent, onLagged, (state) => { $('live').dataset.state = state; renderLive(); });
}

function renderLive() {
  $('live').textContent = current() ? t(`live_${$('live').dataset.state}`) : '';
}

function onCaseEvent(event) {
  refreshLayer();
  refreshTasks();
  if (open && open.id === event.id && open.detail.case.version < event.version) reloadCase();
}
function onLagged() {
  refreshLayer();
  refreshTasks();
  if (open) reloadCase();
}

/** Runs `f` now, or once more after the run in progress when called during one. */
function coalesced(f) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running) { again = true; return running; }
    running = (async () => {
      do {
        again = false;
        try { await f(); } catch { /* shown where it matters; the next change retries */ }
      } while (again);
    })();
    try { await running; } finally { running = null; }
    return undefined;
  };
  return run;
}

// ---- cases layer ---------------------------------------------------------------------------
const refreshLayer = coalesced(async () => {
  if (!current() || !map.getSource('cases')) return;
  const b = map.getBounds();
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v)).toFixed(6);
  const bbox = [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90), clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)].join(',');
  const fc = await request(`/cases?f=geojson&state=open&limit=1000&bbox=${bbox}`);
  if (!current()) return;
  map.getSource('cases')?.setData(fc);
});

// ---- my tasks ------------------------------------------------------------------------------
const refreshTasks = coalesced(async () => {
  const s = current();
  if (!s || s.user.role === 'analyst' || s.user.role === 'viewer') return;
  try {
    const body = await request('/tasks');
    if (current() !== s) return;
    tasks = body.tasks;
    renderTasks();
  } catch (err) {
    if (current()) $('task-list').innerHTML = `<li class="error">${esc(problemMessage(err))}</li>`;
    throw err;
  }
});

/** A user name as shown; the server withholds the reporter from roles that may not see them. */
function person(name) {
  return name === 'withheld' ? t('withheld') : name;
}

function dueBadge(c) {
  const left = remaining(c.due_at);
  if (!left) return `<span class="due muted">${t('reported_at')} ${esc(formatTime(c.reported_at))}</span>`;
  return `<span class="due${left.overdue ? ' overdue' : ''}">${esc(left.text)}</span>`;
}
function stateBadge(state) {
  return `<span class="state" data-state="${esc(state)}"><i class="swatch circle" style="background:${CASE_STATE[state] ?? '#9e9e9e'}"></i>${esc(stateLabel(state))}</span>`;
}
const placeOf = (c) => c.address || c.cells?.at(-1)?.name || '';

function renderTasks() {
  $('task-count').textContent = tasks.length ? ` ${tasks.length}` : '';
  if (!current()) { $('task-list').innerHTML = ''; return; }
  $('task-list').innerHTML = tasks.length
    ? tasks.map((c) => `<li><button class="task${c.overdue ? ' overdue' : ''}" data-case="${c.id}" data-state="${esc(c.state)}">` +
      `<span class="task-head"><span><b>#${c.id}</b> ${esc(categoryName(c.category))}</span>${stateBadge(c.state)}</span>` +
      `<span class="task-foot"><span class="muted">${esc(placeOf(c))}</span>${dueBadge(c)}</span></button></li>`).join('')
    : `<li class="muted">${t('no_tasks')}</li>`;
}

// ---- case page -----------------------------------------------------------------------------
/** Opens the case page of case `id`; with `fly`, the map goes to it. */
export async function openCase(id, { fly = false } = {}) {
  const tab = document.querySelector('#tabs button[data-tab="case"]');
  tab.hidden = false;
  showTab('case');
  $('tab-case').scrollTop = 0;
  wanted = id;
  if (open?.id !== id) {
    dropForm();
    open = null;
    $('case-page').innerHTML = `<p class="muted">${t('loading')}</p>`;
  } else if (open) {
    open.message = null;
  }
  await loadCase(id);
  if (fly && open?.id === id) map.flyTo({ center: [open.detail.case.lon, open.detail.case.lat], zoom: Math.max(map.getZoom(), 16) });
}

/** Loads case `id` into the page, keeping a half-filled action form and the last message. */
async function loadCase(id) {
  try {
    const detail = await request(`/cases/${id}`);
    if (wanted !== id) return;
    open = { id, detail, form: open?.form ?? null, message: open?.message ?? null };
    renderCase();
    highlight({ type: 'Point', coordinates: [detail.case.lon, detail.case.lat] });
  } catch (err) {
    if (wanted === id) $('case-page').innerHTML = `<p class="error">${esc(problemMessage(err))}</p>`;
  }
}

async function reloadCase() {
  if (open) await loadCase(open.id);
}

function factRows(detail) {
  const c = detail.case;
  const cat = detail.category;
  const zh = lang() === 'zh';
  const sep = zh ? '、' : ', ';
  const rows = [
    ['category', t('category'), cat ? `${cat.code} ${zh ? cat.name_zh : cat.name_en} · ${t(`kind_${cat.kind}`)} · ${zh ? cat.major_zh : cat.major_en}` : c.category],
    ['description', t('description'), c.description],
    ['address', t('address_short'), c.address],
    ['location', t('location'), `${c.lon.toFixed(6)}, ${c.lat.toFixed(6)}`],
    ['cells', t('grid_chain'), c.cells.map((x) => x.name).join(' › ')],
    ['responsible_unit', t('responsible_unit'), c.responsible_unit],
    ['assigned_unit', t('assigned_unit'), c.assigned_unit],
    ['reporter', t('reporter'), `${person(c.reporter)} · ${t(`channel_${c.channel}`)}`],
    ['reported_at', t('reported_at'), formatTime(c.reported_at)],
    ['handle_due_at', t('handle_due'), c.handle_due_at ? formatTime(c.handle_due_at) : null],
    ['limits', t('time_limits'), cat ? [['handle', cat.limits.handle], ['verify', cat.limits.verify], ['close', cat.limits.close]]
      .map(([stage, amount]) => `${t(`stage_${stage}`)} ${limitText(amount, cat.time_unit)}`).join(sep) : null],
    ['asset', t('asset'), c.asset ? `${t(c.asset.collection)} #${c.asset.id}` : null],
    ['rework_count', t('rework_count'), c.rework_count ? String(c.rework_count) : null],
    ['extension_count', t('extension_count'), c.extension_count ? String(c.extension_count) : null],
    ['merged_into', t('merged_into'), c.merged_into ? `#${c.merged_into}` : null],
    ['merged_duplicates', t('merged_duplicates'), detail.merged_duplicates?.length ? detail.merged_duplicates.map((n) => `#${n}`).join(sep) : null],
  ];
  return rows.filter(([, , v]) => v !== null && v !== undefined && v !== '')
    .map(([key, label, value]) => `<tr data-fact="${key}"><th>${esc(label)}</th><td>${esc(value)}</td></tr>`).join('');
}

function thumbs(ids) {
  if (!ids?.length) return '';
  return `<div class="thumbs">${ids.map((id) => `<button type="button" class="thumb" data-photo="${esc(id)}" aria-label="${esc(t('photo'))}"><img alt=""></button>`).join('')}</div>`;
}
function loadThumbs(root) {
  for (const b of root.querySelectorAll('button.thumb[data-photo]')) {
    photoUrl(b.dataset.photo).then((url) => {
      const img = b.querySelector('img');
      img.src = url;
      b.dataset.loaded = 'true';
    }, () => { b.classList.add('broken'); });
  }
}

function detailText(entry) {
  const d = entry.detail ?? {};
  const parts = [];
  if (d.unit) parts.push(`${t('dispatched_to')}: ${d.unit}`);
  if (d.amount) parts.push(`${t('extension_amount')}: ${limitText(d.amount, d.time_unit)}`);
  if (d.into) parts.push(`${t('merged_into')}: #${d.into}`);
  if (entry.action === 'link_asset') {
    parts.push(d.asset ? `${t('linked_asset')}: ${t(d.asset.collection)} #${d.asset.id}` : t('asset_cleared'));
  }
  return parts.join(' · ');
}

function renderCase() {
  if (!open) return;
  captureForm();
  const focused = document.activeElement?.closest('#case-page') ? document.activeElement.id : null;
  const { detail } = open;
  const c = detail.case;
  const zh = lang() === 'zh';
  const log = detail.log.map((e) => {
    const extra = detailText(e);
    return `<li data-seq="${e.seq}" data-action="${esc(e.action)}">` +
      `<div class="log-head"><b>${esc(zh ? e.action_zh : e.action_en)}</b> <span class="muted">${esc(formatTime(e.at))} · ${esc(person(e.actor))}</span></div>` +
      `<div class="log-states">${e.from ? `${esc(stateLabel(e.from))} → ` : ''}${esc(stateLabel(e.to))}</div>` +
      `${e.note ? `<div class="note">${esc(e.note)}</div>` : ''}` +
      // The report's photos are shown with the facts above.
      `${extra ? `<div class="muted">${esc(extra)}</div>` : ''}${e.action === 'report' ? '' : thumbs(e.photos)}</li>`;
  }).join('');
  const actions = detail.allowed_actions.map((a) =>
    `<button type="button" data-action="${esc(a.action)}" class="${open.form?.action === a.action ? 'active' : ''}">${esc(zh ? a.label_zh : a.label_en)}</button>`).join('');
  $('case-page').innerHTML =
    `<div id="case-head" data-id="${c.id}" data-state="${esc(c.state)}" data-version="${c.version}">` +
    `<h2>${t('case')} #${c.id} · ${esc(categoryName(c.category))}</h2>` +
    `<p class="row">${stateBadge(c.state)} <span id="case-deadline"></span></p></div>` +
    `<table id="case-facts">${factRows(detail)}</table>` +
    `${c.photos.length ? `<h3>${t('report_photos')}</h3>${thumbs(c.photos)}` : ''}` +
    `<h3>${t('actions')}</h3>` +
    `<div id="case-actions" class="row">${actions || `<span class="muted">${t('no_actions')}</span>`}</div>` +
    `<div id="action-slot"></div>` +
    `<p id="case-message" class="${open.message?.error ? 'error' : 'ok'}" role="status">${esc(open.message?.text ?? '')}</p>` +
    `<h3>${t('timeline')}</h3><ol id="case-log" class="timeline">${log}</ol>`;
  renderDeadline();
  renderActionForm();
  loadThumbs($('case-page'));
  if (focused) $(focused)?.focus();
}

function renderDeadline() {
  const el = $('case-deadline');
  if (!el || !open) return;
  const c = open.detail.case;
  if (c.closed_at) {
    const timeliness = c.on_time === true ? t('closed_on_time') : c.on_time === false ? t('closed_late') : '';
    el.innerHTML = `${t(c.state === 'voided' ? 'voided_at' : 'closed_at')}: ${esc(formatTime(c.closed_at))}` +
      `${timeliness ? ` <span class="due${c.on_time ? '' : ' overdue'}">${timeliness}</span>` : ''}`;
    el.dataset.overdue = 'false';
    return;
  }
  const left = remaining(c.due_at);
  el.innerHTML = left
    ? `${t('deadline')}: ${esc(formatTime(c.due_at))} <span class="due${left.overdue ? ' overdue' : ''}">${esc(left.text)}</span>`
    : `<span class="muted">${open.detail.schedule?.paused ? t('clock_paused') : t('no_deadline')}</span>`;
  el.dataset.overdue = String(Boolean(left?.overdue));
}

// The action form: what the action needs, kept across re-renders (a live update must not wipe a
// half-written note).
function renderActionForm() {
  const slot = $('action-slot');
  const form = open?.form;
  const allowed = open?.detail.allowed_actions.find((a) => a.action === form?.action);
  if (!form || !allowed) {
    if (form && !allowed) open.message = { text: t('action_gone'), error: true };
    if (open) open.form = null;
    slot.innerHTML = '';
    return;
  }
  const c = open.detail.case;
  const cat = open.detail.category;
  const zh = lang() === 'zh';
  const fields = [];
  if (form.action === 'dispatch') {
    fields.push(`<label class="stack"><span>${t('dispatch_unit')}</span><input id="action-unit" autocomplete="off" value="${esc(form.unit ?? c.assigned_unit ?? c.responsible_unit ?? '')}"></label>`);
  }
  if (form.action === 'request_extension' || form.action === 'approve_extension') {
    const asked = [...open.detail.log].reverse().find((e) => e.action === 'request_extension')?.detail?.amount;
    const value = form.amount ?? (form.action === 'approve_extension' ? asked ?? '' : '');
    fields.push(`<label class="stack"><span>${t('extension_amount')} (${t(`unit_${cat?.time_unit ?? 'working_hours'}`)})</span><input id="action-amount" type="number" inputmode="decimal" min="0.5" step="0.5" value="${esc(value)}"></label>`);
  }
  if (form.action === 'link_asset') {
    const linkedTo = form.asset_collection ?? c.asset?.collection ?? cat?.asset?.collection ?? '';
    fields.push(`<label class="stack"><span>${t('asset_collection')}</span><input id="action-asset-collection" autocomplete="off" value="${esc(linkedTo)}"></label>` +
      `<label class="stack"><span>${t('asset_id')}</span><input id="action-asset-id" autocomplete="off" value="${esc(form.asset_id ?? c.asset?.id ?? '')}"></label>` +
      `<div class="row"><button type="button" id="action-suggest-asset">${t('asset_suggest')}</button></div>`);
  }
  if (form.action === 'merge') {
    fields.push(`<label class="stack"><span>${t('merge_into')}</span><input id="action-into" type="number" inputmode="numeric" min="1" value="${esc(form.into ?? '')}"></label>`);
  }
  fields.push(`<label class="stack"><span>${allowed.needs_note ? t('note_required') : t('note_optional')}</span><textarea id="action-note" rows="3">${esc(form.note ?? '')}</textarea></label>`);
  if (WITH_PHOTOS.has(form.action)) {
    fields.push(`<label class="file-button"><span>${t('take_photo')}</span><input id="action-photos" type="file" accept="image/*" capture="environment" multiple></label><div id="action-previews" class="thumbs"></div>`);
  }
  slot.innerHTML = `<form id="action-form" data-action="${esc(form.action)}"><h3>${esc(zh ? allowed.label_zh : allowed.label_en)}</h3>${fields.join('')}` +
    `<p id="action-error" class="error" role="alert">${esc(form.error ?? '')}</p>` +
    `<div class="row"><button id="action-submit" type="submit" class="primary">${t('confirm')}: ${esc(zh ? allowed.label_zh : allowed.label_en)}</button>` +
    `<button id="action-cancel" type="button">${t('cancel')}</button></div></form>`;
  form.files ??= [];
  renderActionPreviews(false);
}

/** Keeps what was typed in the action form, so a re-render restores it. */
function captureForm() {
  const form = open?.form;
  if (!form || !$('action-form')) return;
  form.note = $('action-note')?.value ?? form.note;
  if ($('action-unit')) form.unit = $('action-unit').value;
  if ($('action-amount')) form.amount = $('action-amount').value;
  if ($('action-into')) form.into = $('action-into').value;
  if ($('action-asset-collection')) form.asset_collection = $('action-asset-collection').value;
  if ($('action-asset-id')) form.asset_id = $('action-asset-id').value;
}

function renderActionPreviews(fromInput = true) {
  const form = open?.form;
  const box = $('action-previews');
  if (!form || !box) return;
  if (fromInput) {
    const picked = [...$('action-photos').files];
    $('action-photos').value = '';
    form.error = null;
    for (const f of picked) {
      if (form.files.length >= MAX_PHOTOS) { form.error = t('too_many_photos'); break; }
      if (f.size > MAX_PHOTO_BYTES) { form.error = t('photo_too_large'); continue; }
      form.files.push({ file: f, url: URL.createObjectURL(f) });
    }
    $('action-error').textContent = form.error ?? '';
  }
  box.innerHTML = form.files.map((p, i) =>
    `<span class="preview"><img src="${p.url}" alt=""><button type="button" class="remove" data-remove-action-photo="${i}" aria-label="${esc(t('remove'))}">×</button></span>`).join('');
}

function onCasePageClick(e) {
  const thumb = e.target.closest('button.thumb[data-photo]');
  if (thumb) { showPhoto(thumb.dataset.photo); return; }
  const remove = e.target.closest('button[data-remove-action-photo]');
  if (remove && open?.form) {
    const [gone] = open.form.files.splice(Number(remove.dataset.removeActionPhoto), 1);
    if (gone) URL.revokeObjectURL(gone.url);
    renderActionPreviews(false);
    return;
  }
  if (e.target.id === 'action-cancel') { dropForm(); open.message = null; renderCase(); return; }
  if (e.target.id === 'action-suggest-asset' && open?.form) { suggestAsset(); return; }
  const b = e.target.closest('#case-actions button[data-action]');
  if (b && open) {
    captureForm();
    if (open.form?.action !== b.dataset.action) { dropForm(); open.form = { action: b.dataset.action }; }
    open.message = null;
    renderCase();
    $('action-form')?.scrollIntoView({ block: 'nearest' });
  }
}

/** Fills the link form with the asset a report of the case's category there would be offered. */
async function suggestAsset() {
  captureForm();
  const form = open.form;
  const c = open.detail.case;
  try {
    const body = await request(`/cases/suggested-asset?category=${encodeURIComponent(c.category)}&lon=${c.lon}&lat=${c.lat}`);
    const asset = body.suggested_asset;
    if (open?.form !== form) return;
    if (asset) {
      form.asset_collection = asset.collection;
      form.asset_id = asset.id;
      form.error = null;
      // renderCase() keeps what the inputs hold: put the suggestion there too.
      if ($('action-asset-collection')) $('action-asset-collection').value = asset.collection;
      if ($('action-asset-id')) $('action-asset-id').value = asset.id;
    } else {
      form.error = t('asset_none_nearby');
    }
  } catch (err) {
    form.error = problemMessage(err);
  }
  renderCase();
}

function dropForm() {
  for (const p of open?.form?.files ?? []) URL.revokeObjectURL(p.url);
  if (open) open.form = null;
}

async function showPhoto(id) {
  const dialog = $('photo-viewer');
  try {
    $('photo-large').src = await photoUrl(id);
    dialog.showModal();
  } catch (err) {
    if (open) { open.message = { text: problemMessage(err), error: true }; renderCase(); }
  }
}

async function uploadPhotos(files) {
  const ids = [];
  for (const { file } of files) {
    const body = await request('/photos', { method: 'POST', body: file, headers: { 'content-type': file.type || 'application/octet-stream' } });
    ids.push(body.id);
  }
  return ids;
}

async function onActionSubmit(e) {
  if (e.target.id !== 'action-form') return;
  e.preventDefault();
  captureForm();
  const form = open.form;
  const allowed = open.detail.allowed_actions.find((a) => a.action === form.action);
  const body = { action: form.action, version: open.detail.case.version };
  const note = (form.note ?? '').trim();
  if (note) body.note = note;
  const fail = (text) => { form.error = text; $('action-error').textContent = text; };
  if (allowed?.needs_note && !note) { fail(t('note_missing')); return; }
  if (form.action === 'dispatch') {
    if (!form.unit?.trim()) { fail(t('unit_missing')); return; }
    body.unit = form.unit.trim();
  }
  if (form.action === 'request_extension' || form.action === 'approve_extension') {
    const amount = Number(form.amount);
    if (form.amount !== '' && form.amount !== undefined && (!Number.isFinite(amount) || amount <= 0)) { fail(t('amount_invalid')); return; }
    if (form.action === 'request_extension' && !(amount > 0)) { fail(t('amount_invalid')); return; }
    if (amount > 0) body.amount = amount;
  }
  if (form.action === 'link_asset') {
    const id = (form.asset_id ?? '').trim();
    const collection = (form.asset_collection ?? '').trim();
    if (id && !collection) { fail(t('asset_id_missing')); return; }
    if (!id && !open.detail.case.asset) { fail(t('asset_id_missing')); return; }
    body.asset = id ? { collection, id } : null;
  }
  if (form.action === 'merge') {
    const into = Number(form.into);
    if (!Number.isInteger(into) || into <= 0) { fail(t('into_missing')); return; }
    body.into = into;
  }
  $('action-submit').disabled = true;
  const label = lang() === 'zh' ? allowed.label_zh : allowed.label_en;
  try {
    if (form.files?.length) body.photos = await uploadPhotos(form.files);
    await request(`/cases/${open.id}/actions`, { json: body });
    dropForm();
    open.message = { text: `${t('action_done')}: ${label}` };
    await reloadCase();
    refreshTasks();
    refreshLayer();
  } catch (err) {
    if (err instanceof Problem && err.status === 409) {
      dropForm();
      open.message = { text: problemMessage(err), error: true };
      await reloadCase();
    } else {
      form.error = problemMessage(err);
      renderCase();
    }
  }
}
