// The dashboard's broker login in headless Chromium: a daemon whose embedded broker wants a username and
// password. The page shows its login form (no window.prompt), a wrong password shows the broker's refusal
// and keeps the form, the right one connects and live data arrives; the credentials are never written to
// localStorage or the URL, and sessionStorage only with "remember for this tab".
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Daemon } from '../../daemon/daemon.js';
import { buildPage, launchChromium, removeDir, startDashboardDaemon, tempDataDir, requireChromium } from './support/fixture.js';

// page.evaluate callbacks run in the browser; this file is typechecked as Node code (no DOM lib).
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const USER = 'operator';
const PASS = 's3cret-pw';
const KEY = 'gemxrf.mqtt.credentials';

describe('dashboard login to a broker that wants credentials (headless Chromium)', function () {
  this.timeout(60_000);
  let browser: Browser;
  let context: BrowserContext;
  let daemon: Daemon;
  let page: Page;
  let webRoot: string;
  let dataDir: string;
  const pageErrors: string[] = [];
  const dialogs: string[] = [];

  before(async function () {
    requireChromium(this);
    webRoot = await buildPage();
    dataDir = tempDataDir();
    daemon = await startDashboardDaemon({ dataDir, webRoot, elements: ['Cr', 'Cu'], methods: ['roi'], brokerAuth: { username: USER, password: PASS } });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    page = await context.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text())); // CSP violations included
  });

  after(async () => {
    await browser?.close();
    await daemon?.stop();
    removeDir(webRoot);
    removeDir(dataDir);
  });

  const storage = () => page.evaluate((k) => ({ session: window.sessionStorage.getItem(k), local: window.localStorage.length, url: window.location.href }), KEY) as Promise<{ session: string | null; local: number; url: string }>;

  it('says the broker wants credentials and shows the login form instead of a prompt', async () => {
    const cfg = (await (await fetch(`${daemon.httpUrl}/config.json`)).json()) as { auth: boolean };
    assert.equal(cfg.auth, true);
    await page.goto(daemon.httpUrl!);
    await page.waitForSelector('#login-form', { state: 'visible', timeout: 10_000 });
    assert.equal(await page.getAttribute('#login-password', 'type'), 'password');
    assert.equal(await page.isChecked('#login-remember'), false, 'remember is off by default');
    assert.equal(await page.getAttribute('#connection', 'data-value'), 'login');
    assert.deepEqual(dialogs, []);
  });

  it('shows the broker’s refusal of a wrong password and keeps the form', async () => {
    await page.fill('#login-username', USER);
    await page.fill('#login-password', 'wrong');
    await page.click('#login-connect');
    await page.waitForSelector('#connection[data-value="refused"]', { timeout: 10_000 });
    assert.match((await page.textContent('#login-error'))!, /bad username or password/i);
    assert.equal(await page.isVisible('#login-form'), true);
    assert.equal(await page.isEnabled('#login-connect'), true);
    assert.equal(await page.inputValue('#login-username'), USER, 'the username stays filled in');
    // A refused client does not keep hammering the broker: still refused a reconnect period (2 s) later.
    await page.waitForTimeout(2500);
    assert.equal(await page.getAttribute('#connection', 'data-value'), 'refused');
    assert.equal((await storage()).session, null);
  });

  it('connects with the right password, hides the form, and live state, stats and maps arrive', async () => {
    await page.fill('#login-password', PASS);
    await page.press('#login-password', 'Enter');
    await page.waitForSelector('#connection[data-value="connected"]', { timeout: 10_000 });
    assert.equal(await page.textContent('#connection'), 'MQTT: connected');
    await page.waitForSelector('#login', { state: 'hidden', timeout: 5000 });
    assert.equal(await page.textContent('#login-error'), '');
    assert.equal(await page.inputValue('#login-password'), '', 'the password field is cleared');
    await page.waitForSelector('#availability[data-value="online"]', { timeout: 10_000 });
    await page.waitForSelector('#scan-state[data-value="idle"]', { timeout: 10_000 });

    // Requests go over the authenticated link: start a short scan from the form; maps and stats arrive.
    await page.fill('#scan-name', 'Login test');
    await page.fill('#scan-duration', '30');
    await page.click('#scan-start');
    await page.waitForFunction(() => /^started /.test(document.querySelector('#scan-message')!.textContent ?? ''), null, { timeout: 10_000 });
    const scanId = (await page.textContent('#scan-message'))!.replace('started ', '');
    await page.waitForFunction((id) => {
      const c = document.querySelector('#map-canvas')!;
      return c.dataset.scan === id && c.dataset.method === 'roi' && c.width === 32;
    }, scanId, { timeout: 15_000 });
    await page.waitForFunction(() => Number((document.querySelector('#st-events')!.textContent ?? '').replace(/\D/g, '')) > 0, null, { timeout: 10_000 });
    await daemon.manager.stop('manual');

    const s = await storage();
    assert.equal(s.session, null, 'not remembered unless asked');
    assert.equal(s.local, 0);
    assert.doesNotMatch(s.url, new RegExp(PASS));
  });

  it('asks again after a reload unless "remember for this tab" was ticked; remembered credentials skip the form', async () => {
    await page.reload();
    await page.waitForSelector('#login-form', { state: 'visible', timeout: 10_000 });
    await page.fill('#login-username', USER);
    await page.fill('#login-password', PASS);
    await page.check('#login-remember');
    await page.click('#login-connect');
    await page.waitForSelector('#connection[data-value="connected"]', { timeout: 10_000 });
    assert.deepEqual(JSON.parse((await storage()).session!), { username: USER, password: PASS });

    await page.reload();
    await page.waitForSelector('#connection[data-value="connected"]', { timeout: 10_000 });
    assert.equal(await page.isVisible('#login'), false);
    const s = await storage();
    assert.equal(s.local, 0, 'never localStorage');
    assert.doesNotMatch(s.url, new RegExp(PASS));

    // Remembered credentials the broker refuses are dropped and the form comes back with the reason.
    await page.evaluate(([k, v]) => window.sessionStorage.setItem(k, v), [KEY, JSON.stringify({ username: USER, password: 'stale' })] as const);
    await page.reload();
    await page.waitForSelector('#connection[data-value="refused"]', { timeout: 10_000 });
    assert.equal(await page.isVisible('#login-form'), true);
    assert.match((await page.textContent('#login-error'))!, /bad username or password/i);
    assert.equal((await storage()).session, null);
    assert.deepEqual(dialogs, []);
    assert.deepEqual(pageErrors, []);
  });
});
