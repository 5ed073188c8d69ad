// What the browser tests share: a real citygrid process on a free loopback port with a fresh
// database, users added with the real `citygrid user add`, Debian's headless Chromium, and a
// watch on console errors and failed requests.
//
// CITYGRID_BIN: the binary (default target/debug/citygrid); CHROMIUM: the browser (default
// /usr/bin/chromium); CITYGRID_SCREENSHOTS: where screenshots go (default target/screenshots).
// CITYGRID_VIEWER_DIR (development only): serve /map/ from this directory instead of the files
// embedded in the binary, to try changes to map-ui/ without rebuilding.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bin = process.env.CITYGRID_BIN ?? join(repo, 'target', 'debug', 'citygrid');
export const shots = process.env.CITYGRID_SCREENSHOTS ?? join(repo, 'target', 'screenshots');

const freePort = () => new Promise((ok, fail) => {
  const s = createServer();
  s.on('error', fail);
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
});

/** Starts `citygrid serve` on a fresh database and waits until it is ready. */
export async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'citygrid-browser-'));
  mkdirSync(shots, { recursive: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const database = `sqlite://${join(dir, 'test.db')}`;
  let log = '';
  const child = spawn(bin, ['serve', '--bind', `127.0.0.1:${port}`, '--database-url', database], {
    cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CITYGRID_PUBLIC_URL: base },
  });
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const server = {
    base, database, dir,
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const end = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`citygrid exited with ${child.exitCode}:\n${log}`);
    try { if ((await fetch(`${base}/ready`)).ok) return server; } catch { /* not listening yet */ }
    if (Date.now() > end) throw new Error(`citygrid not ready within 180 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Registers a unit with the real command line (`citygrid unit add … --database-url`). */
export function addUnit(server, name) {
  return new Promise((ok, fail) => {
    const child = spawn(bin, ['unit', 'add', name, '--database-url', server.database], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`citygrid unit add ${name} failed (${code}): ${err}`))));
  });
}

/**
 * Adds a user with the real command line (`citygrid user add … --database-url`), the password on
 * standard input, as an administrator would.
 */
export function addUser(server, username, { role, password, name, unit, cells }) {
  const args = ['user', 'add', username, '--role', role, '--database-url', server.database];
  if (name) args.push('--name', name);
  if (unit) args.push('--unit', unit);
  if (cells?.length) args.push('--cells', cells.join(','));
  return new Promise((ok, fail) => {
    const child = spawn(bin, args, { cwd: repo, stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`citygrid user add ${username} failed (${code}): ${err}`))));
    child.stdin.end(`${password}\n`);
  });
}

/** Debian's Chromium, headless. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

const TYPES = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.md': 'text/plain', '.txt': 'text/plain' };
/** With CITYGRID_VIEWER_DIR set, the context's /map/ files come from that directory. */
export async function serveViewerFromDisk(context, base) {
  const dir = process.env.CITYGRID_VIEWER_DIR;
  if (!dir) return;
  await context.route(`${base}/map/**`, (route) => {
    const path = new URL(route.request().url()).pathname.replace(/^\/map\/?/, '') || 'index.html';
    if (path === 'config.json') return route.continue();
    try {
      return route.fulfill({ body: readFileSync(join(dir, path)), contentType: TYPES[extname(path)] ?? 'application/octet-stream' });
    } catch {
      return route.fulfill({ status: 404, body: 'not found' });
    }
  });
}

/**
 * Records console errors, page errors and failed responses (status ≥ 400) of `page` into
 * `errors`, except responses `expected(url, status)` says were provoked on purpose (and the
 * console line Chromium logs for them).
 */
export function watchErrors(page, errors, expected = () => false) {
  const provoked = [];
  page.on('response', (r) => {
    if (r.status() < 400) return;
    if (expected(new URL(r.url()), r.status())) provoked.push(r.status());
    else errors.push(`${r.status()} ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const failed = /^Failed to load resource: the server responded with a status of (\d+)/.exec(m.text());
    if (failed && provoked.includes(Number(failed[1]))) return;
    errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
}

/** Resolves once the page's map has rendered everything it is waiting for. */
export const idle = (page) => page.evaluate(() => new Promise((resolve) => {
  const map = window.citygridMap;
  map.once('idle', () => resolve());
  map.triggerRepaint();
}));

/** The style layers whose drawing means the district is on screen: its boundary and streets. */
export const DISTRICT_LAYERS = ['grid-district', 'grid-street'];

/**
 * Measures, in every page `context` opens, how long the viewer takes to show the whole district:
 * from navigation start (performance.now() is counted from it) to the first MapLibre `idle`
 * (nothing left to load or draw) after the initial fit to the district, at which the style and
 * every tile in view are loaded. What was drawn then is recorded with it, to be checked; read
 * it with `districtShown(page)`. Test-side only: the page's `window.citygridMap` assignment is
 * caught as it happens, so the listener is on before the map's first frame.
 */
export function measureDistrict(context) {
  return context.addInitScript((layers) => {
    let map;
    Object.defineProperty(window, 'citygridMap', {
      configurable: true,
      get: () => map,
      set(m) {
        map = m;
        const started = performance.now();
        let loadMs = null;
        m.once('load', () => { loadMs = performance.now(); });
        const check = () => {
          if (!(m.loaded() && m.areTilesLoaded())) return;
          m.off('idle', check);
          const ms = performance.now();
          const drawn = {};
          for (const f of m.queryRenderedFeatures({ layers: layers.filter((id) => m.getLayer(id)) })) {
            drawn[f.layer.id] = (drawn[f.layer.id] ?? 0) + 1;
          }
          const sourceLayers = [...new Set(m.queryRenderedFeatures().map((f) => f.sourceLayer).filter(Boolean))].sort();
          window.__citygridDistrict = { ms, mapCreatedMs: started, mapLoadMs: loadMs, zoom: m.getZoom(), drawn, sourceLayers };
        };
        m.on('idle', check);
      },
    });
  }, DISTRICT_LAYERS);
}

/** What `measureDistrict` recorded in `page`, once the district is shown. */
export async function districtShown(page, timeout = 60_000) {
  await page.waitForFunction(() => window.__citygridDistrict !== undefined, null, { timeout });
  return page.evaluate(() => window.__citygridDistrict);
}
