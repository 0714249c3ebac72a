// Main-thread side of incremental inference. Starts the worker, owns the shared map buffers, and exposes
// maps (live views, no copies), stats and the final pass. Nothing here waits on the model synchronously: all
// model work is in the worker, and the main thread only exchanges a few small messages per cycle.
//
//   const engine = await InferenceEngine.start({ cube, model: 'lt-vit', modelsDir: 'models', threads: 1 });
//   engine.maps().model            // MapSet of net counts per element (method 'model'), live
//   engine.stats()                 // plain object for live/stats
//   await engine.finalPass()       // when the scan ends: every pixel at full resolution
//   await engine.stop()
//
// Deadlines (timeoutMs, inference.workerTimeoutSeconds, default 60 s): the graph load, and every model run
// (one batch of a cycle or of the final pass), must show progress within timeoutMs. A worker that does not
// (a graph that never returns) is given up and handled like a crashed worker: the pending requests reject,
// stats().lastError says it timed out, the maps keep what was written. A worker caught in JavaScript is
// terminated; one stuck inside onnxruntime cannot be (terminating it there does not stop the native call,
// and onnxruntime-node aborts the process when that call returns into a terminated worker): it is left to end
// itself when the call returns (native-gate.ts), unreferenced, and counted by stuckInferenceWorkers() until
// then. A process that must exit while one is stuck cannot exit normally (Node joins every worker thread at
// exit): `gemxrf daemon` exits hard then.
import { existsSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BEAT, BUSY, createControl, takeWorker } from './native-gate.js';
import type { Cube } from '../cube/cube.js';
import type { MapSet } from '../maps/types.js';
import { shippedModelsDir } from '../../config/package-paths.js';
import { ModelCardError, readModelCard, type ModelCard } from './model-card.js';
import { resolveModelPaths } from './onnx-model.js';
import type { CycleReport, FromWorker, ProbeInit, ToWorker, Tuning, WorkerInit } from './protocol.js';
import { SharedMaps } from './shared-maps.js';

export type { CycleReport, Tuning } from './protocol.js';

export interface InferenceEngineOptions {
  cube: Cube;
  /** Model name in modelsDir (NAME.onnx + NAME.json) or a path to the .onnx (default 'lt-vit'). */
  model?: string;
  modelsDir?: string;
  /** onnxruntime intra-op threads (default 1: leaves a core for acquisition). */
  threads?: number;
  relativeThreshold?: number;
  absoluteThreshold?: number;
  cycleBudgetMs?: number;
  /** Counts a spectrum (pixel or summed block) needs to be inferred at that size (default 100). */
  minCounts?: number;
  /** Progressive-refinement block sizes, coarsest first, ending in 1 (default [4, 2, 1]). */
  blockSizes?: number[];
  /** Spectra per model run (default 512). */
  batchSize?: number;
  /** Pause after a cycle that found nothing due (ms, default 100). */
  idleMs?: number;
  /** Cycle continuously on its own (default true); false: only cycle()/finalPass() run the model. */
  auto?: boolean;
  /** Called on the main thread after every cycle (auto or requested). */
  onReport?: (report: CycleReport) => void;
  /** Deadline (ms) of the graph load and of each model run (a batch): a worker that shows no progress for this
   *  long is given up like a crashed one (default DEFAULT_INFERENCE_TIMEOUT_MS). stop() is bounded by it too. */
  timeoutMs?: number;
  /** Called once when the worker dies or is given up at the deadline (not after stop() unless it timed out). */
  onFailure?: (message: string) => void;
}

/** Default deadline of a graph load and of one model run: far above the slowest expected (a 512-spectrum batch
 *  of the shipped models takes well under a second; loading one, a few hundred ms). */
export const DEFAULT_INFERENCE_TIMEOUT_MS = 60_000;
/** The least deadline for the worker's own start-up before the graph load (its modules, through tsx when run
 *  from sources, take a few seconds on a busy machine); a short timeoutMs does not shorten it. */
export const MIN_WORKER_START_MS = 10_000;

/** The graph load or a model run ran past the deadline (the worker was given up). */
export class InferenceTimeoutError extends Error {
  override name = 'InferenceTimeoutError';
}

/** "0.3 s", "60 s": a deadline as messages say it. */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toPrecision(3))} s`;
}

/** Workers given up inside an onnxruntime call that has not returned yet (each ends itself when it does). */
const stuck = new Map<Worker, Promise<void>>();

/** How many inference workers were given up inside an onnxruntime call that is still running (each holds a
 *  CPU core until the call returns; while any is left, the process cannot exit normally). */
export function stuckInferenceWorkers(): number {
  return stuck.size;
}

/** Resolves when every stuck inference worker has ended (tests: before the process exits). */
export async function stuckInferenceWorkersEnded(): Promise<void> {
  while (stuck.size) await Promise.all(stuck.values());
}

/** Ends a worker without ever terminating it inside onnxruntime: terminated (waited for at most boundMs) when it
 *  runs JavaScript, else left to end itself when its native call returns (and unreferenced meanwhile). */
async function endWorker(worker: Worker, control: Int32Array, boundMs: number): Promise<void> {
  const how = takeWorker(control);
  if (how === 'terminate') {
    await boundedTerminate(worker, boundMs);
  } else if (how === 'abandoned' && !stuck.has(worker)) {
    worker.unref();
    stuck.set(worker, new Promise<void>((resolve) => worker.once('exit', () => resolve())).then(() => void stuck.delete(worker)));
  }
}

/** worker.terminate(), waited for at most ms (never rejects); a worker that does not end is unreferenced. */
async function boundedTerminate(worker: Worker, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    worker.terminate().then(() => true, () => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  if (!ended) worker.unref();
}

/** Starts a worker and waits for its graph load: its first answer ('ready' or 'failed'), or a timeout failure
 *  when the worker does not reach the load within max(timeoutMs, MIN_WORKER_START_MS) or the load does not end
 *  within timeoutMs. On anything but 'ready' the worker is ended. */
async function launch(data: WorkerInit | ProbeInit, control: Int32Array, timeoutMs: number): Promise<{ worker: Worker; first: FromWorker }> {
  if (!(timeoutMs > 0)) throw new RangeError(`inference timeoutMs must be > 0 (got ${timeoutMs})`);
  const entry = workerEntry();
  const worker = new Worker(entry.url, { workerData: { ...data, entry: entry.entry } });
  const first = await new Promise<FromWorker>((resolve) => {
    const timeout = (message: string) => done({ type: 'failed', name: 'InferenceTimeoutError', message });
    const startMs = Math.max(timeoutMs, MIN_WORKER_START_MS);
    let timer = setTimeout(() => timeout(`the inference worker did not start within ${seconds(startMs)} (timed out)`), startMs);
    const done = (m: FromWorker) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      resolve(m);
    };
    const onMessage = (m: FromWorker) => {
      if (m.type === 'loading') {
        clearTimeout(timer);
        timer = setTimeout(() => timeout(`the graph did not load within ${seconds(timeoutMs)} (timed out, inference.workerTimeoutSeconds; the worker was given up)`), timeoutMs);
      } else if (m.type === 'ready' || m.type === 'failed') done(m);
    };
    const onError = (err: Error) => done({ type: 'failed', name: err.name, message: err.message });
    const onExit = (code: number) => done({ type: 'failed', name: 'Error', message: `the inference worker exited (code ${code}) before the model was loaded` });
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
  if (first.type !== 'ready') await endWorker(worker, control, timeoutMs);
  return { worker, first };
}

function loadError(first: FromWorker, onnx: string): Error {
  if (first.type !== 'failed') return new Error(`inference: cannot load ${onnx}: unexpected first message '${first.type}'`);
  if (first.name === 'ModelCardError') return new ModelCardError(first.message);
  if (first.name === 'InferenceTimeoutError') return new InferenceTimeoutError(`inference: cannot load ${onnx}: ${first.message}`);
  return new Error(`inference: cannot load ${onnx}: ${first.message}`);
}

/** Loads a model's graph in a worker (checked against its card), releases it and ends the worker: model/select's
 *  check, off the event loop and under the deadline. Rejects with ModelCardError, InferenceTimeoutError (the load
 *  did not end within timeoutMs; the worker was given up) or the load's error. */
export async function probeModel(nameOrPath: string, opts: { modelsDir?: string; threads?: number; timeoutMs?: number } = {}): Promise<ModelCard> {
  const paths = resolveModelPaths(nameOrPath, opts.modelsDir ?? shippedModelsDir());
  const card = readModelCard(paths.card);
  const control = createControl();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_INFERENCE_TIMEOUT_MS;
  const { worker, first } = await launch({ modelPath: paths.onnx, threads: opts.threads ?? 1, control: control.buffer as SharedArrayBuffer, probe: true }, control, timeoutMs);
  if (first.type !== 'ready') throw loadError(first, paths.onnx);
  await endWorker(worker, control, timeoutMs);
  return card;
}

/** The model maps: all three share the card's element list; data are live views of the shared buffers. */
export interface ModelMaps {
  /** Net counts per element: fraction x the pixel's total counts. */
  model: MapSet;
  presence: MapSet;
  fractions: MapSet;
  /** height x width: block size each pixel was last inferred at (0: never, 1: full resolution). */
  levels: Uint8Array;
}

export interface InferenceStats {
  model: string;
  modelVersion: string;
  architecture: string;
  elements: string[];
  threads: number;
  auto: boolean;
  running: boolean;
  cycles: number;
  /** Cumulative pixels whose maps were written, and spectra run through the model. */
  pixelsInferred: number;
  spectraInferred: number;
  /** Throughput of the last cycle that did work (pixels written / its wall time). */
  pixelsPerSecond: number;
  spectraPerSecond: number;
  /** Pixels (and units) due but left for later cycles by the time budget, as of the last cycle. */
  backlogPixels: number;
  backlogUnits: number;
  /** Wall time of the last cycle, and its share inside session.run (ms). */
  cycleMs: number;
  modelMs: number;
  /** Coarsest block size inferred in the last cycle that did work (1 = full resolution). */
  coarseLevel: number;
  /** Pixels per block size now ('0': never inferred). */
  levelPixels: Record<string, number>;
  /** Main-thread event-loop delay since the previous stats() call (ms). */
  eventLoopDelayMs: { mean: number; p99: number; max: number };
  /** Time from start() to the first cycle that wrote maps (ms), null before. */
  firstMapMs: number | null;
  lastError: string | null;
  /** Deadlines this engine hit (graph load or model run; the worker was given up): 0 or 1. */
  timeouts: number;
}

function workerEntry(): { url: URL; entry: string | undefined } {
  // Compiled (dist/): worker.js sits next to this module. From source: a .mjs shim imports worker.ts through
  // tsx (Node 20 ignores `--import tsx` in a worker's execArgv for the entry module).
  const js = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { url: js, entry: undefined };
  return { url: new URL('./worker-from-source.mjs', import.meta.url), entry: new URL('./worker.ts', import.meta.url).href };
}

const ms = (ns: number): number => (Number.isFinite(ns) ? ns / 1e6 : 0);

export class InferenceEngine {
  private readonly pending = new Map<number, { resolve: (r: CycleReport) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private last: CycleReport | null = null;
  private lastBusy: CycleReport | null = null;
  private cycles = 0;
  private pixelsInferred = 0;
  private spectraInferred = 0;
  private firstMapMs: number | null = null;
  private lastError: string | null = null;
  private running = true;
  private autoOn: boolean;
  private stopping: Promise<void> | null = null;
  private timeouts = 0;
  private readonly timeoutMs: number;
  private readonly watchdog: NodeJS.Timeout;
  /** Resolves when the worker is given up or dies (stop() waits for it or for the worker's 'stopped'). */
  private readonly ended: Promise<void>;
  private endedNow!: () => void;
  private readonly delay: IntervalHistogram;
  private readonly started = performance.now();
  private readonly mapViews: ModelMaps;

  private constructor(
    private readonly worker: Worker,
    private readonly control: Int32Array,
    readonly card: ModelCard,
    readonly modelPath: string,
    private readonly shared: SharedMaps,
    private readonly opts: InferenceEngineOptions,
  ) {
    this.autoOn = opts.auto ?? true;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_INFERENCE_TIMEOUT_MS;
    this.ended = new Promise<void>((resolve) => (this.endedNow = resolve));
    this.delay = monitorEventLoopDelay({ resolution: 10 });
    this.delay.enable();
    const { width, height, elements } = shared;
    const set = (data: Float32Array): MapSet => ({ method: 'model', elements: [...elements], width, height, data });
    this.mapViews = { model: set(shared.netCounts), presence: set(shared.presence), fractions: set(shared.fractions), levels: shared.levels };
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (err) => this.fail(err.message));
    worker.on('exit', () => this.fail('inference worker exited'));
    this.watchdog = this.watch();
  }

  /** The deadline: the worker has work in hand (BUSY) and its heartbeat has not moved for timeoutMs. Checked a
   *  few times per deadline, so a hang is noticed between 1 and 1.25 deadlines after the last heartbeat. */
  private watch(): NodeJS.Timeout {
    const c = this.control;
    let beat = Atomics.load(c, BEAT);
    let since = performance.now();
    const timer = setInterval(() => {
      const b = Atomics.load(c, BEAT);
      if (b !== beat || Atomics.load(c, BUSY) === 0) {
        beat = b;
        since = performance.now();
      } else if (performance.now() - since >= this.timeoutMs) {
        this.timedOut();
      }
    }, Math.max(10, Math.min(1000, this.timeoutMs / 4)));
    timer.unref();
    return timer;
  }

  private timedOut(): void {
    clearInterval(this.watchdog);
    if (!this.running) return;
    this.timeouts++;
    const message = `model run timed out after ${seconds(this.timeoutMs)} (inference.workerTimeoutSeconds); the worker was given up`;
    this.fail(message, true);
    void endWorker(this.worker, this.control, this.timeoutMs);
  }

  /** Loads the model in a new worker; rejects with ModelCardError when the card and the graph disagree. */
  static async start(opts: InferenceEngineOptions): Promise<InferenceEngine> {
    const paths = resolveModelPaths(opts.model ?? 'lt-vit', opts.modelsDir ?? shippedModelsDir());
    // The card is read here too: the element list sizes the shared maps before the worker starts.
    const card = readModelCard(paths.card);
    const { cube } = opts;
    const shared = SharedMaps.allocate(cube.width, cube.height, card.elements);
    const control = createControl();
    const timeoutMs = opts.timeoutMs ?? DEFAULT_INFERENCE_TIMEOUT_MS;
    const init: WorkerInit = {
      control: control.buffer as SharedArrayBuffer,
      cube: cube.shared(),
      maps: shared.buffers,
      modelPath: paths.onnx,
      threads: opts.threads ?? 1,
      tuning: {
        relativeThreshold: opts.relativeThreshold ?? 0.25,
        absoluteThreshold: opts.absoluteThreshold ?? 50,
        cycleBudgetMs: opts.cycleBudgetMs ?? 250,
      },
      minCounts: opts.minCounts ?? 100,
      blockSizes: opts.blockSizes ?? [4, 2, 1],
      batchSize: opts.batchSize ?? 512,
      idleMs: opts.idleMs ?? 100,
      auto: opts.auto ?? true,
    };
    const { worker, first } = await launch(init, control, timeoutMs);
    if (first.type !== 'ready') throw loadError(first, paths.onnx);
    return new InferenceEngine(worker, control, card, paths.onnx, shared, opts);
  }

  get elements(): string[] {
    return this.shared.elements;
  }

  /** Live views of the shared maps (no copy; the worker keeps updating them). */
  maps(): ModelMaps {
    return this.mapViews;
  }

  /** Runs one cycle now (queued behind any cycle in flight). */
  cycle(): Promise<CycleReport> {
    return this.request('cycle');
  }

  /** Infers every pixel at full resolution with no time budget (when a scan ends). */
  async finalPass(): Promise<CycleReport> {
    return this.request('final');
  }

  /** Turns continuous cycling on or off (e.g. off between scans). */
  setAuto(on: boolean): void {
    this.autoOn = on;
    this.post({ type: 'auto', on });
  }

  /** Changes thresholds or the cycle budget from the next cycle on. */
  tune(tuning: Partial<Tuning>): void {
    this.post({ type: 'tune', tuning });
  }

  stats(): InferenceStats {
    const d = this.delay;
    const eventLoopDelayMs = { mean: ms(d.mean), p99: ms(d.percentile(99)), max: ms(d.max) };
    d.reset();
    const busy = this.lastBusy;
    const last = this.last;
    return {
      model: this.card.name,
      modelVersion: this.card.version,
      architecture: this.card.architecture,
      elements: [...this.shared.elements],
      threads: this.opts.threads ?? 1,
      auto: this.autoOn,
      running: this.running,
      cycles: this.cycles,
      pixelsInferred: this.pixelsInferred,
      spectraInferred: this.spectraInferred,
      pixelsPerSecond: busy && busy.ms > 0 ? (busy.pixels / busy.ms) * 1000 : 0,
      spectraPerSecond: busy && busy.ms > 0 ? (busy.spectra / busy.ms) * 1000 : 0,
      backlogPixels: last?.backlogPixels ?? 0,
      backlogUnits: last?.backlogUnits ?? 0,
      cycleMs: last?.ms ?? 0,
      modelMs: last?.modelMs ?? 0,
      coarseLevel: busy?.coarsestLevel ?? 0,
      levelPixels: last?.levelPixels ?? { '0': this.shared.width * this.shared.height },
      eventLoopDelayMs,
      firstMapMs: this.firstMapMs,
      lastError: this.lastError,
      timeouts: this.timeouts,
    };
  }

  /** Stops the worker after the work in flight; the maps stay readable. Bounded: work that stops making
   *  progress is given up at the deadline (timeoutMs), and stop() resolves then. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.running) {
        // The worker is already gone (it crashed or was given up): only the monitors are left to release.
        clearInterval(this.watchdog);
        this.delay.disable();
        return;
      }
      const stopped = new Promise<void>((resolve) => {
        const onMsg = (m: FromWorker) => {
          if (m.type === 'stopped') resolve();
        };
        this.worker.on('message', onMsg);
        this.worker.once('exit', () => resolve());
        void this.ended.then(resolve);
      });
      this.post({ type: 'stop' });
      await stopped;
      this.running = false;
      clearInterval(this.watchdog);
      await endWorker(this.worker, this.control, this.timeoutMs);
      this.delay.disable();
    })();
    return this.stopping;
  }

  private request(type: 'cycle' | 'final'): Promise<CycleReport> {
    if (!this.running || this.stopping) return Promise.reject(new Error(this.lastError ? `inference engine is stopped (${this.lastError})` : 'inference engine is stopped'));
    const id = this.nextId++;
    return new Promise<CycleReport>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post({ type, id });
    });
  }

  private post(m: ToWorker): void {
    if (this.running) this.worker.postMessage(m);
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'report') {
      this.record(m.report);
      if (m.id !== null) {
        this.pending.get(m.id)?.resolve(m.report);
        this.pending.delete(m.id);
      }
    } else if (m.type === 'error') {
      this.lastError = m.message;
      if (m.id !== null) {
        this.pending.get(m.id)?.reject(new Error(`inference: ${m.message}`));
        this.pending.delete(m.id);
      }
    }
  }

  private record(r: CycleReport): void {
    this.cycles++;
    this.last = r;
    this.pixelsInferred += r.pixels;
    this.spectraInferred += r.spectra;
    if (r.spectra > 0) {
      this.lastBusy = r;
      this.firstMapMs ??= performance.now() - this.started;
    }
    this.opts.onReport?.(r);
  }

  /** The worker died or was given up: pending requests reject; reported (lastError, onFailure) unless the engine
   *  was already stopped or stopping (a timeout is reported even while stopping). */
  private fail(message: string, report = this.running && !this.stopping): void {
    if (report) this.lastError = message;
    this.running = false;
    clearInterval(this.watchdog);
    this.endedNow();
    for (const p of this.pending.values()) p.reject(new Error(`inference: ${message}`));
    this.pending.clear();
    if (report) this.opts.onFailure?.(message);
  }
}
