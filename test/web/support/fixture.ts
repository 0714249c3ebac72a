// Shared by the dashboard browser tests and `npm run screenshot`: builds the page with Vite into a temp
// folder (so a test always runs the current sources), starts a daemon with the simulated detector, the
// embedded broker and the HTTP server on ephemeral loopback ports, and launches headless Chromium.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { configSchema, type GemxrfConfig } from '../../../config/index.js';
import { startDaemon, type Daemon } from '../../../daemon/daemon.js';
import { silentLogger } from '../../../daemon/log.js';

export const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function chromiumPath(): string | null {
  return CHROMIUM_PATHS.find((p) => existsSync(p)) ?? null;
}

/** Skips the suite where Chromium is missing, except in CI, where every browser test must run. */
export function requireChromium(ctx: Mocha.Context): void {
  if (chromiumPath()) return;
  if (process.env.CI) throw new Error('Chromium is required in CI (apt-get install chromium)');
  ctx.skip();
}

/** Builds web/ into a fresh temp folder and returns it (about two seconds). Vite runs in its own process:
 *  inside mocha's tsx loader its package resolution of vite/modulepreload-polyfill fails. */
export async function buildPage(): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), 'gemxrf-web-'));
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  await new Promise<void>((resolve, reject) => {
    execFile(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts', '--outDir', outDir, '--emptyOutDir', '--sourcemap', 'false', '--logLevel', 'error'], { cwd: root, timeout: 60_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`vite build failed: ${stderr || err.message}`)) : resolve(),
    );
  });
  return outDir;
}

export interface DashboardOptions {
  dataDir: string;
  webRoot: string;
  width?: number;
  height?: number;
  rate?: number;
  elements?: string[];
  cadenceSeconds?: number;
  methods?: Array<'roi' | 'fit' | 'model'>;
  /** Credentials the embedded broker demands (none by default). */
  brokerAuth?: { username: string; password: string };
  /** More simulator settings (config simulator.*), e.g. `{ level: 'hits' }` for gemx HITS frames, or
   *  `{ transport: 'udp', level: 'hits' }` for gemroc-udp packets. */
  simulator?: Record<string, unknown>;
}

export function dashboardConfig(o: DashboardOptions): GemxrfConfig {
  return configSchema.parse({
    instrument: { id: 'web-test', name: 'GEM FF-XRF (simulated)' },
    detector: { width: o.width ?? 32, height: o.height ?? 32 },
    mqtt: { embedded: { host: '127.0.0.1', port: 0, wsPort: 0, ...o.brokerAuth } },
    storage: { dataDir: o.dataDir, checkpointSeconds: 2, flushSeconds: 0.5 },
    maps: { methods: o.methods ?? ['roi', 'fit'], elements: o.elements ?? ['Cr', 'Cu', 'Pb'], cadenceSeconds: o.cadenceSeconds ?? 0.5 },
    simulator: { enabled: true, rate: o.rate ?? 20_000, listen: '127.0.0.1:0', ...o.simulator },
    http: { enabled: true, host: '127.0.0.1', port: 0, webRoot: o.webRoot },
    log: { level: 'error' },
  });
}

/** A daemon serving the page from webRoot (the built page); http and MQTT on free ports. */
export async function startDashboardDaemon(o: DashboardOptions): Promise<Daemon> {
  return startDaemon(dashboardConfig(o), silentLogger);
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error(`no Chromium at ${CHROMIUM_PATHS.join(', ')} (apt-get install chromium)`);
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'gemxrf-web-data-'));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
