// The acquisition panel's event formation, gemroc and warning lines in headless Chromium, against daemons whose
// simulator sends (1) gemx HITS frames (strip hits: event formation runs in the daemon), (2) events (no
// formation), (3) gemroc-udp packets (formation and per-board packet accounting). The shown figures must be
// those of a block the daemon published (live/stats or state), and a map worker that dies shows its
// live/stats lastError as a warning line in the panel.
import assert from 'node:assert/strict';
import type { Worker } from 'node:worker_threads';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import type { Daemon } from '../../daemon/daemon.js';
import type { MapMaker } from '../../daemon/publish/map-maker.js';
import type { MapThread } from '../../pipelines/maps/map-thread.js';
import { formationRows, gemrocRows, type FormationBlock, type GemrocBlock, type Row } from '../../web/src/scan-health.js';
import { buildPage, launchChromium, removeDir, requireChromium, startDashboardDaemon, tempDataDir, type DashboardOptions } from './support/fixture.js';

declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const base = 'gemxrf/web-test';

const until = async (cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000) => {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

interface Shown {
  formation: Record<string, string>;
  gemroc: Record<string, string>;
  labels: Record<string, string>;
  warnings: Array<{ key: string; text: string }>;
}

/** Everything the three blocks show, read in one go (an update could land between two reads). No named
 *  functions inside: tsx's transform would wrap them in a helper the page does not have. */
const readPanel = (page: Page): Promise<Shown> =>
  page.evaluate(() => {
    const out: Shown = { formation: {}, gemroc: {}, labels: {}, warnings: [] };
    for (const [box, into] of [['#st-formation', out.formation], ['#st-gemroc', out.gemroc]] as const) {
      for (const dd of Array.from(document.querySelectorAll(`${box} dd`) as ArrayLike<{ dataset: { key: string }; textContent: string; previousElementSibling: { textContent: string } }>)) {
        into[dd.dataset.key] = dd.textContent;
        out.labels[dd.dataset.key] = dd.previousElementSibling.textContent;
      }
    }
    for (const p of Array.from(document.querySelectorAll('#st-warnings p') as ArrayLike<{ dataset: { key: string }; textContent: string }>)) out.warnings.push({ key: p.dataset.key, text: p.textContent });
    return out;
  });

const asShown = (rows: Row[] | null) => Object.fromEntries((rows ?? []).map((r) => [r.key, r.value]));

describe('dashboard acquisition health lines (headless Chromium)', function () {
  this.timeout(120_000);
  let browser: Browser;
  let webRoot: string;

  before(async function () {
    requireChromium(this);
    webRoot = await buildPage();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    removeDir(webRoot);
  });

  /** A daemon with the given simulator settings, a Node subscriber collecting live/stats and state, and a page. */
  function rig(simulator: DashboardOptions['simulator']) {
    const r = {
      daemon: undefined as unknown as Daemon,
      page: undefined as unknown as Page,
      dataDir: '',
      sub: undefined as unknown as mqtt.MqttClient,
      /** Every live/stats document and every state document's scan block, in order. */
      stats: [] as Array<{ state: string; scan: string | null; formation: FormationBlock | null; gemroc: GemrocBlock | null; maps: Record<string, { lastError: string | null }> | null }>,
      blocks: [] as Array<{ formation: FormationBlock | null; gemroc: GemrocBlock | null }>,
      pageErrors: [] as string[],
    };
    before(async () => {
      r.dataDir = tempDataDir();
      r.daemon = await startDashboardDaemon({ dataDir: r.dataDir, webRoot, simulator });
      r.sub = await mqtt.connectAsync(r.daemon.brokerUrl, { protocolVersion: 4, reconnectPeriod: 0 });
      r.sub.on('message', (topic, payload) => {
        if (!payload.length) return;
        const doc = JSON.parse(payload.toString()) as Record<string, unknown>;
        if (topic === `${base}/live/stats`) {
          r.stats.push(doc as (typeof r.stats)[number]);
          r.blocks.push({ formation: (doc['formation'] as FormationBlock | null) ?? null, gemroc: (doc['gemroc'] as GemrocBlock | null) ?? null });
        } else if (topic === `${base}/state`) {
          const scan = doc['scan'] as { formation?: FormationBlock | null; gemroc?: GemrocBlock | null } | null;
          if (scan) r.blocks.push({ formation: scan.formation ?? null, gemroc: scan.gemroc ?? null });
        }
      });
      await r.sub.subscribeAsync([`${base}/live/stats`, `${base}/state`]);
      r.page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
      await r.page.addInitScript(() => {
        const w = window as { shifts: number[]; PerformanceObserver: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
        w.shifts = [];
        // Kept on the page so a test can take the entries still queued (the observer reports asynchronously).
        const observer = new w.PerformanceObserver((list: { getEntries(): Array<{ value: number }> }) => {
          for (const e of list.getEntries()) w.shifts.push(e.value);
        });
        observer.observe({ type: 'layout-shift', buffered: true });
        (w as unknown as { shiftObserver: { takeRecords(): Array<{ value: number }> } }).shiftObserver = observer;
      });
      r.page.on('pageerror', (e) => r.pageErrors.push(e.message));
      r.page.on('console', (m) => m.type() === 'error' && r.pageErrors.push(m.text()));
      await r.page.goto(r.daemon.httpUrl!);
      await r.page.waitForSelector('#scan-state[data-value="idle"]', { timeout: 10_000 });
    });
    after(async () => {
      await r.page?.close();
      await r.sub?.endAsync();
      await r.daemon?.stop();
      removeDir(r.dataDir);
    });
    return r;
  }

  async function startScan(page: Page, name: string): Promise<string> {
    await page.fill('#scan-name', name);
    await page.fill('#scan-duration', '600');
    await page.click('#scan-start');
    await page.waitForFunction((n) => /^started /.test(document.querySelector('#scan-message')!.textContent ?? '') && document.querySelector('#scan-message')!.textContent.includes(n.replace(/ /g, '_')), name, { timeout: 10_000 });
    await page.waitForSelector('#scan-state[data-value="acquiring"]', { timeout: 5000 });
    return (await page.textContent('#scan-message'))!.replace('started ', '');
  }

  async function stopScan(page: Page): Promise<void> {
    await page.click('#scan-stop');
    await page.waitForFunction(() => /^stopped /.test(document.querySelector('#scan-message')!.textContent ?? ''), null, { timeout: 15_000 });
    await page.waitForSelector('#scan-state[data-value="idle"]', { timeout: 5000 });
  }

  describe('gemx HITS stream (event formation in the daemon)', () => {
    const r = rig({ level: 'hits', seed: 3 });

    it('shows the formation line with a plausible efficiency and the breakdown of a published block, without layout shifts', async () => {
      const { page } = r;
      assert.equal(await page.isVisible('#st-formation'), false, 'no formation block before a scan');
      await startScan(page, 'Formation A');
      await page.waitForSelector('#st-formation', { state: 'visible', timeout: 15_000 });
      await page.waitForFunction(() => / %$/.test(document.querySelector('#st-formation dd[data-key="efficiency"]')?.textContent ?? ''), null, { timeout: 15_000 });
      const shown = await readPanel(page);
      assert.deepEqual(Object.keys(shown.formation), ['efficiency', 'hits', 'unpaired', 'rejected', 'dropped', 'clock']);
      assert.equal(shown.labels['efficiency'], 'Clusters paired');
      assert.equal(shown.labels['unpaired'], 'Unpaired X / Y');
      assert.equal(shown.labels['rejected'], 'Wide / long / ratio');
      // The figures are those of a formation block the daemon published.
      await until(() => r.blocks.some((b) => b.formation && JSON.stringify(asShown(formationRows(b.formation))) === JSON.stringify(shown.formation)), `a published block showing ${JSON.stringify(shown.formation)}`);
      const eff = Number(/^([\d.]+) %$/.exec(shown.formation['efficiency']!)![1]) / 100;
      assert.ok(eff > 0.5 && eff <= 1, `clusters paired ${shown.formation['efficiency']}`);
      const hits = /^([\d,]+) · ([\d.]+) \/event$/.exec(shown.formation['hits']!);
      assert.ok(hits, shown.formation['hits']);
      assert.ok(Number(hits[2]) >= 2, 'at least one hit per plane per event');
      assert.match(shown.formation['unpaired']!, /^[\d,]+ \/ [\d,]+$/);
      assert.match(shown.formation['rejected']!, /^[\d,]+ \/ [\d,]+ \/ [\d,]+$/);
      assert.equal(shown.formation['dropped'], '0 / 0');
      assert.equal(shown.formation['clock'], '0');
      assert.equal(await page.isVisible('#st-gemroc'), false, 'a gemx stream has no gemroc block');
      assert.deepEqual(shown.warnings, []);

      // The figures change in place as live/stats and state arrive: nothing on the page moves.
      // The baseline is taken once the rest of the page has settled: the first maps drawn into the element grid
      // (it appears, and its canvases take the map size, when they arrive) and the observer's queued entries
      // taken, or a shift from before the window is reported inside it (seen: the grid's appearance, 135 px).
      await page.waitForFunction(() => {
        const canvases = Array.from(document.querySelectorAll('#map-grid figure canvas') as ArrayLike<{ width: number }>);
        return canvases.length > 0 && canvases.every((c) => c.width > 1);
      }, null, { timeout: 15_000 });
      const shiftsBefore = await page.evaluate(async () => {
        const w = window as unknown as { shifts: number[]; shiftObserver: { takeRecords(): Array<{ value: number }> } };
        await new Promise((r) => window.requestAnimationFrame(() => window.requestAnimationFrame(r)));
        for (const e of w.shiftObserver.takeRecords()) w.shifts.push(e.value);
        return w.shifts.length;
      });
      let last = shown.formation['hits'];
      let changes = 0;
      await until(async () => {
        const now = (await readPanel(page)).formation['hits'];
        if (now !== last) changes++;
        last = now;
        return changes >= 3;
      }, 'three formation updates');
      const shifts = await page.evaluate(() => (window as { shifts: number[] }).shifts);
      assert.deepEqual(shifts.slice(shiftsBefore), [], 'no layout shift from formation updates');
    });

    it('a map worker that dies shows its lastError as a warning line (no dialog); the scan goes on', async () => {
      const { page, daemon } = r;
      const maker = (daemon.publisher as unknown as { maker: MapMaker }).maker;
      const runner = maker.runners.find((m) => m.method === 'fit')! as unknown as { thread: Promise<MapThread> | null };
      await until(() => runner.thread !== null, 'the fit worker');
      const thread = await runner.thread!;
      await (thread as unknown as { worker: Worker }).worker.terminate(); // stands in for a crash

      await page.waitForSelector('#st-warnings p[data-key="maps.fit"]', { state: 'visible', timeout: 15_000 });
      const shown = await readPanel(page);
      assert.equal(shown.warnings.length, 1, JSON.stringify(shown.warnings));
      const published = r.stats.map((s) => s.maps?.['fit']?.lastError).find((e) => typeof e === 'string');
      assert.ok(published, 'live/stats carried maps.fit.lastError');
      assert.match(published, /fit worker exited/);
      assert.equal(shown.warnings[0]!.text, `fit maps: ${published}`);
      assert.equal(await page.$$eval('dialog[open], [role="alertdialog"]', (d) => d.length), 0, 'a line in the panel, not a dialog');
      assert.equal(await page.getAttribute('#scan-state', 'data-value'), 'acquiring');
      assert.equal(await page.isVisible('#st-formation'), true);
    });

    it('the stop hides the formation block; the warning stays until the next scan has fit maps again', async () => {
      const { page } = r;
      await stopScan(page);
      await page.waitForSelector('#st-formation', { state: 'hidden', timeout: 10_000 });
      assert.equal(await page.isVisible('#st-warnings p[data-key="maps.fit"]'), true, 'the last scan’s error stays visible');
      await startScan(page, 'Formation B');
      await page.waitForSelector('#st-warnings', { state: 'hidden', timeout: 20_000 });
      await page.waitForSelector('#st-formation', { state: 'visible', timeout: 15_000 });
      await stopScan(page);
      assert.deepEqual(r.pageErrors, []);
    });
  });

  describe('events-level stream (no event formation)', () => {
    const r = rig({ level: 'events' });

    it('shows no formation or gemroc block while acquiring', async () => {
      const { page } = r;
      const scanId = await startScan(page, 'Events only');
      const seen = () => r.stats.filter((s) => s.scan === scanId && s.state === 'acquiring');
      await until(() => seen().length >= 3, 'three live/stats of the scan');
      await page.waitForFunction(() => /^[1-9][\d,]*$/.test(document.querySelector('#st-events')!.textContent ?? ''), null, { timeout: 10_000 });
      const n = seen().length;
      await until(() => seen().length > n, 'one more live/stats'); // the page has had the earlier ones
      assert.ok(seen().every((s) => s.formation === null && s.gemroc === null), 'the daemon publishes no blocks for events');
      assert.equal(await page.isVisible('#st-formation'), false);
      assert.equal(await page.isVisible('#st-gemroc'), false);
      assert.equal(await page.isVisible('#st-warnings'), false);
      const shown = await readPanel(page);
      assert.deepEqual(shown.formation, {});
      assert.deepEqual(shown.gemroc, {});
      await stopScan(page);
      assert.deepEqual(r.pageErrors, []);
    });
  });

  describe('gemroc-udp stream', () => {
    const r = rig({ transport: 'udp', level: 'hits', seed: 5 });

    it('shows packets, board restarts and one line per board from a published gemroc block, and formation', async () => {
      const { page } = r;
      await startScan(page, 'Gemroc');
      await page.waitForSelector('#st-gemroc dd[data-key^="board-"]', { state: 'visible', timeout: 15_000 });
      await page.waitForSelector('#st-formation', { state: 'visible', timeout: 15_000 });
      const shown = await readPanel(page);
      const keys = Object.keys(shown.gemroc);
      assert.deepEqual(keys.slice(0, 2), ['packets', 'restarts']);
      assert.ok(keys.length >= 3, JSON.stringify(shown.gemroc));
      for (const k of keys.slice(2)) {
        assert.match(k, /^board-\d+$/);
        assert.equal(shown.labels[k], `Board ${k.slice(6)}`);
        assert.match(shown.gemroc[k]!, /^[\d,]+ lost · [\d,]+ restarts?$/);
      }
      assert.match(shown.gemroc['packets']!, /^[1-9][\d,]* · [\d,]+ lost$/);
      await until(() => r.blocks.some((b) => b.gemroc && JSON.stringify(asShown(gemrocRows(b.gemroc))) === JSON.stringify(shown.gemroc)), `a published gemroc block showing ${JSON.stringify(shown.gemroc)}`);
      await stopScan(page);
      await page.waitForSelector('#st-gemroc', { state: 'hidden', timeout: 10_000 });
      assert.deepEqual(r.pageErrors, []);
    });
  });
});
