// node --import tsx test/web/map-rate.mts [seconds]: how the page copes with 256x256 maps at 2 Hz. A daemon
// with a 256x256 grid publishes roi maps of 7 elements every 0.5 s (plus the count map and spectrum at 1 Hz);
// the page (headless Chromium) counts the frames it drew, the animation-frame intervals and long tasks
// (> 50 ms on the main thread), and the JS heap before and after. Prints one JSON line (docs/results.md).
import { buildPage, launchChromium, removeDir, startDashboardDaemon, tempDataDir } from './support/fixture.js';

// The callbacks below run in the page; this file is typechecked as Node code.
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const seconds = Number(process.argv[2] ?? 15);
const webRoot = await buildPage();
const dataDir = tempDataDir();
const daemon = await startDashboardDaemon({ dataDir, webRoot, width: 256, height: 256, rate: 100_000, elements: ['Ca', 'Cr', 'Fe', 'Cu', 'Zn', 'Hg', 'Pb'], cadenceSeconds: 0.5, methods: ['roi'] });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  await page.addInitScript(() => {
    const w = window;
    w.probe = { longTasks: [] as number[], frames: [] as number[], draws: 0, shifts: 0 };
    new w.PerformanceObserver((l: any) => { for (const e of l.getEntries()) w.probe.longTasks.push(e.duration); }).observe({ type: 'longtask' }); // eslint-disable-line @typescript-eslint/no-explicit-any
    new w.PerformanceObserver((l: any) => { for (const e of l.getEntries()) w.probe.shifts += e.value; }).observe({ type: 'layout-shift' }); // eslint-disable-line @typescript-eslint/no-explicit-any
  });
  await page.goto(daemon.httpUrl!);
  await page.waitForSelector('#availability[data-value="online"]');
  await page.fill('#scan-name', 'map rate');
  await page.click('#scan-start');
  await page.waitForFunction(() => Number(document.querySelector('#map-canvas').dataset.sequence) >= 2, null, { timeout: 20_000 });
  const heap0 = (await page.evaluate('performance.memory ? performance.memory.usedJSHeapSize : 0')) as number;
  // A string, not a function: tsx would wrap the inner named function in a __name() helper the page lacks.
  await page.evaluate(`(() => {
    const w = window;
    const c = document.querySelector('#map-canvas');
    w.probe.longTasks = [];
    w.probe.shifts = 0;
    w.probe.seq0 = Number(c.dataset.sequence);
    new MutationObserver(() => w.probe.draws++).observe(c, { attributes: true, attributeFilter: ['data-sequence'] });
    let last = performance.now();
    const tick = (t) => { w.probe.frames.push(t - last); last = t; requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  })()`);
  await page.waitForTimeout(seconds * 1000);
  const r = (await page.evaluate(`(() => {
    const p = window.probe;
    const f = [...p.frames].sort((a, b) => a - b);
    const q = (x) => f[Math.min(f.length - 1, Math.floor(x * f.length))];
    return { draws: p.draws, seq: Number(document.querySelector('#map-canvas').dataset.sequence) - p.seq0, frames: f.length, frameP50Ms: q(0.5), frameP99Ms: q(0.99), frameMaxMs: f[f.length - 1], longTasks: p.longTasks.length, longestTaskMs: Math.max(0, ...p.longTasks), layoutShift: p.shifts, heapMB: (performance.memory ? performance.memory.usedJSHeapSize : 0) / 1e6 };
  })()`)) as Record<string, number>;
  console.log(JSON.stringify({ seconds, map: '256x256', elementsPerMethod: 7, cadenceS: 0.5, heap0MB: heap0 / 1e6, ...r }));
  await page.click('#scan-stop');
} finally {
  await browser.close();
  await daemon.stop();
  removeDir(webRoot);
  removeDir(dataDir);
}
