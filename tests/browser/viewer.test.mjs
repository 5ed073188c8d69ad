// End-to-end test of the viewer's map (map-ui/) in Debian's headless Chromium, driven by
// playwright-core against a real citygrid process on a free loopback port with a fresh database
// (see support.mjs for the environment variables). Prints how long the district took to show as
// a line VIEWER_DISTRICT_MS=<n> (a figure to read, never asserted; scripts/bench-viewer measures it
// properly on a release build).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  shots, startServer, launchChromium, serveViewerFromDisk, idle as idleOf, measureDistrict, districtShown, DISTRICT_LAYERS,
} from './support.mjs';

const ANALYSED = ['manholes', 'pipelines', 'roads', 'parks', 'renovation_areas', 'facilities'];
const GROUP_BY = { manholes: ['status'], pipelines: ['kind', 'condition'], roads: ['class'], parks: ['kind'], renovation_areas: ['kind'], facilities: ['kind'] };

let server; let base; let browser; let page;
let district; // what measureDistrict recorded on opening the page
let tablet; // a 768×1024 touch tablet whose device location is `spot`
let spot; // a point inside a grid cell, and its chain from /grid/locate
const consoleErrors = [];
const tileResponses = [];

const idle = () => idleOf(page);
const json = async (path, init) => {
  const r = await fetch(`${base}${path}`, init);
  assert.ok(r.ok, `${path}: ${r.status}`);
  return r.json();
};
function watch(p) {
  p.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  p.on('pageerror', (e) => consoleErrors.push(String(e)));
  p.on('response', (r) => {
    if (new URL(r.url()).pathname.startsWith('/tiles/')) tileResponses.push(r.status());
    if (r.status() >= 400) consoleErrors.push(`${r.status()} ${r.url()}`);
  });
}
/** The middle of the first grid cell (level grid) whose middle /grid/locate places in that cell. */
async function pointInAGridCell() {
  const cells = await json('/collections/grid_cells/items?level=grid&limit=50');
  for (const f of cells.features) {
    const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
    const lons = ring.map((c) => c[0]); const lats = ring.map((c) => c[1]);
    const lon = (Math.min(...lons) + Math.max(...lons)) / 2; const lat = (Math.min(...lats) + Math.max(...lats)) / 2;
    const r = await fetch(`${base}/grid/locate?lon=${lon.toFixed(7)}&lat=${lat.toFixed(7)}`);
    if (!r.ok) continue;
    const { chain } = await r.json();
    if (chain.at(-1)?.code === f.properties.code) return { lon, lat, chain, cell: f };
  }
  throw new Error('no grid cell holds its own middle');
}

before(async () => {
  server = await startServer();
  base = server.base;
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await serveViewerFromDisk(context, base);
  await measureDistrict(context);
  page = await context.newPage();
  watch(page);
  await page.goto(`${base}/map/`);
  district = await districtShown(page);
  await page.waitForFunction(() => window.citygridReady === true, null, { timeout: 60_000 });
  await idle();

  spot = await pointInAGridCell();
  const touch = await browser.newContext({
    viewport: { width: 768, height: 1024 }, hasTouch: true,
    geolocation: { longitude: spot.lon, latitude: spot.lat, accuracy: 10 }, permissions: ['geolocation'],
  });
  await serveViewerFromDisk(touch, base);
  tablet = await touch.newPage();
  watch(tablet);
  await tablet.goto(`${base}/map/`);
  await tablet.waitForFunction(() => window.citygridReady === true, null, { timeout: 60_000 });
  await idleOf(tablet);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('on opening, the map fits the district and draws its boundary and streets once every tile is in', () => {
  // performance.now() at the first idle after the initial fit counts from navigation start
  console.log(`VIEWER_DISTRICT_MS=${Math.round(district.ms)}`);
  console.log(`the map was created at ${Math.round(district.mapCreatedMs)} ms, its load event came at ${Math.round(district.mapLoadMs)} ms; `
    + `zoom ${district.zoom.toFixed(2)}, drawn ${JSON.stringify(district.drawn)}, source layers ${district.sourceLayers.join(',')}`);
  for (const id of DISTRICT_LAYERS) assert.ok(district.drawn[id] > 0, `${id} drawn at the first idle: ${JSON.stringify(district.drawn)}`);
  assert.ok(district.mapLoadMs !== null && district.mapLoadMs <= district.ms);
  for (const layer of ['grid_cells', 'roads', 'parks']) assert.ok(district.sourceLayers.includes(layer), `${layer} drawn: ${district.sourceLayers}`);
});

test('the whole district renders from citygrid tiles: boundary, roads and parks', async () => {
  assert.ok(tileResponses.length > 0, 'tiles were requested');
  assert.ok(tileResponses.every((s) => s === 200 || s === 204 || s === 304), `tile statuses: ${tileResponses}`);
  await page.screenshot({ path: join(shots, 'viewer-1280x800-district.png') });
  await page.evaluate(() => window.citygridMap.jumpTo({ zoom: 13 }));
  await idle();
  const layers = await page.evaluate(() => [...new Set(window.citygridMap.queryRenderedFeatures().map((f) => f.sourceLayer))]);
  for (const layer of ['grid_cells', 'roads', 'parks']) assert.ok(layers.includes(layer), `${layer} rendered: ${layers}`);
  await page.screenshot({ path: join(shots, 'viewer-1280x800.png') });
});

test('tapping a manhole shows its properties with Chinese labels', async () => {
  const one = await (await fetch(`${base}/collections/manholes/items?limit=1&status=damaged`)).json();
  await page.evaluate((c) => window.citygridMap.jumpTo({ center: c, zoom: 16.5 }), one.features[0].geometry.coordinates);
  await idle();
  const target = await page.evaluate(() => {
    const map = window.citygridMap;
    const canvas = map.getCanvas().getBoundingClientRect();
    const rendered = map.queryRenderedFeatures({ layers: ['manholes-circle'] })
      .map((f) => ({ id: f.properties.id, code: f.properties.component_code, p: map.project(f.geometry.coordinates) }))
      .filter(({ p }) => p.x > 80 && p.y > 80 && p.x < canvas.width - 80 && p.y < canvas.height - 80);
    // a manhole with no other within 12 px, so the tap is unambiguous
    const alone = rendered.find((a) => rendered.every((b) => b === a || Math.hypot(a.p.x - b.p.x, a.p.y - b.p.y) > 12));
    return alone && { id: alone.id, code: alone.code, x: canvas.left + alone.p.x, y: canvas.top + alone.p.y, zoom: map.getZoom() };
  });
  assert.ok(target, 'a manhole is rendered at zoom ≥ 15');
  assert.ok(target.zoom >= 15);
  await page.mouse.click(target.x, target.y);
  await page.waitForSelector('#info-table[data-collection="manholes"]');
  const info = await page.evaluate(() => {
    const t = document.querySelector('#info-table');
    const row = t.querySelector('tr[data-property="component_code"]');
    return { id: t.dataset.id, label: row.querySelector('th').textContent, value: row.querySelector('td').textContent,
      status: t.querySelector('tr[data-property="status"] td').textContent };
  });
  assert.equal(info.id, String(target.id));
  assert.equal(info.value, target.code);
  assert.equal(info.label, '部件编码');
  assert.match(info.status, /[\u4e00-\u9fff]/, 'the status is shown by its Chinese label');
  await page.screenshot({ path: join(shots, 'viewer-1280x800-manhole.png') });
});

test('a drawn polygon is summarised exactly as /analysis/summary answers', async () => {
  await page.click('#tabs button[data-tab="analysis"]');
  await page.click('#draw-start');
  const box = await page.locator('#map canvas').boundingBox();
  const cx = box.x + box.width / 2; const cy = box.y + box.height / 2;
  for (const [dx, dy] of [[-150, -120], [150, -120], [170, 130], [-140, 120]]) {
    await page.mouse.click(cx + dx, cy + dy);
  }
  await page.click('#draw-finish');
  await page.waitForSelector('#summary-table');
  const polygon = await page.evaluate(() => window.citygridMap.getSource('draw').serialize().data.features
    .find((f) => f.geometry.type === 'Polygon').geometry);
  assert.equal(polygon.coordinates[0].length, 5);
  const direct = await (await fetch(`${base}/analysis/summary`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ collections: ANALYSED, intersects: polygon, group_by: GROUP_BY }),
  })).json();
  const shown = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#summary-table tr.collection-row')]
    .map((r) => [r.dataset.collection, Number(r.dataset.count)])));
  const expected = Object.fromEntries(direct.collections.map((c) => [c.id, c.count]));
  assert.deepEqual(shown, expected);
  assert.ok(expected.manholes > 0, 'the polygon holds manholes');
  const shownCells = await page.evaluate(() => [...document.querySelectorAll('#summary-table tr.collection-row td:nth-child(2)')]
    .map((td) => Number(td.textContent)));
  assert.deepEqual(shownCells, direct.collections.map((c) => c.count), 'the visible counts are the service counts');
  const groups = await page.evaluate(() => [...document.querySelectorAll('#summary-table tr[data-group]')]
    .map((r) => [r.dataset.collection, r.dataset.group, Number(r.dataset.count)]));
  assert.deepEqual(groups, direct.collections.flatMap((c) => c.groups.map((g) => [c.id, JSON.stringify(g.group), g.count])));
  assert.ok(Number(await page.textContent('#search-count')) > 0, '/search found the features too');
  await page.screenshot({ path: join(shots, 'viewer-1280x800-analysis.png') });
});

/** The records of an RFC 4180 text (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text) {
  const records = []; let record = []; let field = ''; let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { record.push(field); field = ''; } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field); records.push(record); record = []; field = ''; i++;
    } else field += c;
  }
  assert.ok(!quoted && field === '' && record.length === 0, 'the CSV ends with a complete record');
  return records;
}

test('the search results download as GeoJSON and CSV, as many features as the count shown', async () => {
  const shownCount = Number(await page.textContent('#search-count'));
  assert.ok(shownCount > 0);
  const [geo] = await Promise.all([page.waitForEvent('download'), page.click('#dl-geojson')]);
  assert.equal(geo.suggestedFilename(), 'citygrid-search.geojson');
  const fc = JSON.parse(await readFile(await geo.path(), 'utf8'));
  assert.equal(fc.type, 'FeatureCollection');
  assert.equal(fc.features.length, shownCount);
  assert.equal(fc.numberMatched, shownCount, 'nothing was left out of the download');
  assert.ok(fc.features.every((f) => f.type === 'Feature' && f.geometry && ANALYSED.includes(f.properties.collection ?? f.collection)),
    'every feature has a geometry and names its collection');

  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#dl-csv')]);
  assert.equal(csv.suggestedFilename(), 'citygrid-search.csv');
  const [header, ...rows] = parseCsv(await readFile(await csv.path(), 'utf8'));
  assert.deepEqual(header.slice(0, 3), ['collection', 'id', 'wkt']);
  assert.equal(rows.length, shownCount);
  assert.ok(rows.every((r) => r.length === header.length), 'every row has a field per column');
  const keys = (pairs) => pairs.map(([c, id]) => `${c}/${id}`).sort();
  assert.deepEqual(keys(rows.map((r) => [r[0], r[1]])), keys(fc.features.map((f) => [f.properties.collection ?? f.collection, f.id])),
    'the CSV rows are the GeoJSON features');
  assert.ok(rows.every((r) => /^(POINT|LINESTRING|POLYGON|MULTI)/.test(r[2])), 'each row has its geometry as WKT');
});

test('the English switch relabels the interface and the properties', async () => {
  assert.equal(await page.textContent('#tabs button[data-tab="layers"]'), '图层');
  await page.click('#lang');
  assert.equal(await page.textContent('#tabs button[data-tab="layers"]'), 'Layers');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await page.textContent('#summary-table th:nth-child(3)'), 'Count');
  await page.click('#lang');
  assert.equal(await page.textContent('#tabs button[data-tab="layers"]'), '图层');
});

test('the layout works at 768×1024 portrait', async () => {
  await page.setViewportSize({ width: 768, height: 1024 });
  await page.click('#tabs button[data-tab="layers"]');
  await page.evaluate(() => { const m = window.citygridMap; m.resize(); m.jumpTo({ zoom: 12.5 }); });
  await idle();
  const small = await page.evaluate(() => [...document.querySelectorAll('button, select, input[type=search]')]
    .filter((e) => e.offsetParent !== null && !e.closest('.maplibregl-ctrl-attrib'))
    .map((e) => [e.id || e.textContent, e.getBoundingClientRect()])
    .filter(([, r]) => r.height < 44 || r.width < 44).map(([n]) => n));
  assert.deepEqual(small, [], 'touch targets are at least 44 px');
  const mapBox = await page.locator('#map').boundingBox();
  assert.ok(mapBox.height > 400 && mapBox.width === 768, `map is usable: ${JSON.stringify(mapBox)}`);
  await page.screenshot({ path: join(shots, 'viewer-768x1024.png') });
});

test('searching a street by name flies to it', async () => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.click('#tabs button[data-tab="search"]');
  await page.fill('#search-input', '北下街');
  await page.click('#search-form button[type=submit]');
  const first = page.locator('#search-results button').first();
  await first.waitFor();
  assert.match(await first.textContent(), /北下街街道/);
  await first.click();
  await page.waitForFunction(() => !window.citygridMap.isMoving());
  await idle();
  const { center, highlighted } = await page.evaluate(() => ({
    center: window.citygridMap.getCenter(),
    highlighted: window.citygridMap.getSource('highlight').serialize().data.geometry?.type,
  }));
  const street = (await (await fetch(`${base}/collections/grid_cells/items?level=street&filter=${encodeURIComponent("name LIKE '北下街%'")}`)).json()).features[0];
  const ring = street.geometry.type === 'Polygon' ? street.geometry.coordinates[0] : street.geometry.coordinates[0][0];
  const lons = ring.map((c) => c[0]); const lats = ring.map((c) => c[1]);
  assert.ok(center.lng > Math.min(...lons) && center.lng < Math.max(...lons) && center.lat > Math.min(...lats) && center.lat < Math.max(...lats),
    `the map is centred on the street: ${JSON.stringify(center)}`);
  assert.ok(['Polygon', 'MultiPolygon'].includes(highlighted));
});

test('where am I: a tapped point shows the grid chain of /grid/locate', async () => {
  await page.click('#tabs button[data-tab="locate"]');
  await page.click('#locate-tap');
  const box = await page.locator('#map canvas').boundingBox();
  const [x, y] = [Math.round(box.x + box.width / 2), Math.round(box.y + box.height / 2)];
  await page.mouse.click(x, y);
  await page.waitForSelector('#locate-chain li[data-level="grid"]');
  const at = await page.evaluate(([px, py]) => {
    const r = window.citygridMap.getCanvas().getBoundingClientRect();
    return window.citygridMap.unproject([px - r.left, py - r.top]);
  }, [x, y]);
  const direct = await (await fetch(`${base}/grid/locate?lon=${at.lng.toFixed(7)}&lat=${at.lat.toFixed(7)}`)).json();
  const shown = await page.$$eval('#locate-chain li', (lis) => lis.map((li) => li.dataset.level));
  assert.deepEqual(shown, direct.chain.map((c) => c.level));
  assert.match(await page.textContent('#locate-chain'), new RegExp(direct.chain.at(-1).code));
});

test('a choropleth of manholes per grid cell is drawn with a legend', async () => {
  await page.click('#tabs button[data-tab="stats"]');
  await page.selectOption('#stats-collection', 'manholes');
  await page.selectOption('#stats-measure', 'count');
  await page.selectOption('#stats-level', 'community');
  await page.click('#stats-show');
  await page.waitForSelector('.choropleth-legend');
  await page.evaluate(() => window.citygridMap.jumpTo({ zoom: 12 }));
  await idle();
  const cells = await page.evaluate(() => window.citygridMap.queryRenderedFeatures({ layers: ['choropleth-fill'] }).length);
  assert.ok(cells > 0, 'choropleth cells are rendered');
  await page.screenshot({ path: join(shots, 'viewer-1280x800-choropleth.png') });
  await page.click('#stats-hide');
});

/** The source layers (collections) of the features `p`'s map draws in view. */
const drawnCollections = (p) => p.evaluate(() => [...new Set(window.citygridMap.queryRenderedFeatures()
  .map((f) => f.sourceLayer).filter(Boolean))].sort());

test('on a touch tablet, tapping a layer in the list hides it and tapping again shows it', async () => {
  await tablet.tap('#tabs button[data-tab="layers"]');
  const listed = await tablet.$$eval('#layer-list li[data-collection]', (lis) => lis.map((li) => li.dataset.collection));
  assert.deepEqual([...listed].sort(), ['facilities', 'grid_cells', 'manholes', 'parks', 'pipelines', 'renovation_areas', 'roads']);
  for (const collection of listed) {
    const one = (await json(`/collections/${collection}/items?limit=1`)).features[0];
    const first = (c) => (typeof c[0] === 'number' ? c : first(c[0]));
    await tablet.evaluate((c) => window.citygridMap.jumpTo({ center: c, zoom: 16 }), first(one.geometry.coordinates));
    await idleOf(tablet);
    const before = await drawnCollections(tablet);
    assert.ok(before.includes(collection), `${collection} is drawn around one of its features: ${before}`);
    const label = `#layer-list li[data-collection="${collection}"] label`;
    const box = `#layer-list li[data-collection="${collection}"] input`;

    const target = await tablet.locator(label).boundingBox();
    assert.ok(target.height >= 44 && target.width >= 44, `${collection}: the toggle is a finger's size: ${JSON.stringify(target)}`);

    await tablet.tap(label);
    assert.equal(await tablet.isChecked(box), false);
    await idleOf(tablet);
    assert.deepEqual(await drawnCollections(tablet), before.filter((c) => c !== collection), `${collection} hidden, the others kept`);

    await tablet.tap(label);
    assert.equal(await tablet.isChecked(box), true);
    await idleOf(tablet);
    assert.deepEqual(await drawnCollections(tablet), before, `${collection} shown again`);
  }
});

test('on a touch tablet, 我在哪个网格 with the device location shows its chain and highlights its cell', async () => {
  assert.deepEqual(spot.chain.map((c) => c.level), ['district', 'street', 'community', 'grid']);
  assert.equal(await tablet.textContent('#where'), '我在哪个网格');
  await tablet.tap('#where');
  await tablet.waitForSelector('#locate-chain li[data-level="grid"]');
  const shown = await tablet.$$eval('#locate-chain li', (lis) => lis.map((li) => ({ level: li.dataset.level, text: li.textContent })));
  assert.deepEqual(shown.map((s) => s.level), spot.chain.map((c) => c.level));
  for (const [i, c] of spot.chain.entries()) {
    assert.ok(shown[i].text.includes(c.name) && shown[i].text.includes(c.code), `${c.level}: ${shown[i].text} shows ${c.name} ${c.code}`);
  }
  await tablet.waitForFunction(() => !window.citygridMap.isMoving());
  await idleOf(tablet);
  const seen = await tablet.evaluate(([lon, lat]) => {
    const map = window.citygridMap;
    const p = map.project([lon, lat]);
    return {
      center: map.getCenter(),
      highlighted: map.getSource('highlight').serialize().data.geometry,
      drawn: map.queryRenderedFeatures(p, { layers: ['highlight-fill'] }).length,
      marker: document.querySelectorAll('.maplibregl-marker').length,
    };
  }, [spot.lon, spot.lat]);
  assert.ok(Math.abs(seen.center.lng - spot.lon) < 1e-6 && Math.abs(seen.center.lat - spot.lat) < 1e-6, `the map flew to the device: ${JSON.stringify(seen.center)}`);
  assert.deepEqual(seen.highlighted, spot.cell.geometry, 'the grid cell is highlighted');
  assert.ok(seen.drawn > 0, 'the highlight is drawn at the device location');
  assert.equal(seen.marker, 1, 'one marker shows the device location');
  await tablet.screenshot({ path: join(shots, 'viewer-768x1024-where-am-i.png') });
});

test('no console errors', () => {
  assert.deepEqual(consoleErrors, []);
});
