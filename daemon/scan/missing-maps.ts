// A stopped scan whose final maps should be in its folder but are not (storage.saveMaps): the daemon was killed
// between the stop and the end of the save, or the save failed (disk full, the scan's final cycle voided by the
// next scan's start), or a crash came between the writer's rm(maps/) and rename(maps.tmp/ -> maps/), leaving
// an orphan maps.tmp/. At start (saveMaps on):
//   - orphan maps.tmp/ folders are removed (cleanOrphanMapsTmp), synchronously, before anything can save: no
//     save is in progress then, and every maps.tmp/ is one a stopped daemon left;
//   - after start-up, in the background (the daemon is ready at once; shutdown stops it, bounded), each such
//     scan gets roi and fit maps of its cube, as crash recovery makes them for a recovered scan (recovery.ts):
//     the cube is the scan's final checkpoint (cube.ckpt: after a clean stop it covers the whole recording,
//     formation flushed; a recording longer than it is replayed from it, nothing is written but maps/), the maps
//     are computed in worker threads (MapMaker, as the live maps: a scan may be acquiring meanwhile) with the
//     scan's own configuration, and written by save-maps.ts. No model maps (recovery.ts says why).
// Which scans: status completed or interrupted (an 'error' scan's checkpoint may not cover its recording), no
// maps/, its recording present, and its recorded configuration (the daemon's at its start, scans.config) with
// storage.saveMaps explicitly true: the daemon that stopped it was to save its maps, so their absence is a
// save that did not happen or failed. A scan recorded with saveMaps false, or before the option existed (no
// key), had its maps deliberately not saved and is left alone. A scan whose maps cannot be made here is noted
// in its record's error ("maps not made at start-up: ...") and not tried again at later starts.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configSchema, type GemxrfConfig } from '../../config/index.js';
import { roiBackgroundFromConfig } from '../../pipelines/maps/roi.js';
import type { Logger } from '../log.js';
import { MapMaker } from '../publish/map-maker.js';
import type { ScanDb, ScanRecord } from '../storage/db.js';
import { scanDir } from '../storage/scan-names.js';
import { RAW_FILE } from './acquisition.js';
import { rebuildScanCube } from './recovery.js';
import { MAPS_DIR, writeScanMaps, type SaveMapsInput } from './save-maps.js';

export const START_FAILURE_NOTE = 'maps not made at start-up';

export interface MissingMapsResult {
  id: string;
  /** Methods written (roi, fit), empty when it failed. */
  methods: string[];
  /** The cube came from the final checkpoint; tailBytes: recording bytes after it that were replayed (0 after
   *  a clean stop). */
  fromCheckpoint: boolean;
  tailBytes: number;
  events: number;
  error: string | null;
}

/** Removes scans/<id>/maps.tmp/ left by a stopped daemon (call only while no save runs: at start). */
export function cleanOrphanMapsTmp(dataDir: string, log?: Logger): string[] {
  const root = resolve(dataDir, 'scans');
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const tmp = join(root, n, `${MAPS_DIR}.tmp`);
    if (!existsSync(tmp)) continue;
    try {
      rmSync(tmp, { recursive: true, force: true });
      removed.push(n);
      log?.info('removed an unfinished maps folder left by a stopped daemon', { scan: n, dir: tmp });
    } catch (e) {
      log?.warn('cannot remove an unfinished maps folder', { dir: tmp, error: (e as Error).message });
    }
  }
  return removed;
}

/** The scans whose maps should be in their folder and are not (see the header). */
export function scansMissingMaps(dataDir: string, db: ScanDb): ScanRecord[] {
  const out: ScanRecord[] = [];
  for (const status of ['completed', 'interrupted'] as const) {
    for (const scan of db.listScans({ status, limit: 1_000_000 })) {
      const recorded = (scan.config as { storage?: { saveMaps?: unknown } } | null)?.storage?.saveMaps;
      if (recorded !== true) continue;
      if (scan.error?.includes(START_FAILURE_NOTE)) continue;
      const dir = scanDir(dataDir, scan.id);
      if (!existsSync(join(dir, RAW_FILE)) || existsSync(join(dir, MAPS_DIR))) continue;
      if (classicalMethods(configOf(scan)).length === 0) continue;
      out.push(scan);
    }
  }
  return out.reverse(); // oldest first
}

function configOf(scan: ScanRecord): GemxrfConfig {
  const parsed = configSchema.safeParse(scan.config);
  return parsed.success ? parsed.data : configSchema.parse({});
}

function classicalMethods(config: GemxrfConfig): Array<'roi' | 'fit'> {
  return config.maps.methods.filter((m): m is 'roi' | 'fit' => m === 'roi' || m === 'fit');
}

export interface MissingMapsOptions {
  log: Logger;
  /** True once the daemon shuts down: no further scan is started, the one in progress is given up. */
  stopped(): boolean;
  /** The scan is being worked on (true) or done (false): scan/delete refuses it meanwhile. */
  busy?(id: string, on: boolean): void;
  /** Publishes an operator event (maps-saved with atStart: true, or maps-error). */
  event?(ev: Record<string, unknown>): void;
}

/** Makes the missing maps of every such scan, one at a time; never throws. */
export class MissingMaps {
  private maker: MapMaker | null = null;
  private cancelled = false;

  constructor(private readonly dataDir: string, private readonly db: ScanDb, private readonly opts: MissingMapsOptions) {}

  /** Stops: the scan in progress is given up (its workers end), none is started. */
  async cancel(): Promise<void> {
    this.cancelled = true;
    await this.maker?.release();
  }

  private get stopped(): boolean {
    return this.cancelled || this.opts.stopped();
  }

  async run(): Promise<MissingMapsResult[]> {
    const out: MissingMapsResult[] = [];
    let scans: ScanRecord[];
    try {
      scans = scansMissingMaps(this.dataDir, this.db);
    } catch (e) {
      this.opts.log.error('cannot list the scans missing their maps', { error: (e as Error).message });
      return out;
    }
    if (scans.length) this.opts.log.info('stopped scans without their saved maps: making roi/fit maps from their checkpoints', { scans: scans.length });
    for (const scan of scans) {
      if (this.stopped) break;
      this.opts.busy?.(scan.id, true);
      try {
        const r = await this.one(scan);
        if (r) out.push(r);
      } finally {
        this.opts.busy?.(scan.id, false);
      }
    }
    return out;
  }

  private async one(scan: ScanRecord): Promise<MissingMapsResult | null> {
    const { log } = this.opts;
    const config = configOf(scan);
    const methods = classicalMethods(config);
    let info = { fromCheckpoint: false, tailBytes: 0, events: 0 };
    try {
      const rebuilt = await rebuildScanCube(this.dataDir, scan, this.db, log, { persist: false });
      const { cube } = rebuilt;
      info = { fromCheckpoint: rebuilt.info.fromCheckpoint, tailBytes: rebuilt.info.tailBytes, events: cube.totalEvents };
      if (this.stopped) return null;
      if (!this.db.scanExists(scan.id)) return null; // deleted meanwhile
      const maker = new MapMaker(methods, config.maps.elements, log, { workerTimeoutMs: config.maps.workerTimeoutSeconds * 1000, roi: roiBackgroundFromConfig(config.maps.roi) });
      this.maker = maker;
      let classical: SaveMapsInput['classical'];
      try {
        const results = await Promise.all(maker.runners.map((r) => r.complete(cube, scan.id)));
        if (this.stopped) return null;
        classical = results.map((r, i) => {
          if (!r) throw new Error(`${maker.runners[i]!.method} maps failed (${maker.runners[i]!.stats().lastError ?? 'worker stopped'})`);
          return { method: r.method, maps: r.maps, events: r.events };
        });
      } finally {
        this.maker = null;
        await maker.release();
      }
      if (this.stopped || !this.db.scanExists(scan.id)) return null;
      const saved = await writeScanMaps(this.dataDir, { scanId: scan.id, width: cube.width, height: cube.height, events: cube.totalEvents, classical, model: null, roiBackground: config.maps.roi.background });
      log.info('stopped scan maps made at start-up', { scan: scan.id, methods: saved.methods.join(','), fromCheckpoint: info.fromCheckpoint, tailBytes: info.tailBytes });
      this.opts.event?.({ type: 'maps-saved', scan: scan.id, dir: saved.dir, methods: saved.methods, files: saved.files.length, bytes: saved.bytes, atStart: true });
      return { id: scan.id, methods: saved.methods, ...info, error: null };
    } catch (e) {
      const error = (e as Error).message;
      if (this.stopped) return null;
      log.error('cannot make the maps of a stopped scan at start-up (not tried again)', { scan: scan.id, error });
      this.note(scan.id, `${START_FAILURE_NOTE}: ${error}`);
      this.opts.event?.({ type: 'maps-error', scan: scan.id, error, atStart: true });
      return { id: scan.id, methods: [], ...info, error };
    }
  }

  private note(id: string, note: string): void {
    try {
      const rec = this.db.getScan(id);
      if (!rec || rec.stoppedAt === null) return;
      this.db.finishScan(id, { status: rec.status, stopReason: rec.stopReason, stoppedAt: rec.stoppedAt, totals: rec.totals, error: rec.error ? `${rec.error}; ${note}` : note });
    } catch (e) {
      this.opts.log.error('cannot record the maps failure in the database', { scan: id, error: (e as Error).message });
    }
  }
}
