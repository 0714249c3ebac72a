// The dashboard in headless Chromium against a running daemon (simulated detector, embedded broker with its
// WebSocket listener, HTTP server; all on ephemeral loopback ports). The page is built from the current
// sources first. Checks go down to pixels: the map canvas must hold exactly the viridis colouring of the
// frame the daemon published with the sequence the canvas shows, and must change as the scan goes on.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import type { Daemon } from '../../daemon/daemon.js';
import { decodeMapFrame, encodeMapFrame, type MapFrame } from '../../daemon/mqtt/map-frame.js';
import { paintMap, valueRange } from '../../web/src/colormap.js';
import { buildPage, launchChromium, removeDir, startDashboardDaemon, tempDataDir, requireChromium } from './support/fixture.js';

// page.evaluate callbacks run in the browser; this file is typechecked as Node code (no DOM lib), so the
// browser globals they use are declared here, locally, without types.
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const until = async (cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000) => {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

interface CanvasRead {
  width: number;
  height: number;
  sequence: string | undefined;
  scan: string | undefined;
  method: string | undefined;
  element: string | undefined;
  pixels: number[];
}

const readCanvas = (page: Page, selector: string): Promise<CanvasRead> =>
  page.evaluate((sel) => {
    const c = document.querySelector(sel)!;
    const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    return { width: c.width, height: c.height, sequence: c.dataset.sequence, scan: c.dataset.scan, method: c.dataset.method, element: c.dataset.element, pixels: Array.from(px) };
  }, selector);

/** Pixels of a colour (within tol per channel) and a checksum of the whole canvas, computed in the page:
 *  the spectrum canvas is too large to ship its pixels out on every poll. */
const canvasSummary = (page: Page, selector: string, rgb: [number, number, number], tol = 6): Promise<{ matches: number; hash: number }> =>
  page.evaluate(
    ([sel, c, t]) => {
      const cv = document.querySelector(sel)!;
      const px = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
      let matches = 0;
      let hash = 0;
      for (let i = 0; i < px.length; i += 4) {
        if (Math.abs(px[i]! - c[0]) < t && Math.abs(px[i + 1]! - c[1]) < t && Math.abs(px[i + 2]! - c[2]) < t) matches++;
        hash = (Math.imul(hash, 31) + px[i]! + (px[i + 1]! << 8) + (px[i + 2]! << 16)) | 0;
      }
      return { matches, hash };
    },
    [selector, rgb, tol] as const,
  );

const distinctColours = (px: number[]) => new Set(Array.from({ length: px.length / 4 }, (_, i) => `${px[4 * i]},${px[4 * i + 1]},${px[4 * i + 2]}`)).size;

describe('dashboard page (headless Chromium)', function () {
  this.timeout(90_000);
  let browser: Browser;
  let daemon: Daemon;
  let page: Page;
  let webRoot: string;
  let dataDir: string;
  let sub: mqtt.MqttClient;
  /** Every roi/Cr frame the daemon published, by sequence. */
  const crFrames = new Map<number, MapFrame>();
  const pageErrors: string[] = [];
  let scanId = '';

  before(async function () {
    requireChromium(this);
    webRoot = await buildPage();
    dataDir = tempDataDir();
    daemon = await startDashboardDaemon({ dataDir, webRoot });
    assert.ok(daemon.httpUrl, 'the HTTP server started');
    sub = await mqtt.connectAsync(daemon.brokerUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    sub.on('message', (topic, payload) => {
      if (topic.endsWith('/live/maps/roi/Cr') && payload.length) {
        const f = decodeMapFrame(payload);
        crFrames.set(f.sequence, f);
      }
    });
    await sub.subscribeAsync('gemxrf/web-test/live/maps/roi/Cr');
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    // Layout shifts (elements moving) are collected from the start: live updates must cause none.
    await page.addInitScript(() => {
      const w = window as { shifts: number[]; PerformanceObserver: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
      w.shifts = [];
      new w.PerformanceObserver((list: { getEntries(): Array<{ value: number }> }) => {
        for (const e of list.getEntries()) w.shifts.push(e.value);
      }).observe({ type: 'layout-shift', buffered: true });
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
  });

  after(async () => {
    await browser?.close();
    await sub?.endAsync();
    await daemon?.stop();
    removeDir(webRoot);
    removeDir(dataDir);
  });

  it('loads from the daemon and shows availability, state and the MQTT link', async () => {
    await page.goto(daemon.httpUrl!);
    await page.waitForSelector('#availability[data-value="online"]', { timeout: 10_000 });
    await page.waitForSelector('#scan-state[data-value="idle"]', { timeout: 10_000 });
    assert.equal(await page.textContent('#connection'), 'MQTT: connected');
    assert.match((await page.textContent('#instrument'))!, /web-test/);
  });

  it('shows the daemon’s error for a bad start request and starts nothing', async () => {
    await page.fill('#scan-name', '../etc');
    await page.fill('#scan-duration', '30');
    await page.click('#scan-start');
    await page.waitForFunction(() => document.querySelector('#scan-error')!.textContent !== '', null, { timeout: 10_000 });
    const error = (await page.textContent('#scan-error'))!;
    assert.match(error, /name must not contain '\/'|name must not contain '\.\.'/);
    assert.equal(daemon.manager.state, 'idle');
    assert.equal(daemon.db.listScans({}).length, 0);
  });

  it('starts a scan from the form', async () => {
    await page.fill('#scan-name', 'Browser test');
    await page.fill('#scan-duration', '600');
    await page.fill('#scan-notes', 'from the dashboard test');
    await page.click('#scan-start');
    await page.waitForFunction(() => /^started /.test(document.querySelector('#scan-message')!.textContent ?? ''), null, { timeout: 10_000 });
    scanId = (await page.textContent('#scan-message'))!.replace('started ', '');
    assert.equal(daemon.manager.state, 'acquiring');
    assert.equal(daemon.manager.progress()?.id, scanId);
    assert.equal(await page.textContent('#scan-error'), '');
    await page.waitForSelector('#scan-state[data-value="acquiring"]', { timeout: 5000 });
    await page.waitForFunction(() => document.querySelector('#scan-stop').disabled === false);
  });

  it('draws each published map frame exactly (viridis of the frame values) and the maps change over time', async () => {
    await page.waitForFunction((id) => {
      const c = document.querySelector('#map-canvas')!;
      return c.dataset.scan === id && c.dataset.method === 'roi' && c.dataset.element === 'Cr';
    }, scanId, { timeout: 15_000 });
    const expected = (f: MapFrame) => {
      const out = new Uint8ClampedArray(f.width * f.height * 4);
      const { max } = valueRange(f.data, f.data.length);
      paintMap(f.data, f.data.length, { min: 0, max: max > 0 ? max : 1, log: false }, out);
      return Array.from(out);
    };
    const first = await readCanvas(page, '#map-canvas');
    const shiftsBefore = await page.evaluate(() => (window as { shifts: number[] }).shifts.length);
    await until(() => crFrames.has(Number(first.sequence)), 'the node subscriber to hold the frame the page drew');
    assert.equal(first.width, 32);
    assert.equal(first.height, 32);
    assert.deepEqual(first.pixels, expected(crFrames.get(Number(first.sequence))!));

    // Two seconds later (maps every 0.5 s) the canvas holds a newer frame with other pixels.
    await page.waitForFunction((seq) => Number(document.querySelector('#map-canvas')!.dataset.sequence) >= seq + 3, Number(first.sequence), { timeout: 15_000 });
    const later = await readCanvas(page, '#map-canvas');
    await until(() => crFrames.has(Number(later.sequence)), 'the later frame');
    assert.deepEqual(later.pixels, expected(crFrames.get(Number(later.sequence))!));
    assert.notDeepEqual(later.pixels, first.pixels);
    assert.ok(distinctColours(later.pixels) > 8, 'the map has structure, not one colour');
    // Several map, count, spectrum and stats updates later nothing on the page has moved.
    const shifts = await page.evaluate(() => (window as { shifts: number[] }).shifts);
    assert.deepEqual(shifts.slice(shiftsBefore), [], 'no layout shift from live updates');

    // The count map and every element of the grid are drawn too.
    const counts = await readCanvas(page, '#counts-canvas');
    assert.equal(counts.width, 32);
    assert.ok(distinctColours(counts.pixels) > 8);
    const grid = await page.$$eval('#map-grid figure', (figs) => figs.map((f) => (f as unknown as { dataset: { element: string } }).dataset.element));
    assert.deepEqual(grid, ['Cr', 'Cu', 'Pb']);
    for (const el of grid) {
      const px = await readCanvas(page, `#map-grid figure[data-element="${el}"] canvas`);
      assert.ok(distinctColours(px.pixels) > 8, `${el} grid map drawn`);
    }
  });

  it('switches method and element', async () => {
    assert.deepEqual(await page.$$eval('#method-tabs button', (b) => b.map((x) => x.textContent)), ['roi', 'fit']);
    await page.click('#method-tabs button[data-method="fit"]');
    await page.click('#map-grid figure[data-element="Pb"]');
    await page.waitForFunction(() => {
      const c = document.querySelector('#map-canvas')!;
      return c.dataset.method === 'fit' && c.dataset.element === 'Pb';
    }, null, { timeout: 10_000 });
    assert.equal(await page.inputValue('#element-select'), 'Pb');
  });

  it('plots the sum spectrum and toggles line markers', async () => {
    const SUM: [number, number, number] = [0x1f, 0x3b, 0x73];
    await until(async () => (await canvasSummary(page, '#spectrum-canvas', SUM)).matches > 100, 'the sum spectrum drawn');
    // Line markers: the Pb markers' colour (3rd element, #2ca02c) disappears when Pb is unticked.
    const PB: [number, number, number] = [0x2c, 0xa0, 0x2c];
    const withPb = await canvasSummary(page, '#spectrum-canvas', PB, 40);
    assert.ok(withPb.matches > 100, `Pb markers drawn (${withPb.matches})`);
    await page.uncheck('#marker-elements input[value="Pb"]');
    await until(async () => (await canvasSummary(page, '#spectrum-canvas', PB, 40)).matches < withPb.matches / 10, 'Pb markers gone');
    await page.check('#marker-elements input[value="Pb"]');
    // Escape markers are dashed at 60 % opacity: Pb's green over white.
    const PB_ESC: [number, number, number] = [128, 198, 128];
    const escapes = await canvasSummary(page, '#spectrum-canvas', PB_ESC, 20);
    assert.ok(escapes.matches > 100, `Pb escape markers drawn (${escapes.matches})`);
    await page.uncheck('#marker-escape');
    // (anti-aliased edges of the solid Pb markers have that colour too: expect a drop, not zero)
    await until(async () => (await canvasSummary(page, '#spectrum-canvas', PB_ESC, 20)).matches < escapes.matches - 100, 'escape markers gone');
    await page.check('#marker-escape');
  });

  it('shows a clicked pixel’s spectrum and its element fractions', async () => {
    // The 32x32 map fills the 300x300 box: pixel (16, 16) spans 150..159.4 (click its middle: the box
    // may sit at a fractional offset and clicks land on whole CSS pixels).
    await page.click('#map-canvas', { position: { x: 154.7, y: 154.7 } });
    await page
      .waitForFunction(() => /^pixel \(16, 16\)/.test(document.querySelector('#pixel-title')!.textContent ?? ''), null, { timeout: 10_000 })
      .catch(async (e: Error) => {
        throw new Error(`${e.message}: title '${await page.textContent('#pixel-title')}', error '${await page.textContent('#pixel-error')}'`);
      });
    const rows = await page.$$eval('#pixel-table tbody tr', (trs) => trs.map((tr) => Array.from((tr as unknown as { children: ArrayLike<{ textContent: string | null }> }).children, (td) => td.textContent ?? '')));
    assert.deepEqual(rows.map((r) => r[0]), ['Cr', 'Cu', 'Pb']);
    for (const r of rows) {
      assert.match(r[2]!, /^\d+(\.\d)? %$/, 'roi fraction');
      assert.match(r[4]!, /^\d+(\.\d)? %$/, 'fit fraction');
    }
    const title = (await page.textContent('#pixel-title'))!;
    const total = Number(/· ([\d,]+) counts/.exec(title)![1]!.replace(/,/g, ''));
    assert.ok(total > 0);
    // The pixel's spectrum (orange, #e8590c) joins the sum spectrum on the plot; the marker shows where.
    const orange = await canvasSummary(page, '#spectrum-canvas', [0xe8, 0x59, 0x0c], 8);
    assert.ok(orange.matches > 50, `pixel spectrum drawn (${orange.matches} orange pixels)`);
    assert.equal(await page.isVisible('.map-frame .pixel-marker'), true);
  });

  it('shows model and presence maps when they are published, and their values in the pixel table', async () => {
    // Stand in for the inference worker: retained model/presence frames with known values on the same broker.
    // As the daemon publishes them: model = net counts (fraction x the pixel's counts), presence = probability.
    const values: Record<string, [number, number]> = { Cr: [40, 0.9], Cu: [20, 0.5], Pb: [80, 0.1] };
    for (const [el, [net, presence]] of Object.entries(values)) {
      for (const [method, v] of [['model', net], ['presence', presence]] as const) {
        const data = new Float32Array(32 * 32).fill(v);
        data[0] = 0; // one different pixel, so the map is not a single value
        const frame = encodeMapFrame({ element: el, method, scanId, width: 32, height: 32, sequence: 1, timestampMs: Date.now(), data });
        await sub.publishAsync(`gemxrf/web-test/live/maps/${method}/${el}`, frame, { retain: true });
      }
    }
    await page.waitForFunction(() => document.querySelectorAll('#method-tabs button').length === 4, null, { timeout: 10_000 });
    assert.deepEqual(await page.$$eval('#method-tabs button', (b) => b.map((x) => x.textContent)), ['roi', 'fit', 'model', 'presence']);
    await page.click('#method-tabs button[data-method="presence"]');
    await page.waitForFunction(() => document.querySelector('#map-canvas').dataset.method === 'presence', null, { timeout: 10_000 });
    const drawn = await readCanvas(page, '#map-canvas');
    const f = new Float32Array(32 * 32).fill(0.1);
    f[0] = 0;
    const expected = new Uint8ClampedArray(32 * 32 * 4);
    paintMap(f, f.length, { min: 0, max: 1, log: false }, expected); // presence: fixed 0..1 scale
    assert.equal(drawn.element, 'Pb');
    assert.deepEqual(drawn.pixels, Array.from(expected));
    // The pixel table takes the model's columns from these frames: fraction = net counts / the pixel's counts.
    await page.click('#map-canvas', { position: { x: 154.7, y: 154.7 } });
    await page.waitForFunction(() => /%$/.test(document.querySelector('#pixel-table tbody tr[data-element="Cr"] td:nth-child(6)').textContent ?? ''), null, { timeout: 10_000 });
    // Title and rows read together: both come from the same answer (a refresh could land between two reads).
    const shown = await page.evaluate(() => ({
      title: document.querySelector('#pixel-title')!.textContent ?? '',
      rows: Array.from(document.querySelectorAll('#pixel-table tbody tr') as ArrayLike<{ children: ArrayLike<{ textContent: string | null }> }>, (tr) => Array.from(tr.children, (td) => td.textContent ?? '')),
    })) as { title: string; rows: string[][] };
    const total = Number(/· ([\d,]+) counts/.exec(shown.title)![1]!.replace(/,/g, ''));
    const pct = (f: number) => `${(f * 100).toFixed(1)} %`;
    assert.deepEqual(shown.rows.map((r) => [r[0], r[5], r[6]]), [['Cr', pct(40 / total), '90.0 %'], ['Cu', pct(20 / total), '50.0 %'], ['Pb', pct(80 / total), '10.0 %']]);
    await page.click('#method-tabs button[data-method="roi"]');
  });

  it('stops the scan and offers its files for download', async () => {
    await page.click('#scan-stop');
    await page.waitForFunction(() => /^stopped /.test(document.querySelector('#scan-message')!.textContent ?? ''), null, { timeout: 15_000 });
    assert.equal(daemon.manager.state, 'idle');
    await page.waitForSelector('#scan-state[data-value="idle"]', { timeout: 5000 });
    assert.equal(daemon.db.getScan(scanId)?.stopReason, 'manual');
    await page.waitForSelector('#file-list a:text("raw.gemx")', { timeout: 10_000 });
    const href = await page.getAttribute('#file-list a:text("raw.gemx")', 'href');
    const size = await page.evaluate(async (h) => (await (await fetch(h!)).arrayBuffer()).byteLength, href);
    assert.equal(size, statSync(join(dataDir, 'scans', scanId, 'raw.gemx')).size);
    assert.deepEqual(pageErrors, []);
  });

  it('exports the stopped scan from the page and lists the export for download', async () => {
    await page.click('#scan-export');
    await page.waitForFunction(() => /^exported \d+ files/.test(document.querySelector('#export-status')!.textContent ?? ''), null, { timeout: 80_000 });
    await page.waitForSelector('#file-list a:text("export/cube.npy")', { timeout: 10_000 });
    assert.ok(statSync(join(dataDir, 'scans', scanId, 'export', 'cube.npy')).size > 0);
    assert.deepEqual(pageErrors, []);
  });
});
