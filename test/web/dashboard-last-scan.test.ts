// The acquisition panel's "Last scan" summary in headless Chromium, against a daemon with the simulated
// detector: a count-limited scan runs to completion, the summary shows the stored record (request/scan/get)
// and the maps-saved event's outcome, repeated retained states move nothing; a page opened afterwards shows
// the same from scan/get and the scan folder's listing; a new scan hides it; a deleted last scan hides it.
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import type { Daemon } from '../../daemon/daemon.js';
import { lastScanRows, mapsFromEvent, type ScanRecordDoc } from '../../web/src/last-scan.js';
import { Requester } from '../daemon/helpers.js';
import { buildPage, launchChromium, removeDir, requireChromium, startDashboardDaemon, tempDataDir } from './support/fixture.js';

declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const base = 'gemxrf/web-test';

const until = async (cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) => {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** The summary's rows as key → [label, value], read in one go. */
const readSummary = (page: Page): Promise<Record<string, [string, string]>> =>
  page.evaluate(() => {
    const out: Record<string, [string, string]> = {};
    for (const dd of Array.from(document.querySelectorAll('#st-last dd') as ArrayLike<{ dataset: { key: string }; textContent: string; previousElementSibling: { textContent: string } }>)) {
      out[dd.dataset.key] = [dd.previousElementSibling.textContent, dd.textContent];
    }
    return out;
  });

const expected = (rows: ReturnType<typeof lastScanRows>) => Object.fromEntries((rows ?? []).map((r) => [r.key, [r.label, r.value]]));

describe('dashboard last-scan summary (headless Chromium)', function () {
  this.timeout(120_000);
  let browser: Browser;
  let webRoot: string;
  let daemon: Daemon;
  let dataDir: string;
  let req: Requester;
  let page: Page;
  const events: Array<Record<string, unknown>> = [];
  const states: Array<{ state: string; lastScan: string | null }> = [];
  const pageErrors: string[] = [];
  let firstId = '';

  before(async function () {
    requireChromium(this);
    webRoot = await buildPage();
    browser = await launchChromium();
    dataDir = tempDataDir();
    daemon = await startDashboardDaemon({ dataDir, webRoot });
    req = await Requester.connect(daemon.brokerUrl, base);
    req.client.on('message', (topic, payload) => {
      if (!payload.length) return;
      if (topic === `${base}/event`) events.push(JSON.parse(payload.toString()) as Record<string, unknown>);
      else if (topic === `${base}/state`) states.push(JSON.parse(payload.toString()) as (typeof states)[number]);
    });
    await req.client.subscribeAsync([`${base}/event`, `${base}/state`], { qos: 1 });
    page = await newPage();
  });

  after(async () => {
    await page?.close();
    await browser?.close();
    await req?.close();
    await daemon?.stop();
    removeDir(dataDir);
    removeDir(webRoot);
  });

  async function newPage(): Promise<Page> {
    const p = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    await p.addInitScript(() => {
      const w = window as { shifts: number[]; PerformanceObserver: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
      w.shifts = [];
      new w.PerformanceObserver((list: { getEntries(): Array<{ value: number }> }) => {
        for (const e of list.getEntries()) w.shifts.push(e.value);
      }).observe({ type: 'layout-shift', buffered: true });
    });
    p.on('pageerror', (e) => pageErrors.push(e.message));
    p.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
    await p.goto(daemon.httpUrl!);
    await p.waitForSelector('#scan-state[data-value="idle"]', { timeout: 10_000 });
    return p;
  }

  const event = (type: string, id: string) => events.find((e) => e['type'] === type && (e['scan'] === id || (e['scan'] as { id?: string } | null)?.id === id));

  async function getRecord(id: string): Promise<ScanRecordDoc> {
    const r = await req.request('scan/get', { id });
    assert.equal(r.status, 'ok', r.error);
    return r.data as ScanRecordDoc;
  }

  it('shows nothing before any scan', async () => {
    assert.equal(await page.isVisible('#st-last'), false);
  });

  it('after a count-limited scan: the stored record, its stop reason and its saved maps; no layout shifts on repeated states', async () => {
    await page.fill('#scan-name', 'Last A');
    await page.fill('#scan-counts', '20000');
    await page.click('#scan-start');
    await page.waitForFunction(() => /^started /.test(document.querySelector('#scan-message')!.textContent ?? ''), null, { timeout: 10_000 });
    firstId = (await page.textContent('#scan-message'))!.replace('started ', '');
    await until(() => event('scan-stopped', firstId) !== undefined, 'the scan-stopped event');
    await until(() => event('maps-saved', firstId) !== undefined || event('maps-error', firstId) !== undefined, 'the maps-saved event');
    const saved = event('maps-saved', firstId);
    assert.ok(saved, JSON.stringify(event('maps-error', firstId)));
    await page.waitForSelector('#st-last', { state: 'visible', timeout: 10_000 });
    await page.waitForFunction(() => /^saved · /.test(document.querySelector('#st-last dd[data-key="maps"]')?.textContent ?? ''), null, { timeout: 10_000 });

    const record = await getRecord(firstId);
    assert.equal(record.status, 'completed');
    assert.equal(record.stopReason, 'counts');
    assert.ok(record.totals && record.totals.events >= 20_000, JSON.stringify(record.totals));
    const want = expected(lastScanRows(record, mapsFromEvent(saved)!));
    const shown = await readSummary(page);
    assert.deepEqual(shown, want);
    assert.equal(shown['scan']![1], firstId);
    assert.equal(shown['status']![1], 'completed · counts reached');
    assert.match(shown['events']![1], /^[1-9][\d,]+$/);
    assert.equal(shown['paired'], undefined, 'an events-level scan has no formation rows');
    assert.equal(await page.isVisible('#st-formation'), false, 'the live blocks are hidden after the stop');

    // The retained state keeps coming: the summary's text and the layout stay as they are.
    const shiftsBefore = await page.evaluate(() => (window as { shifts: number[] }).shifts.length);
    const n = states.length;
    await until(() => states.length >= n + 3, 'three more state documents');
    await page.waitForTimeout(300); // the page has had them too
    assert.deepEqual(await readSummary(page), want);
    assert.deepEqual((await page.evaluate(() => (window as { shifts: number[] }).shifts)).slice(shiftsBefore), [], 'no layout shift from repeated states');
  });

  it('a page opened after the stop shows the same from scan/get and the scan folder', async () => {
    const other = await newPage();
    try {
      await other.waitForSelector('#st-last', { state: 'visible', timeout: 10_000 });
      await other.waitForFunction(() => /^saved · /.test(document.querySelector('#st-last dd[data-key="maps"]')?.textContent ?? ''), null, { timeout: 10_000 });
      assert.deepEqual(await readSummary(other), await readSummary(page));
    } finally {
      await other.close();
    }
  });

  it('hides while a new scan acquires, shows that scan after its stop, and hides when it is deleted', async () => {
    await page.fill('#scan-name', 'Last B');
    await page.fill('#scan-counts', '');
    await page.fill('#scan-duration', '600');
    await page.click('#scan-start');
    await page.waitForSelector('#scan-state[data-value="acquiring"]', { timeout: 10_000 });
    await page.waitForSelector('#st-last', { state: 'hidden', timeout: 5000 });
    const secondId = (await page.textContent('#scan-message'))!.replace('started ', '');
    assert.notEqual(secondId, firstId);
    await page.waitForFunction(() => /^[1-9][\d,]*$/.test(document.querySelector('#st-events')!.textContent ?? ''), null, { timeout: 10_000 });
    assert.equal(await page.isVisible('#st-last'), false);

    await page.click('#scan-stop');
    await page.waitForSelector('#st-last', { state: 'visible', timeout: 15_000 });
    await until(() => event('maps-saved', secondId) !== undefined || event('maps-error', secondId) !== undefined, 'the second scan’s maps event');
    await page.waitForFunction(() => /^saved · /.test(document.querySelector('#st-last dd[data-key="maps"]')?.textContent ?? ''), null, { timeout: 10_000 });
    const record = await getRecord(secondId);
    assert.equal(record.stopReason, 'manual');
    assert.deepEqual(await readSummary(page), expected(lastScanRows(record, mapsFromEvent(event('maps-saved', secondId)!)!)));

    // scan/delete is refused while the scan is finishing (final maps): retried until accepted.
    await until(async () => (await req.request('scan/delete', { id: secondId, confirm: secondId })).status === 'ok', 'scan/delete accepted');
    await page.waitForSelector('#st-last', { state: 'hidden', timeout: 10_000 });
    await until(() => states.some((s) => s.lastScan === null), 'a state with lastScan null');
    await page.waitForTimeout(300);
    assert.equal(await page.isVisible('#st-last'), false, 'stays hidden with lastScan null');
    assert.deepEqual(pageErrors, []);
  });
});
