// The tablet report form (上报): a category picked from the national classes (grouped by major
// class, searchable), a description, an address, photos from the camera, and the place from the
// device or a tap on the map (a marker that can be dragged); sent as multipart/form-data to
// POST /cases. Once category and place are chosen, the form asks which asset (a manhole…) the
// report would be about (GET /cases/suggested-asset) and the reporter may confirm it, so the case
// is linked to it (and counts in the hazard register). The answer shows the case number, its
// grid chain and unit, probable duplicates and the linked or suggested asset.
import { t, lang, onLangChange } from './i18n.js';
import { $, esc, randomKey } from './ui.js';
import { current, request, problemMessage, onSessionChange } from './session.js';
import { categories, categoryName, stateLabel, limitText, openCase } from './cases.js';

const MAX_PHOTOS = 6;
const MAX_PHOTO_BYTES = 10 * 1024 * 1024;

let map; let pickPoint; let highlight; let flyTo;
let catalog = [];
let chosen = null; // category code
let place = null; // { lng, lat, chain }
let marker = null;
let photos = []; // { file, url }
let idempotencyKey = null; // kept until the report is stored, so a retry never makes a second case
let result = null; // the last answer of POST /cases
let offer = null; // { key, asset: { collection, id, distance_m } | null }: the asset nearby
let assetConfirmed = false; // the reporter confirmed the offered asset
let error = '';

/** Wires the report form. `ctx`: `map`, `pickPoint(callback)`, `highlight(geometry)`, `flyTo(geometry)`. */
export function initReport(ctx) {
  ({ map, pickPoint, highlight, flyTo } = ctx);
  categories.then((m) => { catalog = [...m.values()].sort((a, b) => a.code.localeCompare(b.code)); renderCategories(); });
  $('report-category-search').addEventListener('input', renderCategories);
  $('report-categories').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-code]');
    if (!b) return;
    chosen = b.dataset.code;
    renderCategories();
    refreshOffer();
  });
  // Once chosen, the picker folds away so the rest of the form fits; 更改 opens it again.
  $('report-category-chosen').addEventListener('click', (e) => {
    if (e.target.id !== 'report-category-change') return;
    chosen = null;
    renderCategories();
    refreshOffer();
    $('report-category-search').focus();
  });
  $('report-gps').addEventListener('click', useDeviceLocation);
  $('report-tap').addEventListener('click', () => {
    $('report-location').textContent = t('report_tap_hint');
    pickPoint(setPlace);
  });
  $('report-photos').addEventListener('change', addPhotos);
  $('report-previews').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-remove]');
    if (!b) return;
    const [gone] = photos.splice(Number(b.dataset.remove), 1);
    if (gone) URL.revokeObjectURL(gone.url);
    renderPhotos();
  });
  $('report-form').addEventListener('submit', submit);
  $('report-reset').addEventListener('click', () => { resetForm(); result = null; renderResult(); });
  $('report-result').addEventListener('click', onResultClick);
  $('report-asset-offer').addEventListener('click', onOfferClick);
  onLangChange(() => { renderCategories(); renderPlace(); renderOffer(); renderResult(); });
  onSessionChange((s) => { if (!s) { resetForm(); result = null; renderResult(); } });
  renderPlace();
}

// ---- category picker -----------------------------------------------------------------------
function matches(c, q) {
  if (!q) return true;
  const hay = [c.code, c.name_zh, c.name_en, c.major_zh, c.major_en, ...(c.keywords ?? [])].join(' ').toLowerCase();
  return q.split(/\s+/).every((w) => hay.includes(w));
}
function renderCategories() {
  const q = $('report-category-search').value.trim().toLowerCase();
  const zh = lang() === 'zh';
  const groups = new Map();
  for (const c of catalog.filter((x) => matches(x, q) || x.code === chosen)) {
    const key = `${c.kind}:${c.major_code}`;
    if (!groups.has(key)) groups.set(key, { title: `${t(`kind_${c.kind}`)} · ${zh ? c.major_zh : c.major_en}`, items: [] });
    groups.get(key).items.push(c);
  }
  $('report-categories').innerHTML = groups.size
    ? [...groups.values()].map((g) => `<h4>${esc(g.title)}</h4><div class="category-group">${g.items.map((c) =>
      `<button type="button" role="option" data-code="${c.code}" aria-selected="${c.code === chosen}">${esc(zh ? c.name_zh : c.name_en)} <small>${c.code}</small></button>`).join('')}</div>`).join('')
    : `<p class="muted">${t('no_results')}</p>`;
  const c = catalog.find((x) => x.code === chosen);
  $('report-picker').hidden = Boolean(c);
  $('report-category-chosen').innerHTML = c
    ? `${t('category')}: <b id="report-chosen" data-code="${c.code}">${c.code} ${esc(categoryName(c.code))}</b> ` +
      `<button type="button" id="report-category-change">${t('change')}</button>`
    : '';
  $('report-category-hint').textContent = c
    ? `${t('filing_condition')}: ${zh ? c.filing_condition_zh : c.filing_condition_en} · ${t('stage_handle')} ${limitText(c.limits.handle, c.time_unit)}`
    : '';
}

// ---- place ---------------------------------------------------------------------------------
function useDeviceLocation() {
  if (!navigator.geolocation) { $('report-location').textContent = t('geolocation_failed'); return; }
  $('report-location').textContent = t('loading');
  navigator.geolocation.getCurrentPosition(
    (pos) => {
      const ll = { lng: pos.coords.longitude, lat: pos.coords.latitude };
      map.flyTo({ center: ll, zoom: Math.max(map.getZoom(), 17) });
      setPlace(ll);
    },
    () => { $('report-location').textContent = t('geolocation_failed'); },
    { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 },
  );
}

async function setPlace(lngLat) {
  place = { lng: lngLat.lng, lat: lngLat.lat, chain: null };
  if (!marker) {
    marker = new maplibregl.Marker({ color: '#d50000', draggable: true }).setLngLat(lngLat).addTo(map);
    marker.on('dragend', () => setPlace(marker.getLngLat()));
  } else marker.setLngLat(lngLat);
  renderPlace();
  refreshOffer();
  const asked = place;
  try {
    const located = await request(`/grid/locate?lon=${asked.lng.toFixed(7)}&lat=${asked.lat.toFixed(7)}`);
    if (place === asked) { place.chain = located.chain; renderPlace(); }
  } catch (err) {
    // 404: the place lies in no grid cell (the report would be refused); otherwise the report
    // itself will say what is wrong.
    if (err.status === 404 && place === asked) { place.chain = []; renderPlace(); }
  }
}

function renderPlace() {
  const el = $('report-location');
  if (!place) { el.textContent = t('location_none'); delete el.dataset.lon; return; }
  el.dataset.lon = place.lng.toFixed(7);
  el.dataset.lat = place.lat.toFixed(7);
  const chain = place.chain === null ? '' : place.chain.length
    ? ` · ${place.chain.map((c) => c.name).join(' › ')}`
    : ` · ${t('not_in_grid')}`;
  el.textContent = `${place.lng.toFixed(6)}, ${place.lat.toFixed(6)}${chain}`;
  el.classList.toggle('error', place.chain?.length === 0);
}

// ---- the asset nearby ----------------------------------------------------------------------
const offerKey = () => (chosen && place ? `${chosen}@${place.lng.toFixed(7)},${place.lat.toFixed(7)}` : null);

async function refreshOffer() {
  const key = offerKey();
  if (offer?.key === key) return;
  offer = key ? { key, asset: null } : null;
  assetConfirmed = false;
  renderOffer();
  if (!key) return;
  try {
    const body = await request(`/cases/suggested-asset?category=${encodeURIComponent(chosen)}&lon=${place.lng.toFixed(7)}&lat=${place.lat.toFixed(7)}`);
    if (offer?.key !== key) return;
    offer.asset = body.suggested_asset;
    renderOffer();
  } catch {
    // Outside the district or signed out: the report itself will say what is wrong.
  }
}

function renderOffer() {
  const box = $('report-asset-offer');
  const asset = offer?.asset;
  if (!asset) { box.innerHTML = ''; return; }
  const m = `${Math.round(asset.distance_m * 10) / 10} m`;
  box.innerHTML = `<p>${t('asset_nearby')}: ${esc(t(asset.collection))} #${esc(asset.id)} · ${m}</p>` +
    `<div class="row"><button type="button" id="report-asset-confirm" aria-pressed="${assetConfirmed}" data-collection="${esc(asset.collection)}" data-id="${esc(asset.id)}">` +
    `${assetConfirmed ? t('asset_confirmed') : t('asset_confirm')}</button>` +
    `<button type="button" id="report-asset-show">${t('show_on_map')}</button></div>`;
}

async function onOfferClick(e) {
  const asset = offer?.asset;
  if (!asset) return;
  if (e.target.id === 'report-asset-confirm') { assetConfirmed = !assetConfirmed; renderOffer(); return; }
  if (e.target.id === 'report-asset-show') await showAsset(asset.collection, asset.id);
}

async function showAsset(collection, id) {
  try {
    const f = await request(`/collections/${encodeURIComponent(collection)}/items/${encodeURIComponent(id)}`);
    highlight(f.geometry);
    flyTo(f.geometry);
  } catch (err) {
    $('report-error').textContent = problemMessage(err);
  }
}

// ---- photos --------------------------------------------------------------------------------
function addPhotos() {
  const input = $('report-photos');
  error = '';
  for (const file of input.files) {
    if (photos.length >= MAX_PHOTOS) { error = t('too_many_photos'); break; }
    if (file.size > MAX_PHOTO_BYTES) { error = t('photo_too_large'); continue; }
    photos.push({ file, url: URL.createObjectURL(file) });
  }
  input.value = '';
  $('report-error').textContent = error;
  renderPhotos();
}
function renderPhotos() {
  $('report-previews').innerHTML = photos.map((p, i) =>
    `<span class="preview"><img src="${p.url}" alt="${esc(p.file.name)}"><button type="button" class="remove" data-remove="${i}" aria-label="${esc(t('remove'))}">×</button></span>`).join('');
}

// ---- submit --------------------------------------------------------------------------------
async function submit(e) {
  e.preventDefault();
  const description = $('report-description').value.trim();
  const missing = !chosen ? 'category_missing' : !description ? 'description_missing' : !place ? 'location_missing' : null;
  if (missing) { $('report-error').textContent = t(missing); return; }
  const form = new FormData();
  form.append('category', chosen);
  form.append('lon', place.lng.toFixed(7));
  form.append('lat', place.lat.toFixed(7));
  form.append('description', description);
  const address = $('report-address').value.trim();
  if (address) form.append('address', address);
  if (assetConfirmed && offer?.asset) {
    form.append('asset_collection', offer.asset.collection);
    form.append('asset_id', offer.asset.id);
  }
  for (const p of photos) form.append('photo', p.file, p.file.name);
  idempotencyKey ??= randomKey();
  $('report-submit').disabled = true;
  $('report-error').textContent = t('sending');
  try {
    result = await request('/cases', { method: 'POST', body: form, headers: { 'idempotency-key': idempotencyKey } });
    $('report-error').textContent = '';
    resetForm();
    renderResult();
    $('report-result').scrollIntoView({ block: 'nearest' });
  } catch (err) {
    $('report-error').textContent = problemMessage(err);
  } finally {
    $('report-submit').disabled = false;
  }
}

function resetForm() {
  chosen = null;
  place = null;
  idempotencyKey = null;
  marker?.remove();
  marker = null;
  for (const p of photos) URL.revokeObjectURL(p.url);
  photos = [];
  offer = null;
  assetConfirmed = false;
  renderOffer();
  $('report-category-search').value = '';
  $('report-description').value = '';
  $('report-address').value = '';
  $('report-error').textContent = '';
  renderCategories();
  renderPlace();
  renderPhotos();
}

// After a report the form folds away behind its answer until "再报一件".
function renderResult() {
  const box = $('report-result');
  $('report-form').hidden = Boolean(result && current());
  if (!result || !current()) { box.innerHTML = ''; return; }
  const c = result.case;
  const dups = result.probable_duplicates ?? [];
  const linked = c.asset;
  const asset = linked ?? result.suggested_asset;
  const m = (n) => `${Math.round(n * 10) / 10} m`;
  box.innerHTML = `<div id="report-done" class="result" data-case="${c.id}">` +
    `<h3>${t('reported_case')} #${c.id}</h3>` +
    `<table><tr data-fact="category"><th>${t('category')}</th><td>${esc(`${c.category} ${categoryName(c.category)}`)}</td></tr>` +
    `<tr data-fact="state"><th>${t('status')}</th><td>${esc(stateLabel(c.state))}</td></tr>` +
    `<tr data-fact="cells"><th>${t('grid_chain')}</th><td>${c.cells.map((x) => `${esc(x.name)} <span class="muted">${esc(x.code)}</span>`).join('<br>')}</td></tr>` +
    `<tr data-fact="responsible_unit"><th>${t('responsible_unit')}</th><td>${esc(c.responsible_unit ?? '—')}</td></tr></table>` +
    (dups.length ? `<p>${t('probable_duplicates')}:</p><div class="row" id="report-duplicates">${dups.map((d) =>
      `<button type="button" data-case="${d.id}">#${d.id} · ${esc(stateLabel(d.state))} · ${m(d.distance_m)}</button>`).join('')}</div>` : '') +
    (asset ? `<p id="report-asset" data-linked="${Boolean(linked)}">${t(linked ? 'linked_asset' : 'suggested_asset')}: ${esc(t(asset.collection))} #${esc(asset.id)}${linked ? '' : ` · ${m(asset.distance_m)}`} ` +
      `<button type="button" data-asset-collection="${esc(asset.collection)}" data-asset-id="${esc(asset.id)}">${t('show_on_map')}</button></p>` : '') +
    `<div class="row"><button type="button" class="primary" data-case="${c.id}">${t('open_case')}</button>` +
    `<button type="button" id="report-again">${t('report_again')}</button></div></div>`;
}

async function onResultClick(e) {
  const b = e.target.closest('button');
  if (!b) return;
  if (b.id === 'report-again') { result = null; renderResult(); $('tab-report').scrollTop = 0; return; }
  if (b.dataset.case) { openCase(Number(b.dataset.case), { fly: true }); return; }
  if (b.dataset.assetCollection) await showAsset(b.dataset.assetCollection, b.dataset.assetId);
}
