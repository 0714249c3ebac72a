// Main-thread side of a classical-map worker (map-worker.ts): one worker_thread per cube and method (roi or fit),
// attached to the cube's SharedArrayBuffers. compute() asks for the whole cube's maps and resolves with them
// (the buffer is transferred); the main thread's event loop stays free meanwhile. One computation at a time:
// compute() refuses while one is running, so callers decide what a busy thread means (the live publisher skips
// that tick) instead of a queue growing behind a slow fit.
// A worker that hangs without dying (an endless loop, a stuck computation) is bounded by deadlines (timeoutMs,
// default 60 s, per computation; startTimeoutMs for the start-up): one running longer is terminated and handled
// as a crash (the request rejects, lastError and onFailure say it timed out and after how long); stop() does
// not wait longer than timeoutMs either.
//
//   const t = await MapThread.start({ cube, method: 'fit', elements: ['Cr', 'Cu', 'Pb'] });
//   const { maps, events } = await t.compute();   // = LinearFitter.fitCube(cube).maps, computed in the worker
//   await t.stop();
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DEFAULT_DETECTOR, type DetectorParams } from '../../physics/index.js';
import { META, type Cube } from '../cube/cube.js';
import type { ClassicalMethod } from './build.js';
import type { FromMapWorker, MapWorkerInit, ToMapWorker } from './map-thread-protocol.js';
import type { RoiBackgroundOptions } from './roi.js';
import type { MapSet } from './types.js';

export interface MapThreadOptions {
  cube: Cube;
  method: ClassicalMethod;
  elements: readonly string[];
  detector?: DetectorParams;
  /** fit only (default 'shared', as LinearFitter.fitCube). */
  background?: 'shared' | 'free';
  /** roi only: the continuum under the windows (planRoi's background and snip; default: snip, default settings). */
  roi?: RoiBackgroundOptions;
  /** Called once if the worker dies (an uncaught error, out of memory, killed); not after stop(). */
  onFailure?: (message: string) => void;
  /** The worker module, default map-worker (tests substitute one that fails); a .ts module runs through tsx. */
  module?: URL;
  /** Deadline (ms) of each computation: a worker still busy then is terminated and treated as dead (default
   *  DEFAULT_MAP_TIMEOUT_MS). stop() waits at most this long as well. */
  timeoutMs?: number;
  /** Deadline (ms) of the start-up (module loaded, plan or fitter built); default the larger of timeoutMs and
   *  MIN_START_TIMEOUT_MS, since loading the module (through tsx from sources) takes a while on a busy machine. */
  startTimeoutMs?: number;
}

/** The default deadline of a map worker's start-up and of one computation: far above the slowest expected one
 *  (a 256 x 256 x 256 fit takes ~2 s). */
export const DEFAULT_MAP_TIMEOUT_MS = 60_000;
/** The least default start-up deadline (a short computation deadline does not shorten the start-up below it). */
export const MIN_START_TIMEOUT_MS = 10_000;

/** "0.3 s", "60 s": a deadline as lastError says it. */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toPrecision(3))} s`;
}

export interface MapThreadResult {
  maps: MapSet;
  /** The cube's events and generation when the computation was requested: the maps cover at least these
   *  events (the cube may have grown while the worker read it). */
  events: number;
  generation: number;
  /** Wall time of the computation in the worker (ms). */
  ms: number;
}

/** compute() after stop(), or a computation cut short by stop(): not a failure of the worker. */
export class MapThreadStopped extends Error {
  override name = 'MapThreadStopped';
}

// The same start-up as the inference worker (pipelines/inference/engine.ts): compiled builds (dist/) start
// map-worker.js next to this module; from TypeScript sources, Node 20 ignores `--import tsx` for a worker's
// entry, so the inference worker's plain-JS shim imports the .ts module through tsx's API (one shim for both).
const FROM_SOURCE_SHIM = new URL('../inference/worker-from-source.mjs', import.meta.url);

function workerEntry(module: URL | undefined): { url: URL; entry: string | undefined } {
  if (module) return module.pathname.endsWith('.ts') ? { url: FROM_SOURCE_SHIM, entry: module.href } : { url: module, entry: undefined };
  const js = new URL('./map-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { url: js, entry: undefined };
  return { url: FROM_SOURCE_SHIM, entry: new URL('./map-worker.ts', import.meta.url).href };
}

interface Pending {
  id: number;
  events: number;
  generation: number;
  resolve: (r: MapThreadResult) => void;
  reject: (e: Error) => void;
  /** The computation's deadline. */
  timer: NodeJS.Timeout;
}

export class MapThread {
  /** The worker's thread id (not the main thread's 0: the maps are computed elsewhere). */
  readonly threadId: number;
  /** Why the worker died, or the last computation's error; null while all is well. */
  lastError: string | null = null;
  private pending: Pending | null = null;
  private nextId = 1;
  private alive = true;
  private stopping: Promise<void> | null = null;

  private constructor(
    private readonly worker: Worker,
    readonly method: ClassicalMethod,
    private readonly cube: Cube,
    threadId: number,
    private readonly onFailure: ((message: string) => void) | undefined,
    /** Deadline of one computation, and the longest stop() waits for the worker to end (ms). */
    readonly timeoutMs: number,
  ) {
    this.threadId = threadId;
    worker.on('message', (m: FromMapWorker) => this.onMessage(m));
    worker.on('error', (err) => this.fail(`${method} worker crashed: ${err.message}`));
    worker.on('exit', (code) => this.fail(`${method} worker exited (code ${code})`));
  }

  /** Starts the worker and waits until its plan or fitter is built; rejects with the reason if it cannot be. */
  static async start(opts: MapThreadOptions): Promise<MapThread> {
    const { cube, method } = opts;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_MAP_TIMEOUT_MS;
    const startTimeoutMs = opts.startTimeoutMs ?? Math.max(timeoutMs, MIN_START_TIMEOUT_MS);
    if (!(timeoutMs > 0)) throw new RangeError(`MapThread timeoutMs must be > 0 (got ${timeoutMs})`);
    if (!(startTimeoutMs > 0)) throw new RangeError(`MapThread startTimeoutMs must be > 0 (got ${startTimeoutMs})`);
    const init: MapWorkerInit = {
      cube: cube.shared(),
      method,
      elements: [...opts.elements],
      detector: { ...(opts.detector ?? DEFAULT_DETECTOR) },
      background: opts.background ?? 'shared',
      roi: { ...opts.roi, ...(opts.roi?.snip ? { snip: { ...opts.roi.snip } } : {}) },
    };
    const entry = workerEntry(opts.module);
    const worker = new Worker(entry.url, { workerData: { ...init, entry: entry.entry } });
    const first = await new Promise<FromMapWorker>((resolve) => {
      // A worker that never gets ready (stuck building the plan or fitter) fails the start after the deadline.
      const timer = setTimeout(() => done({ type: 'failed', message: `not ready within ${seconds(startTimeoutMs)} (timed out; the worker was terminated)` }), startTimeoutMs);
      const done = (m: FromMapWorker) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve(m);
      };
      const onMessage = (m: FromMapWorker) => {
        if (m.type === 'ready' || m.type === 'failed') done(m);
      };
      const onError = (err: Error) => done({ type: 'failed', message: err.message });
      const onExit = (code: number) => done({ type: 'failed', message: `exited (code ${code}) before it was ready` });
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
    if (first.type !== 'ready') {
      await boundedTerminate(worker, timeoutMs);
      throw new Error(`${method} worker: ${first.type === 'failed' ? first.message : 'unexpected first message'}`);
    }
    return new MapThread(worker, method, cube, first.threadId, opts.onFailure, timeoutMs);
  }

  /** A computation is running. */
  get busy(): boolean {
    return this.pending !== null;
  }

  /** The worker is up and not stopped. */
  get running(): boolean {
    return this.alive && !this.stopping;
  }

  /** The whole cube's maps, computed in the worker. Rejects while a computation runs (never queued), after
   *  stop() (MapThreadStopped), once the worker died, with the computation's error, or when the computation ran
   *  past the deadline (timeoutMs: the worker is terminated and counts as dead, onFailure is called). */
  compute(): Promise<MapThreadResult> {
    if (this.stopping) return Promise.reject(new MapThreadStopped(`${this.method} thread is stopped`));
    if (!this.alive) return Promise.reject(new Error(this.lastError ?? `${this.method} worker is gone`));
    if (this.pending) return Promise.reject(new Error(`${this.method} computation already running (requests are never queued)`));
    const id = this.nextId++;
    const events = this.cube.totalEvents;
    const generation = this.cube.meta[META.generation]!;
    return new Promise<MapThreadResult>((resolve, reject) => {
      // A worker that hangs (endless loop, stuck computation) never answers nor dies: the deadline ends it.
      const timer = setTimeout(() => {
        if (this.pending?.id === id) this.fail(`${this.method} computation timed out after ${seconds(this.timeoutMs)}; the worker was terminated`);
      }, this.timeoutMs);
      this.pending = { id, events, generation, resolve, reject, timer };
      const m: ToMapWorker = { type: 'compute', id };
      this.worker.postMessage(m);
    });
  }

  /** Ends the worker at once (a computation in flight is abandoned: its promise rejects with MapThreadStopped).
   *  Waits for the worker's end at most timeoutMs: a worker that does not end even then is left unreferenced. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.settle(null, new MapThreadStopped(`${this.method} thread stopped`));
      await boundedTerminate(this.worker, this.timeoutMs);
      this.alive = false;
    })();
    return this.stopping;
  }

  private settle(result: MapThreadResult | null, error: Error | null): void {
    const p = this.pending;
    this.pending = null;
    if (!p) return;
    clearTimeout(p.timer);
    if (result) p.resolve(result);
    else p.reject(error ?? new Error(`${this.method} computation lost`));
  }

  private onMessage(m: FromMapWorker): void {
    const p = this.pending;
    if (m.type === 'maps') {
      if (p?.id === m.id) this.settle({ maps: m.maps, events: p.events, generation: p.generation, ms: m.ms }, null);
    } else if (m.type === 'error') {
      this.lastError = `${this.method} computation failed: ${m.message}`;
      if (p?.id === m.id) this.settle(null, new Error(this.lastError));
    }
  }

  private fail(message: string): void {
    if (!this.alive || this.stopping) return;
    this.alive = false;
    this.lastError = message;
    this.settle(null, new Error(message));
    void boundedTerminate(this.worker, this.timeoutMs);
    this.onFailure?.(message);
  }
}

/** worker.terminate(), waited for at most ms (never rejects). Terminating interrupts JavaScript, even an endless
 *  loop; should the thread still not end (stuck in native code), it is unreferenced so the process can exit. */
async function boundedTerminate(worker: Worker, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    worker.terminate().then(() => true, () => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  if (!ended) worker.unref();
}
