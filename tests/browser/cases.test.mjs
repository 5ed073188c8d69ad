// The case workflow through the viewer in Debian's headless Chromium, role by role, against a real
// citygrid with users added by `citygrid user add`: a grid worker reports on the tablet form by
// tapping the map, the command centre files and dispatches, the unit starts and handles with a
// photo, the worker verifies, the supervision centre closes; a second page follows it live over
// the event stream; the metrics count the closed case. See support.mjs for the environment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { repo, shots, startServer, addUnit, addUser, launchChromium, serveViewerFromDisk, watchErrors, idle } from './support.mjs';

const PHOTO = join(repo, 'tests', 'fixtures', 'photos', 'plain.png');
const HANDLER_UNIT = '管城区市政设施维护中心';
const USERS = {
  wang: { role: 'worker', name: '王伟', password: 'grid-worker-1' },
  zhao: { role: 'dispatcher', name: '赵敏', password: 'command-centre-1' },
  qian: { role: 'dispatcher', name: '钱程', password: 'command-centre-2' },
  shuiwu: { role: 'handler', name: '孙强', unit: HANDLER_UNIT, password: 'unit-handler-1' },
  jiandu: { role: 'supervisor', name: '周洁', password: 'supervisor-1' },
};

let server; let base; let browser;
let a; let b; // page A: the tablet passed from hand to hand; page B: the supervisor, watching
const errors = [];
/** The place of the test: a sewage manhole in a grid cell, the worker's cell. */
let spot;
let first; let second; // case numbers

const json = async (path, token, init = {}) => {
  const r = await fetch(`${base}${path}`, { ...init, headers: { ...(init.headers ?? {}), ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  assert.ok(r.ok, `${path}: ${r.status} ${await r.clone().text()}`);
  return r.json();
};
/** The grid chain at a point (empty outside every cell: /grid/locate answers 404 there). */
async function locate(lon, lat) {
  const r = await fetch(`${base}/grid/locate?lon=${lon}&lat=${lat}`);
  if (r.status === 404) return [];
  assert.ok(r.ok, `/grid/locate: ${r.status}`);
  return (await r.json()).chain;
}
const tokenOf = (page) => page.evaluate(() => JSON.parse(sessionStorage.getItem('citygrid.session')).token);

/** A sewage manhole whose place lies in a grid cell, a point a metre east of it, and its category. */
async function findSpot() {
  const categories = (await json('/cases/categories')).categories;
  const category = categories.find((c) => c.asset?.collection === 'manholes' && c.asset.value === 'sewage');
  const manholes = await json('/collections/manholes/items?kind=sewage&limit=200');
  for (const m of manholes.features) {
    const [lon, lat] = [m.geometry.coordinates[0] + 0.00001, m.geometry.coordinates[1]];
    const chain = await locate(lon, lat);
    if (chain.at(-1)?.level === 'grid') return { lon, lat, cell: chain.at(-1), manhole: String(m.id), category };
  }
  throw new Error('no sewage manhole lies in a grid cell');
}

/** A point inside another grid cell than `code`. */
async function pointElsewhere(code) {
  const cells = await json('/collections/grid_cells/items?level=grid&limit=50');
  for (const f of cells.features.filter((c) => c.properties.code !== code && !c.properties.valid_to)) {
    const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
    const lons = ring.map((c) => c[0]); const lats = ring.map((c) => c[1]);
    const lon = (Math.min(...lons) + Math.max(...lons)) / 2; const lat = (Math.min(...lats) + Math.max(...lats)) / 2;
    const chain = await locate(lon, lat);
    if (chain.at(-1)?.code === f.properties.code) return { lon, lat, cell: f.properties.code };
  }
  throw new Error('no other grid cell found');
}

async function openPage(name, viewport = { width: 1280, height: 800 }, setup = async () => {}) {
  const context = await browser.newContext({ viewport });
  await serveViewerFromDisk(context, base);
  await setup(context);
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  watchErrors(page, errors, (url, status) =>
    // provoked on purpose below: a wrong password, a report outside the worker's cells and one
    // outside the district (whose place /grid/locate does not find)
    (url.pathname === '/auth/login' && status === 401) || (url.pathname === '/cases' && (status === 403 || status === 422))
    || (url.pathname === '/grid/locate' && status === 404)
    // and a stale page's action (page C)
    || (/^\/cases\/\d+\/actions$/.test(url.pathname) && status === 409));
  page.on('pageerror', (e) => errors.push(`${name}: ${e}`));
  await page.goto(`${base}/map/`);
  await page.waitForFunction(() => window.citygridReady === true);
  return page;
}

async function signIn(page, username) {
  await page.click('#account');
  await page.fill('#signin-username', username);
  await page.fill('#signin-password', USERS[username].password);
  await page.click('#signin-submit');
  await page.waitForSelector(`#account[data-user="${username}"]`);
  await page.waitForSelector('#live[data-state="open"]', { state: 'attached' });
}

async function signOut(page) {
  await page.click('#account');
  await page.click('#signout');
  await page.waitForSelector('#account:not([data-user])');
}

/** Taps the map at a WGS84 point (the map centred on it first). */
async function tapMap(page, lon, lat, zoom = 17) {
  await page.evaluate(([x, y, z]) => window.citygridMap.jumpTo({ center: [x, y], zoom: z }), [lon, lat, zoom]);
  await idle(page);
  const at = await page.evaluate(([x, y]) => {
    const map = window.citygridMap;
    const r = map.getCanvas().getBoundingClientRect();
    const p = map.project([x, y]);
    return { x: r.left + p.x, y: r.top + p.y };
  }, [lon, lat]);
  await page.mouse.click(at.x, at.y);
}

/** Opens case `id` from 我的任务. */
async function openTask(page, id) {
  await page.click('#tabs button[data-tab="tasks"]');
  await page.click(`#task-list button[data-case="${id}"]`);
  await page.waitForSelector(`#case-head[data-id="${id}"]`);
}

/** Takes `action` on the open case page through its form; `fill(page)` fills what it needs. */
async function act(page, action, fill = async () => {}) {
  const version = Number(await page.getAttribute('#case-head', 'data-version'));
  await page.click(`#case-actions button[data-action="${action}"]`);
  await page.waitForSelector(`#action-form[data-action="${action}"]`);
  await fill(page);
  await page.click('#action-submit');
  await page.waitForSelector(`#case-head[data-version="${version + 1}"]`);
  assert.equal(await page.getAttribute('#case-message', 'class'), 'ok', await page.textContent('#case-message'));
}

const state = (page) => page.getAttribute('#case-head', 'data-state');

before(async () => {
  server = await startServer();
  base = server.base;
  spot = await findSpot();
  // The handlers' unit is no grid cell's responsible unit: the administrator registers it first.
  await addUnit(server, HANDLER_UNIT);
  for (const [username, u] of Object.entries(USERS)) {
    await addUser(server, username, { ...u, cells: u.role === 'worker' ? [spot.cell.code] : undefined });
  }
  browser = await launchChromium();
  a = await openPage('A');
  b = await openPage('B');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('signed out, nothing about cases shows; a wrong password is refused in Chinese', async () => {
  const hidden = await a.$$eval('#tabs button[data-tab]', (bs) => bs.filter((x) => x.hidden).map((x) => x.dataset.tab));
  assert.deepEqual(hidden, ['report', 'tasks', 'case', 'metrics']);
  assert.equal(await a.$('#layer-list li[data-collection="cases"]'), null);
  await a.click('#account');
  await a.fill('#signin-username', 'wang');
  await a.fill('#signin-password', 'not-the-password');
  await a.click('#signin-submit');
  await a.waitForFunction(() => document.querySelector('#signin-error').textContent !== '');
  assert.match(await a.textContent('#signin-error'), /用户名或密码不正确/);
  assert.equal(await a.getAttribute('#account', 'data-user'), null);
});

test('a grid worker reports a case by tapping the map in their cell, with a camera photo', async () => {
  // The supervisor watches the place on page B.
  await signIn(b, 'jiandu');
  await b.evaluate(([x, y]) => window.citygridMap.jumpTo({ center: [x, y], zoom: 16 }), [spot.lon, spot.lat]);
  await idle(b);

  await signIn(a, 'wang');
  assert.equal(await a.textContent('#account'), '王伟 · 网格员');
  assert.match(await a.textContent('#account-table'), new RegExp(spot.cell.code));
  assert.ok(await a.$('#layer-list li[data-collection="cases"]'), 'the cases layer is listed with its legend');
  await a.click('#tabs button[data-tab="report"]');
  await a.fill('#report-category-search', '污水井盖');
  const offered = await a.$$eval('#report-categories button[data-code]', (bs) => bs.map((x) => x.dataset.code));
  assert.deepEqual(offered, [spot.category.code], 'the search narrows the picker');
  await a.click(`#report-categories button[data-code="${spot.category.code}"]`);
  assert.match(await a.textContent('#report-chosen'), /污水井盖/);
  await a.fill('#report-description', '井盖破损，边缘翘起，行人易绊倒');
  await a.fill('#report-address', '东大街与城东路交叉口东北角');
  await a.setInputFiles('#report-photos', PHOTO);
  await a.waitForSelector('#report-previews .preview img');
  await a.click('#report-tap');
  await tapMap(a, spot.lon, spot.lat);
  await a.waitForFunction((name) => document.querySelector('#report-location').textContent.includes(name), spot.cell.name);
  const picked = await a.evaluate(() => ({ ...document.querySelector('#report-location').dataset }));
  assert.ok(Math.abs(Number(picked.lon) - spot.lon) < 0.00003 && Math.abs(Number(picked.lat) - spot.lat) < 0.00003, JSON.stringify(picked));
  // The form offers the manhole a metre away; the worker confirms it, so the case is linked.
  await a.waitForSelector(`#report-asset-confirm[data-id="${spot.manhole}"]`);
  assert.match(await a.textContent('#report-asset-offer'), new RegExp(`#${spot.manhole}\\b`));
  await a.click('#report-asset-confirm');
  assert.equal(await a.getAttribute('#report-asset-confirm', 'aria-pressed'), 'true');
  await a.$eval('#report-submit', (e) => e.scrollIntoView({ block: 'end' }));
  await a.screenshot({ path: join(shots, 'cases-report-1280x800.png') });
  await a.setViewportSize({ width: 768, height: 1024 });
  await a.evaluate(() => window.citygridMap.resize());
  await idle(a);
  await a.$eval('#tab-report', (e) => { e.scrollTop = 0; });
  await a.screenshot({ path: join(shots, 'cases-report-top-768x1024.png') });
  await a.$eval('#report-submit', (e) => e.scrollIntoView({ block: 'end' }));
  await a.screenshot({ path: join(shots, 'cases-report-768x1024.png') });
  const small = await a.evaluate(() => [...document.querySelectorAll('#tab-report button, #tab-report input, #tab-report textarea, #tab-report .file-button')]
    .filter((e) => e.offsetParent !== null && e.type !== 'file')
    .map((e) => [e.id || e.dataset.code || e.textContent, e.getBoundingClientRect()])
    .filter(([, r]) => r.height < 44 || r.width < 44).map(([n]) => n));
  assert.deepEqual(small, [], 'touch targets are at least 44 px');
  await a.setViewportSize({ width: 1280, height: 800 });

  await a.click('#report-submit');
  await a.waitForSelector('#report-done');
  first = Number(await a.getAttribute('#report-done', 'data-case'));
  const stored = await json(`/cases/${first}`, await tokenOf(a));
  assert.equal(stored.case.reporter, 'wang');
  assert.equal(stored.case.channel, 'tablet');
  assert.equal(stored.case.category, spot.category.code);
  assert.equal(stored.case.photos.length, 1, 'the photo went with the form');
  assert.deepEqual(stored.case.asset, { collection: 'manholes', id: spot.manhole }, 'the confirmed asset went with the form');
  assert.equal(stored.case.cells.at(-1).code, spot.cell.code);
  assert.match(await a.textContent('#report-done h3'), new RegExp(`#${first}`));
  assert.match(await a.textContent('#report-done tr[data-fact="cells"]'), new RegExp(spot.cell.code));
  assert.equal(await a.textContent('#report-done tr[data-fact="responsible_unit"] td'), stored.case.responsible_unit ?? '—');
  assert.match(await a.textContent('#report-asset'), new RegExp(`#${spot.manhole}\\b`), 'the manhole a metre away is linked');
  assert.equal(await a.getAttribute('#report-asset', 'data-linked'), 'true');
  await a.screenshot({ path: join(shots, 'cases-report-result-1280x800.png') });

  // Page B saw the new case arrive on its map through the event stream.
  await b.waitForFunction((id) => window.citygridMap.getSource('cases').serialize().data.features
    ?.some((f) => f.properties.id === id && f.properties.state === 'reported'), first);
});

test('a second report there is offered the first as a probable duplicate', async () => {
  assert.equal(await a.isVisible('#report-form'), false, 'the answer replaces the form');
  await a.click('#report-again');
  await a.click(`#report-categories button[data-code="${spot.category.code}"]`);
  await a.fill('#report-description', '同一处井盖，再次上报');
  await a.click('#report-tap');
  await tapMap(a, spot.lon, spot.lat);
  await a.waitForSelector('#report-location[data-lon]');
  await a.click('#report-submit');
  await a.waitForFunction((id) => Number(document.querySelector('#report-done')?.dataset.case) > id, first);
  second = Number(await a.getAttribute('#report-done', 'data-case'));
  await a.click(`#report-duplicates button[data-case="${first}"]`);
  await a.waitForSelector(`#case-head[data-id="${first}"]`);
});

test('problems are explained in Chinese: outside the worker’s cells (403) and outside the district (422)', async () => {
  const elsewhere = await pointElsewhere(spot.cell.code);
  await a.click('#tabs button[data-tab="report"]');
  await a.click('#report-again');
  await a.click(`#report-categories button[data-code="${spot.category.code}"]`);
  await a.fill('#report-description', '别的网格的井盖');
  await a.click('#report-tap');
  await tapMap(a, elsewhere.lon, elsewhere.lat);
  await a.waitForSelector('#report-location[data-lon]');
  await a.click('#report-submit');
  await a.waitForFunction(() => document.querySelector('#report-error').textContent.includes('无权'));
  assert.match(await a.textContent('#report-error'), new RegExp(`无权执行此操作.*${elsewhere.cell}`));

  const { bounds } = await json('/tiles/WebMercatorQuad/tilejson.json');
  await a.click('#report-tap');
  await tapMap(a, bounds[0] - 0.02, bounds[1] - 0.02);
  await a.waitForFunction(() => document.querySelector('#report-location').textContent.includes('不在任何网格'));
  await a.click('#report-submit');
  await a.waitForFunction(() => document.querySelector('#report-error').textContent.includes('不在本区网格范围内'));
  const tokenA = await tokenOf(a);
  const mine = await json('/cases?reporter=wang', tokenA);
  assert.equal(mine.number_matched, 2, 'the refused reports stored nothing');
  await a.click('#report-reset');
});

test('the command centre files and dispatches from 我的任务 and merges the duplicate; a stale page gets 409', async () => {
  // Page C: a dispatcher's tablet whose event stream is down, so its case page goes stale.
  const c = await openPage('C', { width: 1280, height: 800 }, (context) => context.route('**/cases/events*', (route) =>
    route.fulfill({ status: 200, contentType: 'text/event-stream', body: 'retry: 86400000\n\n' })));
  await c.click('#account');
  await c.fill('#signin-username', 'qian');
  await c.fill('#signin-password', USERS.qian.password);
  await c.click('#signin-submit');
  await c.waitForSelector('#account[data-user="qian"]');
  await openTask(c, first);

  await signOut(a);
  await signIn(a, 'zhao');
  await a.click('#tabs button[data-tab="tasks"]');
  await a.waitForSelector(`#task-list button[data-case="${second}"]`);
  const listed = await a.$$eval('#task-list button[data-case]', (bs) => bs.map((x) => Number(x.dataset.case)));
  const expected = (await json('/tasks', await tokenOf(a))).tasks.map((t) => t.id);
  assert.deepEqual(listed, expected, 'the list is /tasks, earliest deadline first');
  assert.ok(listed.includes(first));
  await openTask(a, first);
  assert.equal(await state(a), 'reported');
  await act(a, 'file');
  assert.equal(await state(a), 'filed');
  await act(a, 'dispatch', async (p) => {
    const stored = await json(`/cases/${first}`, await tokenOf(p));
    assert.equal(await p.inputValue('#action-unit'), stored.case.responsible_unit ?? '', 'prefilled with the responsible unit');
    await p.fill('#action-unit', HANDLER_UNIT);
    await p.screenshot({ path: join(shots, 'cases-dispatch-1280x800.png') });
  });
  assert.equal(await state(a), 'dispatched');
  assert.match(await a.textContent('#case-deadline'), /剩余/);
  assert.match(await a.textContent('#case-facts tr[data-fact="assigned_unit"]'), new RegExp(HANDLER_UNIT));

  // The second report went without its asset: the command centre links it from the case page,
  // with the asset nearby found for it.
  await openTask(a, second);
  await act(a, 'link_asset', async (p) => {
    await p.click('#action-suggest-asset');
    await p.waitForFunction((id) => document.querySelector('#action-asset-id')?.value === id, spot.manhole);
    assert.equal(await p.inputValue('#action-asset-collection'), 'manholes');
  });
  assert.match(await a.textContent('#case-facts tr[data-fact="asset"]'), new RegExp(`#${spot.manhole}\\b`));
  assert.match(await a.textContent('#case-log li[data-action="link_asset"]'), new RegExp(`#${spot.manhole}\\b`));
  assert.equal(await state(a), 'reported', 'linking leaves the state as it is');
  await act(a, 'merge', (p) => p.fill('#action-into', String(first)));
  assert.equal(await state(a), 'closed');
  assert.match(await a.textContent('#case-facts tr[data-fact="merged_into"]'), new RegExp(`#${first}`));

  // Page C still shows the case as reported and offers 立案: the server refuses (409) and the page
  // reloads the case as it now is.
  assert.equal(await state(c), 'reported');
  await c.click('#case-actions button[data-action="file"]');
  await c.click('#action-submit');
  await c.waitForSelector('#case-head[data-state="dispatched"]');
  assert.match(await c.textContent('#case-message'), /案件已被他人更新/);
  assert.equal(await c.getAttribute('#case-message', 'class'), 'error');
  await c.context().close();
});

test('the unit starts and reports handled with a note and a photo; the supervisor’s task list follows live', async () => {
  await b.click('#tabs button[data-tab="tasks"]');
  assert.equal(await b.$(`#task-list button[data-case="${first}"]`), null, 'nothing to verify yet');
  await signOut(a);
  await signIn(a, 'shuiwu');
  await openTask(a, first);
  await act(a, 'start');
  assert.equal(await state(a), 'in_progress');
  await act(a, 'handle', async (p) => {
    await p.fill('#action-note', '已更换新井盖并恢复路面');
    await p.setInputFiles('#action-photos', PHOTO);
    await p.waitForSelector('#action-previews .preview img');
  });
  assert.equal(await state(a), 'handled');
  // No reload on page B: the event stream brought it.
  await b.waitForSelector(`#task-list button[data-case="${first}"][data-state="handled"]`);
});

test('the grid worker verifies on site', async () => {
  await signOut(a);
  await signIn(a, 'wang');
  await openTask(a, first);
  await act(a, 'verify', (p) => p.fill('#action-note', '现场核查：井盖完好平稳'));
  assert.equal(await state(a), 'verified');
});

test('the supervisor taps the case on the map and closes it; the timeline shows every step in order', async () => {
  await b.waitForSelector(`#task-list button[data-case="${first}"][data-state="verified"]`);
  await b.waitForFunction((id) => window.citygridMap.getSource('cases').serialize().data.features
    ?.some((f) => f.properties.id === id && f.properties.state === 'verified'), first);
  await tapMap(b, spot.lon, spot.lat);
  await b.waitForSelector(`#case-head[data-id="${first}"]`);
  await act(b, 'close');
  assert.equal(await state(b), 'closed');
  assert.match(await b.textContent('#case-deadline'), /结案时间.*按期结案/);
  const log = await b.$$eval('#case-log > li', (lis) => lis.map((li) => ({
    action: li.dataset.action, head: li.querySelector('.log-head').textContent, note: li.querySelector('.note')?.textContent ?? null,
    photos: li.querySelectorAll('button.thumb').length,
  })));
  assert.deepEqual(log.map((e) => e.action), ['report', 'file', 'dispatch', 'start', 'handle', 'verify', 'close']);
  assert.deepEqual(log.map((e) => /· (\S+)$/.exec(e.head)[1]), ['wang', 'zhao', 'zhao', 'shuiwu', 'shuiwu', 'wang', 'jiandu']);
  assert.match(log[0].head, /上报/);
  assert.match(log[6].head, /结案/);
  assert.equal(log[4].note, '已更换新井盖并恢复路面');
  assert.equal(log[4].photos, 1);
  // Both photos (the report's and the handling's) are shown from blob: URLs fetched with the token.
  await b.waitForFunction(() => [...document.querySelectorAll('#case-page button.thumb img')].every((i) => i.src.startsWith('blob:') && i.complete && i.naturalWidth > 0));
  assert.equal(await b.$$eval('#case-page button.thumb img', (is) => is.length), 2);
  assert.match(await b.textContent('#case-facts tr[data-fact="merged_duplicates"]'), new RegExp(`#${second}`));
  await b.$eval('#case-log', (e) => e.scrollIntoView({ block: 'end' }));
  await b.screenshot({ path: join(shots, 'cases-case-timeline-1280x800.png') });
  await b.$eval('#tab-case', (e) => { e.scrollTop = 0; });
  await b.screenshot({ path: join(shots, 'cases-case-1280x800.png') });
  await b.setViewportSize({ width: 768, height: 1024 });
  await b.evaluate(() => window.citygridMap.resize());
  await idle(b);
  await b.screenshot({ path: join(shots, 'cases-case-768x1024.png') });
  const small = await b.evaluate(() => [...document.querySelectorAll('#bar button, #tabs button, #tab-case button, #tab-case input, #tab-case textarea')]
    .filter((e) => e.offsetParent !== null)
    .map((e) => [e.id || e.dataset.action || e.textContent, e.getBoundingClientRect()])
    .filter(([, r]) => r.height < 44 || r.width < 44).map(([n]) => n));
  assert.deepEqual(small, [], 'touch targets are at least 44 px');
  await b.setViewportSize({ width: 1280, height: 800 });
  // The closed case left the map's open cases.
  await b.waitForFunction((id) => !window.citygridMap.getSource('cases').serialize().data.features?.some((f) => f.properties.id === id), first);
});

test('案件评价 counts the closed case, in a table and a chart', async () => {
  await b.click('#tabs button[data-tab="metrics"]');
  await b.selectOption('#metrics-group', 'street');
  await b.click('#metrics-show');
  await b.waitForSelector('#metrics-table');
  const total = await b.$eval('#metrics-table tr.total', (tr) => Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.col, td.textContent])));
  assert.ok(Number(total.closed) >= 1, JSON.stringify(total));
  assert.equal(total.closure_rate, '100.0%');
  assert.equal(total.on_time_rate, '100.0%');
  const street = await b.$eval('#metrics-table tbody tr:not(.total)', (tr) => tr.querySelector('th').textContent);
  const { case: closed } = await json(`/cases/${first}`, await tokenOf(b));
  assert.equal(street, closed.cells.find((c) => c.level === 'street').name);
  const bars = await b.$$eval('#metrics-chart rect[data-col="closure_rate"]', (rs) => rs.map((r) => Number(r.getAttribute('width'))));
  assert.ok(bars.length >= 2 && bars.every((w) => w > 0), `closure bars: ${bars}`);
  await b.screenshot({ path: join(shots, 'cases-metrics-1280x800.png') });
});

test('the English switch relabels the case panels', async () => {
  await b.click('#tabs button[data-tab="case"]');
  await b.click('#lang');
  assert.equal(await b.textContent('#tabs button[data-tab="case"]'), 'Case');
  assert.match(await b.textContent('#case-head .state'), /closed/);
  assert.match(await b.textContent('#case-log > li[data-action="dispatch"] .log-head b'), /dispatch/);
  assert.match(await b.textContent('#account'), /Supervisor/);
  await b.screenshot({ path: join(shots, 'cases-case-en-1280x800.png') });
  await b.click('#lang');
  assert.match(await b.textContent('#case-head .state'), /已结案/);
});

test('signing out hides the cases again', async () => {
  await signOut(b);
  assert.deepEqual(await b.evaluate(() => window.citygridMap.getSource('cases').serialize().data.features), []);
  const hidden = await b.$$eval('#tabs button[data-tab]', (bs) => bs.filter((x) => x.hidden).map((x) => x.dataset.tab));
  assert.deepEqual(hidden, ['report', 'tasks', 'case', 'metrics']);
});

test('no console errors', () => {
  assert.deepEqual(errors, []);
});
