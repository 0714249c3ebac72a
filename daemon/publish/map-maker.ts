// Elemental maps of the live cube on a cadence: roi and fit (the classical methods), one ScanMapRunner each,
// every computation in a worker_thread (scan-map-runner.ts): the main thread only starts them and publishes
// the maps they transfer back. Measured on a 256 x 256 x 256 cube (2 shared cores): fit ~2 s, roi 55-120 ms
// (3-10 elements), both too long for the event loop.
// 'model' maps come from the scan's inference engine (daemon/inference/scan-inference.ts), not from here.
import type { ClassicalMethod } from '../../pipelines/maps/build.js';
import type { Logger } from '../log.js';
import { ScanMapRunner, type MapMethodStats } from './scan-map-runner.js';
import type { RoiBackgroundOptions } from '../../pipelines/maps/roi.js';

export type LiveMethod = ClassicalMethod;

export interface MapMakerOptions {
  /** Worker modules per method (tests substitute failing ones); default pipelines/maps/map-worker. */
  workerModules?: Partial<Record<LiveMethod, URL>>;
  /** Deadline of one map computation (ms; maps.workerTimeoutSeconds; a worker's start-up: at least 10 s): a
   *  worker still busy then is terminated and its method has no maps for the rest of the scan. Default 60 s. */
  workerTimeoutMs?: number;
  /** roi: the continuum under the windows (maps.roi; default snip). */
  roi?: RoiBackgroundOptions;
}

export class MapMaker {
  readonly methods: LiveMethod[];
  /** One runner per configured classical method, in maps.methods order. */
  readonly runners: ScanMapRunner[];

  constructor(methods: readonly string[], elements: readonly string[], log: Logger, opts: MapMakerOptions = {}) {
    this.methods = methods.filter((m): m is LiveMethod => m === 'roi' || m === 'fit');
    this.runners = this.methods.map((m) => new ScanMapRunner(m, elements, log, { module: opts.workerModules?.[m], timeoutMs: opts.workerTimeoutMs, roi: opts.roi }));
  }

  /** live/stats `maps`: per method, its worker's figures for the current (or last) scan; null without roi/fit. */
  stats(): Record<string, MapMethodStats> | null {
    if (this.runners.length === 0) return null;
    return Object.fromEntries(this.runners.map((r) => [r.method, r.stats()]));
  }

  /** Ends the scan's workers (after its final maps; every worker without scanId: daemon shutdown). */
  async release(scanId?: string): Promise<void> {
    await Promise.all(this.runners.map((r) => r.release(scanId)));
  }
}
