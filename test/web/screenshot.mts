// npm run screenshot: writes docs/dashboard.png, the dashboard during a simulated scan (phantom painting,
// 100x100 pixels, strip hits: gemx HITS frames, so the event formation lines show; 40 k events/s: at 100 k
// a busy 2-core machine fell behind simulating and forming the hits), with a pixel selected. Builds the
// page, starts a daemon on free ports, drives Chromium.
import { fileURLToPath } from 'node:url';
// The waitForFunction callback runs in the browser; this file is typechecked as Node code.
declare const document: { querySelector(sel: string): { textContent: string | null } | null };

import { buildPage, launchChromium, removeDir, startDashboardDaemon, tempDataDir } from './support/fixture.js';

const out = process.argv[2] ?? fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url));
const webRoot = await buildPage();
const dataDir = tempDataDir();
const daemon = await startDashboardDaemon({ dataDir, webRoot, width: 100, height: 100, rate: 40_000, elements: ['Ca', 'Cr', 'Fe', 'Cu', 'Zn', 'Hg', 'Pb'], cadenceSeconds: 1, methods: ['roi', 'fit', 'model'], simulator: { level: 'hits' } });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1060 } });
  await page.goto(daemon.httpUrl!);
  await page.waitForSelector('#availability[data-value="online"]');
  await page.fill('#scan-name', 'Phantom painting');
  await page.fill('#scan-duration', '120');
  await page.fill('#scan-notes', 'simulated: chrome green / azurite / minium');
  await page.click('#scan-start');
  await page.waitForSelector('#scan-state[data-value="acquiring"]');
  await page.waitForSelector('#st-formation', { state: 'visible' });
  await page.waitForTimeout(9000);
  await page.click('#map-grid figure[data-element="Cr"]');
  // A pixel in the lower (Pb) region of the phantom, summed over 3x3.
  await page.selectOption('#pixel-radius', '1');
  const box = (await page.locator('#map-canvas').boundingBox())!;
  await page.mouse.click(box.x + box.width * 0.5, box.y + box.height * 0.72);
  await page.waitForFunction(() => /^pixel \(/.test(document.querySelector('#pixel-title')?.textContent ?? ''));
  await page.waitForTimeout(2500);
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await daemon.stop();
  removeDir(webRoot);
  removeDir(dataDir);
}
