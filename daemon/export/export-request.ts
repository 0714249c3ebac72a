// request/scan/export (docs/mqtt.md): writes a stored scan's export into its own folder (<scan>/export/), the
// same files `gemxrf scan export` writes. The export runs in a child process (the same CLI command), because
// building fit/model maps and an HDF5 file of a large cube takes seconds of CPU that the daemon's event loop
// must not spend. One export at a time; the scan being acquired is refused (its files are still growing).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { findPackageRoot } from '../../config/package-paths.js';
import type { GemxrfConfig } from '../../config/index.js';
import { RequestError, type MqttBridge } from '../mqtt/bridge.js';
import { parseRequest } from '../requests.js';
import type { ScanDb } from '../storage/db.js';
import { SCAN_ID_RE, scanDir } from '../storage/scan-names.js';

const exportSchema = z.strictObject({
  id: z.string().regex(SCAN_ID_RE, 'not a scan id (YYYYMMDD-HHMMSS-name)'),
  format: z.array(z.enum(['npy', 'hdf5', 'png'])).min(1).max(3).optional(),
  methods: z.array(z.enum(['roi', 'fit', 'model'])).max(3).optional(),
});

export interface ExportRequestContext {
  bridge: MqttBridge;
  db: ScanDb;
  config: GemxrfConfig;
  dataDir: string;
  /** The id of the scan being acquired right now, if any. */
  acquiringId(): string | null;
  /** Longest an export may run before it is killed (ms). */
  timeoutMs?: number;
}

/** The repository/package root (where bin/gemxrf.js lives), from this module's location in src or dist. */
function packageRoot(): string {
  const root = findPackageRoot();
  if (!root) throw new Error('cannot find bin/gemxrf.js for the export process');
  return root;
}

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runExportChild(args: string[], timeoutMs: number): Promise<ChildResult> {
  const root = packageRoot();
  // Running from the TypeScript sources (tests, development): the child must run the same sources.
  const fromSource = import.meta.url.endsWith('.ts');
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'gemxrf.js'), ...args], {
      env: { ...process.env, ...(fromSource ? { GEMXRF_FROM_SOURCE: '1' } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolvePromise({ code: -1, stdout, stderr: stderr + String(err) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Registers request/scan/export; `running()` is the id of the scan being exported now, else null (scan/delete
 *  refuses that scan). */
export function registerExportRequest(ctx: ExportRequestContext): { running(): string | null } {
  let running: string | null = null;
  ctx.bridge.handle('scan/export', async (data) => {
    const req = parseRequest(exportSchema, data);
    const record = ctx.db.getScan(req.id);
    if (!record) throw new RequestError(`no scan '${req.id}'`);
    if (ctx.acquiringId() === req.id) throw new RequestError(`scan '${req.id}' is still acquiring; export it after it stops`);
    if (running) throw new RequestError(`an export of '${running}' is running; try again when it has finished`);
    const dir = scanDir(ctx.dataDir, req.id);
    const outDir = join(dir, 'export');
    const formats = req.format ?? ['npy', 'hdf5', 'png'];
    running = req.id;
    // The child reads the daemon's effective configuration (file + environment), passed as a snapshot.
    const cfgDir = mkdtempSync(join(tmpdir(), 'gemxrf-export-'));
    try {
      mkdirSync(outDir, { recursive: true });
      const cfgFile = join(cfgDir, 'config.yaml');
      writeFileSync(cfgFile, stringify(ctx.config));
      const args = ['--config', cfgFile, 'scan', 'export', req.id, '--format', formats.join(','), '--out', outDir, '--data-dir', resolve(ctx.dataDir), '--json', '--quiet'];
      if (req.methods) args.push('--methods', req.methods.length ? req.methods.join(',') : 'none');
      const r = await runExportChild(args, ctx.timeoutMs ?? 10 * 60_000);
      if (r.code !== 0) {
        const line = r.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${r.code}`;
        throw new RequestError(`export of '${req.id}' failed: ${line.replace(/^gemxrf: /, '')}`);
      }
      // The CLI's --json summary: files relative to the export folder.
      const summary = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { files?: string[]; bytes?: number; methods?: string[] };
      const files = (summary.files ?? []).map((f) => `export/${f}`);
      await ctx.bridge.publish('event', { type: 'export-finished', scan: req.id, files: files.length, bytes: summary.bytes ?? 0, time: new Date().toISOString() }, { qos: 1 });
      return { id: req.id, dir: 'export', formats, methods: summary.methods ?? [], files, bytes: summary.bytes ?? 0 };
    } finally {
      running = null;
      rmSync(cfgDir, { recursive: true, force: true });
    }
  });
  return { running: () => running };
}
