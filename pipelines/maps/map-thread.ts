// Main-thread side of a classical-map worker (map-worker.ts): one worker_thread per cube and method (roi or fit),
// attached to the cube's SharedArrayBuffers. compute() asks for the whole cube's maps and resolves with them
// (the buffer is transferred); the main thread's event loop stays free meanwhile. One computation at a time:
// compute() refuses while one is running, so callers decide what a busy thread means (the live publisher skips
// that tick) instead of a queue growing behind a slow fit.
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
import type { MapSet } from './types.js';

export interface MapThreadOptions {
  cube: Cube;
  method: ClassicalMethod;
  elements: readonly string[];
  detector?: DetectorParams;
  /** fit only (default 'shared', as LinearFitter.fitCube). */
  background?: 'shared' | 'free';
  /** Called once if the worker dies (an uncaught error, out of memory, killed); not after stop(). */
  onFailure?: (message: string) => void;
  /** The worker module, default map-worker (tests substitute one that fails); a .ts module runs through tsx. */
  module?: URL;
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
  ) {
    this.threadId = threadId;
    worker.on('message', (m: FromMapWorker) => this.onMessage(m));
    worker.on('error', (err) => this.fail(`${method} worker crashed: ${err.message}`));
    worker.on('exit', (code) => this.fail(`${method} worker exited (code ${code})`));
  }

  /** Starts the worker and waits until its plan or fitter is built; rejects with the reason if it cannot be. */
  static async start(opts: MapThreadOptions): Promise<MapThread> {
    const { cube, method } = opts;
    const init: MapWorkerInit = {
      cube: cube.shared(),
      method,
      elements: [...opts.elements],
      detector: { ...(opts.detector ?? DEFAULT_DETECTOR) },
      background: opts.background ?? 'shared',
    };
    const entry = workerEntry(opts.module);
    const worker = new Worker(entry.url, { workerData: { ...init, entry: entry.entry } });
    const first = await new Promise<FromMapWorker>((resolve) => {
      const done = (m: FromMapWorker) => {
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
      await worker.terminate();
      throw new Error(`${method} worker: ${first.type === 'failed' ? first.message : 'unexpected first message'}`);
    }
    return new MapThread(worker, method, cube, first.threadId, opts.onFailure);
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
   *  stop() (MapThreadStopped), once the worker died, or with the computation's error. */
  compute(): Promise<MapThreadResult> {
    if (this.stopping) return Promise.reject(new MapThreadStopped(`${this.method} thread is stopped`));
    if (!this.alive) return Promise.reject(new Error(this.lastError ?? `${this.method} worker is gone`));
    if (this.pending) return Promise.reject(new Error(`${this.method} computation already running (requests are never queued)`));
    const id = this.nextId++;
    const events = this.cube.totalEvents;
    const generation = this.cube.meta[META.generation]!;
    return new Promise<MapThreadResult>((resolve, reject) => {
      this.pending = { id, events, generation, resolve, reject };
      const m: ToMapWorker = { type: 'compute', id };
      this.worker.postMessage(m);
    });
  }

  /** Ends the worker at once (a computation in flight is abandoned: its promise rejects with MapThreadStopped). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.settle(null, new MapThreadStopped(`${this.method} thread stopped`));
      await this.worker.terminate();
      this.alive = false;
    })();
    return this.stopping;
  }

  private settle(result: MapThreadResult | null, error: Error | null): void {
    const p = this.pending;
    this.pending = null;
    if (!p) return;
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
    void this.worker.terminate();
    this.onFailure?.(message);
  }
}
