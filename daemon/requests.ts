// Request handlers (request/<command> -> response/<command>, docs/mqtt.md). Every payload is checked with a
// strict zod schema first: a missing, unknown or wrong field is an error response and changes nothing.
import { z } from 'zod';
import { RequestError, type MqttBridge } from './mqtt/bridge.js';
import type { ScanDb } from './storage/db.js';
import { deleteStoredScan } from './storage/delete-scan.js';
import { SCAN_ID_RE } from './storage/scan-names.js';
import { ScanRefused, type ScanManager } from './scan/scan-manager.js';

const startSchema = z.strictObject({
  name: z.string().min(1).max(80),
  duration: z.number().positive().max(7 * 24 * 3600).optional(),
  counts: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  notes: z.string().max(4000).optional(),
  operator: z.string().max(200).optional(),
});
const emptySchema = z.strictObject({});
const listSchema = z.strictObject({
  limit: z.number().int().min(1).max(1000).optional(),
  status: z.enum(['acquiring', 'completed', 'interrupted', 'error']).optional(),
});
const getSchema = z.strictObject({ id: z.string().regex(SCAN_ID_RE, 'not a scan id (YYYYMMDD-HHMMSS-name)') });
// confirm is checked by hand (not required by the schema), so that its absence gets its own clear answer.
const deleteSchema = z.strictObject({ id: z.string().regex(SCAN_ID_RE, 'not a scan id (YYYYMMDD-HHMMSS-name)'), confirm: z.string().max(200).optional() });

function parse<T>(schema: z.ZodType<T>, data: unknown): T {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const msg = r.error.issues
    .map((i) => {
      if (i.code === 'unrecognized_keys') return `unknown field(s) ${i.keys.map((k) => `'${k}'`).join(', ')}`;
      const path = i.path.map(String).join('.') || 'payload';
      return `${path}: ${i.message}`;
    })
    .join('; ');
  throw new RequestError(`bad request: ${msg}`);
}

/** The same strict payload check for handlers registered outside this file (model requests). */
export { parse as parseRequest };

export interface RequestContext {
  bridge: MqttBridge;
  manager: ScanManager;
  db: ScanDb;
  status(): Record<string, unknown>;
  config(): unknown;
  health(): Record<string, unknown>;
  /** The data directory (scan/delete removes scans/<id> there). */
  dataDir: string;
  /** Why the stored scan cannot be deleted now (an export or a maps save of it in progress), else null. */
  scanBusy?(id: string): string | null;
  /** A scan was deleted (the daemon republishes its state). */
  scanDeleted?(id: string): void;
}

export function registerRequests(ctx: RequestContext): void {
  const { bridge, manager, db } = ctx;
  bridge.handle('scan/start', async (data) => {
    const req = parse(startSchema, data);
    try {
      return await manager.start({
        name: req.name,
        ...(req.duration !== undefined ? { durationS: req.duration } : {}),
        ...(req.counts !== undefined ? { counts: req.counts } : {}),
        ...(req.notes !== undefined ? { notes: req.notes } : {}),
        ...(req.operator !== undefined ? { operator: req.operator } : {}),
      });
    } catch (e) {
      if (e instanceof ScanRefused) throw new RequestError(e.message);
      throw e;
    }
  });
  bridge.handle('scan/stop', async (data) => {
    parse(emptySchema, data);
    try {
      return await manager.stop('manual');
    } catch (e) {
      if (e instanceof ScanRefused) throw new RequestError(e.message);
      throw e;
    }
  });
  bridge.handle('scan/status', (data) => {
    parse(emptySchema, data);
    return ctx.status();
  });
  bridge.handle('scan/list', (data) => {
    const req = parse(listSchema, data);
    return db.listScans({ ...(req.limit ? { limit: req.limit } : {}), ...(req.status ? { status: req.status } : {}) }).map(({ config: _c, ...rest }) => rest);
  });
  bridge.handle('scan/get', (data) => {
    const { id } = parse(getSchema, data);
    const scan = db.getScan(id);
    if (!scan) throw new RequestError(`no scan with id '${id}'`);
    return { ...scan, recordings: db.recordings(id), checkpoints: db.checkpointCount(id), lastCheckpoint: db.lastCheckpoint(id) };
  });
  // scan/delete: {id, confirm: id}. Refused for the scan being started, acquired or stopped, and while an export
  // or a maps save of it runs (both write into its folder); storage/delete-scan.ts removes folder and rows.
  const deleting = new Set<string>();
  bridge.handle('scan/delete', async (data) => {
    const { id, confirm } = parse(deleteSchema, data);
    if (confirm === undefined) throw new RequestError(`scan/delete needs "confirm": the scan id repeated ("confirm": "${id}"); nothing was deleted`);
    if (confirm !== id) throw new RequestError(`"confirm" ("${confirm}") must repeat the scan id exactly ("${id}"); nothing was deleted`);
    if (!db.scanExists(id)) throw new RequestError(`no scan with id '${id}'`);
    if (deleting.has(id)) throw new RequestError(`scan '${id}' is being deleted`);
    const refuse = () => {
      if (manager.current?.record.id === id && (manager.state === 'starting' || manager.state === 'acquiring' || manager.state === 'stopping'))
        throw new RequestError(`scan '${id}' is ${manager.state}; stop it and let it end before deleting it`);
      const busy = ctx.scanBusy?.(id) ?? null;
      if (busy) throw new RequestError(`scan '${id}' cannot be deleted now: ${busy}; try again when it has finished`);
    };
    refuse();
    deleting.add(id);
    try {
      const r = await deleteStoredScan(ctx.dataDir, db, id, { recheck: refuse });
      manager.forget(id);
      await bridge.publish('event', { type: 'scan-deleted', scan: id, files: r.files, bytes: r.bytes, ...(r.leftover ? { leftover: r.leftover } : {}), time: new Date().toISOString() }, { qos: 1 });
      ctx.scanDeleted?.(id);
      return r;
    } catch (e) {
      throw e instanceof RequestError ? e : new RequestError((e as Error).message);
    } finally {
      deleting.delete(id);
    }
  });
  bridge.handle('config/get', (data) => {
    parse(emptySchema, data);
    return ctx.config();
  });
  bridge.handle('health', (data) => {
    parse(emptySchema, data);
    return ctx.health();
  });
}
