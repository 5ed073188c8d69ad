// End-to-end test of the viewer's map (map-ui/) in Debian's headless Chromium, driven by
// playwright-core against a real citygrid process on a free loopback port with a fresh database
// (see support.mjs for the environment variables).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { shots, startServer, launchChromium, serveViewerFromDisk, idle as idleOf } from './support.mjs';

const ANALYSED = ['manholes', 'pipelines', 'roads', 'parks', 'renovation_areas', 'facilities'];
const GROUP_BY = { manholes: ['status'], pipelines: ['kind', 'condition'], roads: ['class'], parks: ['kind'], renovation_areas: ['kind'], facilities: ['kind'] };

let server; let base; let browser; let page;
const consoleErrors = [];
const tileResponses = [];

const idle = () => idleOf(page);

before(async () => {
  server = await startServer();
  base = server.base;
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await serveViewerFromDisk(context, base);
  page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('response', (r) => {
    if (new URL(r.url()).pathname.startsWith('/tiles/')) tileResponses.push(r.status());
    if (r.status() >= 400) consoleErrors.push(`${r.status()} ${r.url()}`);
  });
  await page.goto(`${base}/map/`);
  await page.waitForFunction(() => window.citygridReady === true, null, { timeout: 60_000 });
  await idle();
});

after(async () => {
  await browser?.close();
  await server?.stop();
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

test('no console errors', () => {
  assert.deepEqual(consoleErrors, []);
});
