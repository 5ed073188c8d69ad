// The node half of scripts/bench-viewer: opens the viewer at <base>/map/ in Debian's headless
// Chromium (playwright-core from tests/browser) and measures how long it takes to show the whole
// district, with the same measure as tests/browser/viewer.test.mjs (support.mjs
// `measureDistrict`: navigation start → the first MapLibre idle after the initial fit, with the
// style and every tile in view loaded and the district boundary and streets drawn).
//
// Each run is a fresh browser context at 1280×800: its HTTP cache starts empty and the first load
// runs with the cache off (cold); a second load in the same context then uses what the first
// cached (warm: the vendored MapLibre is immutable, the rest is revalidated with 304s).
//
// Usage: node scripts/bench-viewer.mjs <base URL> [runs]
import { launchChromium, measureDistrict, districtShown, DISTRICT_LAYERS } from '../tests/browser/support.mjs';

const [base, runsArg] = process.argv.slice(2);
if (!base?.startsWith('http://127.0.0.1:')) {
  console.error('usage: node scripts/bench-viewer.mjs http://127.0.0.1:<port> [runs]');
  process.exit(2);
}
const runs = Number(runsArg ?? 5);

/** Loads /map/ in `page` and returns the measure, after checking the district was drawn. */
async function load(page) {
  const requests = { total: 0, tiles: 0, bytes: 0 };
  const count = (r) => {
    requests.total += 1;
    if (new URL(r.url()).pathname.startsWith('/tiles/')) requests.tiles += 1;
  };
  page.on('requestfinished', count);
  await page.goto(`${base}/map/`);
  const shown = await districtShown(page);
  page.off('requestfinished', count);
  for (const id of DISTRICT_LAYERS) {
    if (!(shown.drawn[id] > 0)) throw new Error(`${id} was not drawn at the first idle: ${JSON.stringify(shown)}`);
  }
  return { ...shown, requests };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const summary = (name, xs) => `${name}: min ${Math.round(Math.min(...xs))} ms, median ${Math.round(median(xs))} ms, max ${Math.round(Math.max(...xs))} ms (n=${xs.length})`;

const browser = await launchChromium();
const cold = []; const warm = [];
try {
  for (let i = 1; i <= runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await measureDistrict(context);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const c = await load(page);
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
    // prime the cache the cold load was not allowed to use, then the warm load
    await page.goto('about:blank');
    await load(page);
    await page.goto('about:blank');
    const w = await load(page);
    cold.push(c.ms); warm.push(w.ms);
    const line = (kind, r) => `${kind} ${Math.round(r.ms)} ms (map created ${Math.round(r.mapCreatedMs)}, load event ${Math.round(r.mapLoadMs)}; `
      + `zoom ${r.zoom.toFixed(2)}; ${r.requests.total} requests, ${r.requests.tiles} tiles)`;
    console.log(`run ${i}: ${line('cold', c)}; ${line('warm', w)}`);
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(`VIEWER_DISTRICT_COLD_MS ${summary('cold', cold)}`);
console.log(`VIEWER_DISTRICT_WARM_MS ${summary('warm', warm)}`);
