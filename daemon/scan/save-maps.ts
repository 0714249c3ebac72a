// The scan folder keeps the scan's final maps (storage.saveMaps, default on), so that the folder a lab hands to
// an analyst is complete without an export:
//   scans/<id>/maps/<method>/<Element>.npy   float32 little-endian, shape (height, width), row-major: the value
//                                            of pixel (x, y) is at [y, x], the orientation of the export's
//                                            maps_<method>.npy[element] and of the live map frames
//   scans/<id>/maps/index.json               methods, elements, unit and meaning per method, events covered,
//                                            the model's name and version for model maps, creation time
// Methods: roi and fit (the final maps of their workers, every event of the scan), model and presence (the
// inference engine's maps after its final pass; `final` in index.json says whether that pass ran).
// The values are exactly those of the final live/maps publication (the same arrays).
// No PNGs: rendering and deflating one image per element and method (40 for 10 elements) is synchronous CPU
// work on the daemon's main thread, at the moment the next scan may be starting; .npy is what an analysis
// reads, the dashboard draws the live maps, and `gemxrf scan export` / request/scan/export (a child process)
// still writes PNGs on demand.
// Written with fs/promises after the final maps exist (never on the stop's path: the scan is already
// 'completed' when this runs), into maps.tmp/ (the HTTP listing skips *.tmp) then renamed to maps/. A failure
// (disk full, permissions) is logged, published as an `event` {type: 'maps-error'}, and noted in the scan
// record's `error` (the status stays): the scan, its recording and checkpoint are untouched.
// A save that did not happen (daemon killed after the stop, shutdown wait ran out) or failed is made good at the
// next start from the final checkpoint (roi/fit only: missing-maps.ts), which also removes orphan maps.tmp/.
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeNpyFileAsync } from '../export/npy-writer.js';
import type { ScanModelMaps } from '../inference/scan-inference.js';
import type { Logger } from '../log.js';
import type { MapSet } from '../../pipelines/maps/types.js';
import type { ScanDb } from '../storage/db.js';
import { scanDir } from '../storage/scan-names.js';

export const MAPS_DIR = 'maps';
export const MAPS_INDEX = 'index.json';

/** The final maps of one scan (LivePublisher.finalMaps; recovery builds its own). */
export interface SaveMapsInput {
  scanId: string;
  width: number;
  height: number;
  /** The cube's events when the final maps were made. */
  events: number;
  /** roi / fit results: each covers `events` of the cube. */
  classical: ReadonlyArray<{ method: string; maps: MapSet; events: number }>;
  /** Classical methods configured but without final maps (their worker failed), listed in index.json. */
  missing?: readonly string[];
  /** The inference engine's maps as the final cycle published them (LivePublisher copies them, metadata and
   *  values in the same tick), null without the model method. */
  model: ScanModelMaps | null;
  /** roi's continuum setting (maps.roi.background), written into index.json. */
  roiBackground?: string;
}

export interface SavedMaps {
  /** Relative to the scan folder ('maps'). */
  dir: string;
  methods: string[];
  /** Relative to the scan folder, index.json last. */
  files: string[];
  bytes: number;
}

const MEANING: Record<string, { unit: string; meaning: string }> = {
  roi: { unit: 'counts', meaning: "net counts in the element's line windows (the continuum under them removed as maps.roi.background says)" },
  fit: { unit: 'counts', meaning: "the element's net counts from a non-negative linear fit of each pixel spectrum against reference spectra" },
  model: { unit: 'counts', meaning: "the element's net counts predicted by the neural network (model.name / model.version)" },
  presence: { unit: 'probability', meaning: 'the probability that the element is present, per the neural network; present above model.presenceThreshold' },
};

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

interface Layer {
  method: string;
  elements: string[];
  data: Float32Array[];
  extra: Record<string, unknown>;
}

/** Writes <dataDir>/scans/<id>/maps/ (replacing one already there). Rejects on any failure, leaving no maps/. */
export async function writeScanMaps(dataDir: string, input: SaveMapsInput): Promise<SavedMaps> {
  const { width: W, height: H } = input;
  // Everything to write, taken now (synchronously): the model's maps are views of the engine's shared buffers.
  const layers: Layer[] = [];
  for (const r of input.classical) {
    const set = r.maps;
    if (set.width !== W || set.height !== H) throw new Error(`${r.method} maps are ${set.width}x${set.height}, the scan ${W}x${H}`);
    const n = W * H;
    const extra: Record<string, unknown> = { events: r.events };
    if (r.method === 'roi' && input.roiBackground) extra['background'] = input.roiBackground;
    layers.push({ method: r.method, elements: [...set.elements], data: set.elements.map((_, i) => set.data.subarray(i * n, (i + 1) * n)), extra });
  }
  const m = input.model;
  if (m) {
    for (const layer of m.layers) {
      if (layer.width !== W || layer.height !== H) throw new Error(`${layer.method} maps are ${layer.width}x${layer.height}, the scan ${W}x${H}`);
      layers.push({
        method: layer.method, elements: layer.maps.map((e) => e.element), data: layer.maps.map((e) => e.data.slice()),
        extra: { model: { ...m.model }, final: m.final, eventsInferred: m.eventsInferred, pixelsFullResolution: m.pixelsFullResolution },
      });
    }
  }
  for (const l of layers) for (const name of [l.method, ...l.elements]) if (!NAME_RE.test(name)) throw new Error(`maps: '${name}' is not a usable file name`);

  const folder = scanDir(dataDir, input.scanId);
  const tmp = join(folder, `${MAPS_DIR}.tmp`);
  const final = join(folder, MAPS_DIR);
  // Never recreates the scan folder: one that is gone was deleted (scan/delete renames it away first) or
  // moved by hand, and maps alone in a new folder would be an orphan no catalogue row describes. Below, every
  // mkdir is non-recursive, so a folder removed after this check makes the save fail (ENOENT) too.
  const st = await stat(folder).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new Error(`the scan folder ${folder} no longer exists (the scan was deleted or moved); nothing written`);
    throw e;
  });
  if (!st.isDirectory()) throw new Error(`the scan folder ${folder} is not a directory (ENOTDIR); nothing written`);
  await rm(tmp, { recursive: true, force: true });
  try {
    await mkdir(tmp);
    const files: string[] = [];
    let bytes = 0;
    const methods: Array<Record<string, unknown>> = [];
    for (const l of layers) {
      await mkdir(join(tmp, l.method));
      const own: string[] = [];
      for (const [i, element] of l.elements.entries()) {
        const file = `${l.method}/${element}.npy`;
        bytes += await writeNpyFileAsync(join(tmp, file), l.data[i]!, [H, W]);
        own.push(file);
      }
      files.push(...own.map((f) => `${MAPS_DIR}/${f}`));
      methods.push({ method: l.method, ...(MEANING[l.method] ?? { unit: null, meaning: null }), elements: l.elements, files: own, ...l.extra });
    }
    const index = {
      format: 'gemxrf-scan-maps',
      version: 1,
      scan: input.scanId,
      width: W,
      height: H,
      layout: 'one .npy per method and element: float32 little-endian, shape (height, width), C order; pixel (x, y) at [y, x]',
      events: input.events,
      methods,
      missing: [...(input.missing ?? [])],
      createdAt: new Date().toISOString(),
    };
    const text = JSON.stringify(index, null, 2) + '\n';
    await writeFile(join(tmp, MAPS_INDEX), text);
    bytes += Buffer.byteLength(text);
    files.push(`${MAPS_DIR}/${MAPS_INDEX}`);
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
    return { dir: MAPS_DIR, methods: layers.map((l) => l.method), files, bytes };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}

/** "maps not saved: <why>" added to a stopped scan's record `error` (its status stays); never throws. */
export function noteMapsError(db: ScanDb, scanId: string, message: string, log: Logger): void {
  try {
    const rec = db.getScan(scanId);
    // Still 'acquiring' (the stop could not write the row): the next start's recovery settles it.
    if (!rec || rec.status === 'acquiring' || rec.stoppedAt === null) return;
    const note = `maps not saved: ${message}`;
    db.finishScan(scanId, { status: rec.status, stopReason: rec.stopReason, stoppedAt: rec.stoppedAt, totals: rec.totals, error: rec.error ? `${rec.error}; ${note}` : note });
  } catch (e) {
    log.error('cannot record the maps failure in the database', { scan: scanId, error: (e as Error).message });
  }
}

export interface MapSaverOptions {
  enabled: boolean;
  dataDir: string;
  db: ScanDb;
  log: Logger;
  /** Publishes an operator event (BASE/event). */
  event(ev: Record<string, unknown>): void;
  roiBackground?: string;
}

/** Saves each stopped scan's final maps into its folder, one save at a time per scan, off the stop's path. */
export class MapSaver {
  private readonly pending = new Set<Promise<void>>();
  /** Set when the shutdown stopped waiting: a save whose maps come later writes nothing. */
  private abandoned = false;
  saved = 0;
  failed = 0;

  constructor(private readonly opts: MapSaverOptions) {}

  /** Saves the maps `final()` resolves to (after the scan's final publication); null: nothing to save. Call it
   *  when the scan stops, with a `final` that waits for whatever comes first (the model's final pass): the save
   *  is pending from then on, so settled() (the shutdown) waits for it. Never rejects (resolves when the save
   *  ended, at once when disabled); the outcome is logged and published as a `maps-saved` or `maps-error` event. */
  save(scanId: string, final: () => Promise<SaveMapsInput | null>): Promise<void> {
    if (!this.opts.enabled) return Promise.resolve();
    const job = this.run(scanId, final).finally(() => this.pending.delete(job));
    this.pending.add(job);
    return job;
  }

  /** Saves in progress or waiting for their maps. */
  get inProgress(): number {
    return this.pending.size;
  }

  /** The shutdown gave up waiting (settled() false): saves still pending write nothing once their maps come
   *  (the database is closing; the scan folder keeps its recording and checkpoint, and the next start's
   *  missing-maps pass, scan/missing-maps.ts, makes its roi/fit maps). */
  abandon(): void {
    this.abandoned = true;
  }

  private async run(scanId: string, final: () => Promise<SaveMapsInput | null>): Promise<void> {
    const { log } = this.opts;
    try {
      const maps = await final();
      if (this.abandoned) {
        log.warn('scan maps not saved: the daemon shut down first', { scan: scanId });
        return;
      }
      // null: the scan never had a final map cycle (the next scan started before it ran) or another scan's
      // replaced it before this save: its maps are lost to the folder, a failure like any other.
      if (!maps) throw new Error("the scan's final maps were not kept (another scan's maps replaced them first); `gemxrf scan export` makes them from its recording");
      if (maps.classical.length === 0 && !maps.model) {
        log.info('no final maps to save for this scan', { scan: scanId });
        return;
      }
      const r = await writeScanMaps(this.opts.dataDir, { roiBackground: this.opts.roiBackground, ...maps });
      this.saved++;
      log.info('scan maps saved', { scan: scanId, dir: r.dir, methods: r.methods.join(','), files: r.files.length, bytes: r.bytes });
      this.opts.event({ type: 'maps-saved', scan: scanId, dir: r.dir, methods: r.methods, files: r.files.length, bytes: r.bytes });
    } catch (e) {
      const error = (e as Error).message;
      this.failed++;
      if (this.abandoned) {
        log.error('cannot save the scan maps (the daemon shut down meanwhile)', { scan: scanId, error });
        return;
      }
      log.error('cannot save the scan maps (the scan, its recording and checkpoint are kept)', { scan: scanId, error });
      noteMapsError(this.opts.db, scanId, error, log);
      this.opts.event({ type: 'maps-error', scan: scanId, error });
    }
  }

  /** Waits for the saves in progress (daemon shutdown), at most timeoutMs; false when some did not end. */
  async settled(timeoutMs = 30_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    try {
      while (this.pending.size) {
        const done = await Promise.race([Promise.all([...this.pending]).then(() => true as const), deadline]);
        if (!done) return false;
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }
}
