// One classical method's live maps (roi or fit) of the scan's cube, computed in a worker_thread (MapThread) so
// that the daemon's event loop stays free: a 256 x 256 fit takes ~2 s, roi ~0.1 s, both far over what the
// event loop may be held for.
//   - Per scan: the worker starts at the scan's first map cycle, attached to that scan's cube (roi plan or
//     fitter built once), and ends after the scan's final maps (release); another cube gets another worker.
//   - Never queued: request() returns null while the previous computation runs, and the publisher skips the
//     method for that tick (its last maps stay published and listed).
//   - complete() gives maps of every event of the stopped cube: it waits for the computation in flight and
//     computes once more unless that one already covered every event.
//   - A worker that dies or fails a computation is logged once; the method has no maps for the rest of that scan
//     (stats().lastError says why); the next scan starts a fresh worker.
//   - A worker that hangs without dying is bounded by timeoutMs (maps.workerTimeoutSeconds): a computation (or
//     a start-up, at least 10 s) running longer is terminated and handled as a worker that died (above), so complete(), the
//     final cycle and release() go on.
import type { Cube } from '../../pipelines/cube/cube.js';
import { META } from '../../pipelines/cube/cube.js';
import type { ClassicalMethod } from '../../pipelines/maps/build.js';
import { MapThread, MapThreadStopped } from '../../pipelines/maps/map-thread.js';
import type { MapSet } from '../../pipelines/maps/types.js';
import type { Logger } from '../log.js';
import type { RoiBackgroundOptions } from '../../pipelines/maps/roi.js';

export interface ScanMaps {
  method: ClassicalMethod;
  scanId: string;
  /** Increases with every result of this runner: the publisher tells a result it already published. */
  id: number;
  maps: MapSet;
  /** The cube's events when the computation was requested (the maps cover at least these). */
  events: number;
  /** Wall time of the computation in the worker (ms). */
  ms: number;
}

/** For live/stats, per method, about the current (or last) scan. */
export interface MapMethodStats {
  /** A worker is held (from the scan's first map cycle to its final maps). */
  running: boolean;
  /** A computation is in flight now. */
  busy: boolean;
  /** Computations finished, and ticks skipped because the previous one was still running. */
  computed: number;
  skipped: number;
  /** The last result's wall time in the worker (ms) and the cube's events it covers. */
  lastMs: number | null;
  events: number | null;
  /** Why the method has no maps for this scan (the worker failed), else null. */
  lastError: string | null;
}

export interface ScanMapRunnerOptions {
  /** The worker module (tests substitute a failing or hanging one); default pipelines/maps/map-worker. */
  module?: URL;
  /** Deadline of one computation (ms; the start-up's: at least 10 s); default DEFAULT_MAP_TIMEOUT_MS (60 s). */
  timeoutMs?: number;
  /** roi: the continuum under the windows (maps.roi; default snip). */
  roi?: RoiBackgroundOptions;
}

export class ScanMapRunner {
  private scanId: string | null = null;
  private cube: Cube | null = null;
  private thread: Promise<MapThread> | null = null;
  private inFlight: Promise<ScanMaps | null> | null = null;
  private last: ScanMaps | null = null;
  private lastGeneration = 0;
  private failure: string | null = null;
  private nextId = 1;
  private computed = 0;
  private skipped = 0;

  constructor(
    readonly method: ClassicalMethod,
    private readonly elements: readonly string[],
    private readonly log: Logger,
    private readonly opts: ScanMapRunnerOptions = {},
  ) {}

  /** Starts a computation of the cube now; null while the previous one runs (skip this tick) or when the
   *  method failed for this scan. The promise never rejects: null when the computation failed or was dropped. */
  request(cube: Cube, scanId: string): Promise<ScanMaps | null> | null {
    this.bind(cube, scanId);
    if (this.failure) return null;
    if (this.inFlight) {
      this.skipped++;
      return null;
    }
    return this.run();
  }

  /** Maps that cover every event of the cube (call once it stopped growing): the last result when it already
   *  does, else a new computation after the one in flight. null when the method failed for this scan. */
  async complete(cube: Cube, scanId: string): Promise<ScanMaps | null> {
    this.bind(cube, scanId);
    while (this.inFlight) await this.inFlight;
    if (this.failure) return null;
    if (this.covers(cube)) return this.last;
    return this.run();
  }

  /** The method failed for this scan (no maps until the next scan). */
  failed(scanId: string): boolean {
    return this.scanId === scanId && this.failure !== null;
  }

  /** Ends the worker of the scan (all of them without scanId); the last result stays for complete(). */
  async release(scanId?: string): Promise<void> {
    if (scanId !== undefined && scanId !== this.scanId) return;
    const t = this.thread;
    this.thread = null;
    if (t) await t.then((th) => th.stop(), () => undefined);
  }

  stats(): MapMethodStats {
    return {
      running: this.thread !== null,
      busy: this.inFlight !== null,
      computed: this.computed,
      skipped: this.skipped,
      lastMs: this.last?.ms ?? null,
      events: this.last?.events ?? null,
      lastError: this.failure,
    };
  }

  /** A new scan (or cube): the previous worker ends, its results and failure are forgotten. */
  private bind(cube: Cube, scanId: string): void {
    if (this.cube === cube && this.scanId === scanId) return;
    void this.release();
    this.cube = cube;
    this.scanId = scanId;
    this.inFlight = null;
    this.last = null;
    this.failure = null;
    this.computed = this.skipped = 0;
  }

  private covers(cube: Cube): boolean {
    return this.last !== null && this.last.events === cube.totalEvents && this.lastGeneration === cube.meta[META.generation];
  }

  private run(): Promise<ScanMaps | null> {
    const job: Promise<ScanMaps | null> = this.compute(this.cube!, this.scanId!).finally(() => {
      if (this.inFlight === job) this.inFlight = null;
    });
    this.inFlight = job;
    return job;
  }

  private async compute(cube: Cube, scanId: string): Promise<ScanMaps | null> {
    try {
      this.thread ??= MapThread.start({ cube, method: this.method, elements: this.elements, module: this.opts.module, timeoutMs: this.opts.timeoutMs, roi: this.opts.roi, onFailure: (m) => this.fail(scanId, m) });
      const r = await (await this.thread).compute();
      if (this.scanId !== scanId) return null; // a new scan began meanwhile
      const result: ScanMaps = { method: this.method, scanId, id: this.nextId++, maps: r.maps, events: r.events, ms: r.ms };
      this.last = result;
      this.lastGeneration = r.generation;
      this.computed++;
      return result;
    } catch (e) {
      // Stopped on purpose (scan end, shutdown, a new scan): not a failure.
      if (!(e instanceof MapThreadStopped)) this.fail(scanId, (e as Error).message);
      return null;
    }
  }

  private fail(scanId: string, message: string): void {
    if (this.scanId !== scanId || this.failure) return;
    this.failure = message;
    this.log.error(`${this.method} maps failed; none for the rest of this scan`, { scan: scanId, method: this.method, error: message });
    void this.release(scanId);
  }
}
