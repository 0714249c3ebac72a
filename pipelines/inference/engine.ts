// Main-thread side of incremental inference. Starts the worker, owns the shared map buffers, and exposes
// maps (live views, no copies), stats and the final pass. Nothing here waits on the model synchronously: all
// model work is in the worker, and the main thread only exchanges a few small messages per cycle.
//
//   const engine = await InferenceEngine.start({ cube, model: 'lt-vit', modelsDir: 'models', threads: 1 });
//   engine.maps().model            // MapSet of net counts per element (method 'model'), live
//   engine.stats()                 // plain object for live/stats
//   await engine.finalPass()       // when the scan ends: every pixel at full resolution
//   await engine.stop()
import { existsSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Cube } from '../cube/cube.js';
import type { MapSet } from '../maps/types.js';
import { ModelCardError, readModelCard, type ModelCard } from './model-card.js';
import { resolveModelPaths } from './onnx-model.js';
import type { CycleReport, FromWorker, ToWorker, Tuning, WorkerInit } from './protocol.js';
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
  private readonly delay: IntervalHistogram;
  private readonly started = performance.now();
  private readonly mapViews: ModelMaps;

  private constructor(
    private readonly worker: Worker,
    readonly card: ModelCard,
    readonly modelPath: string,
    private readonly shared: SharedMaps,
    private readonly opts: InferenceEngineOptions,
  ) {
    this.autoOn = opts.auto ?? true;
    this.delay = monitorEventLoopDelay({ resolution: 10 });
    this.delay.enable();
    const { width, height, elements } = shared;
    const set = (data: Float32Array): MapSet => ({ method: 'model', elements: [...elements], width, height, data });
    this.mapViews = { model: set(shared.netCounts), presence: set(shared.presence), fractions: set(shared.fractions), levels: shared.levels };
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (err) => this.fail(err.message));
    worker.on('exit', () => this.fail('inference worker exited'));
  }

  /** Loads the model in a new worker; rejects with ModelCardError when the card and the graph disagree. */
  static async start(opts: InferenceEngineOptions): Promise<InferenceEngine> {
    const paths = resolveModelPaths(opts.model ?? 'lt-vit', opts.modelsDir ?? 'models');
    // The card is read here too: the element list sizes the shared maps before the worker starts.
    const card = readModelCard(paths.card);
    const { cube } = opts;
    const shared = SharedMaps.allocate(cube.width, cube.height, card.elements);
    const init: WorkerInit = {
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
    const entry = workerEntry();
    const worker = new Worker(entry.url, { workerData: { ...init, entry: entry.entry } });
    const ready = await new Promise<FromWorker>((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        if (m.type !== 'ready' && m.type !== 'failed') return;
        worker.off('message', onMessage);
        worker.off('error', onError);
        resolve(m);
      };
      const onError = (err: Error) => {
        worker.off('message', onMessage);
        reject(err);
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
    });
    if (ready.type === 'failed') {
      await worker.terminate();
      throw ready.name === 'ModelCardError' ? new ModelCardError(ready.message) : new Error(`inference: cannot load ${paths.onnx}: ${ready.message}`);
    }
    return new InferenceEngine(worker, card, paths.onnx, shared, opts);
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
    };
  }

  /** Stops the worker after the work in flight; the maps stay readable. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.running) {
        // The worker is already gone (it crashed): only the event-loop delay monitor is left to release.
        this.delay.disable();
        return;
      }
      const stopped = new Promise<void>((resolve) => {
        const onMsg = (m: FromWorker) => {
          if (m.type === 'stopped') resolve();
        };
        this.worker.on('message', onMsg);
        this.worker.once('exit', () => resolve());
      });
      this.post({ type: 'stop' });
      await stopped;
      this.running = false;
      await this.worker.terminate();
      this.delay.disable();
    })();
    return this.stopping;
  }

  private request(type: 'cycle' | 'final'): Promise<CycleReport> {
    if (!this.running || this.stopping) return Promise.reject(new Error('inference engine is stopped'));
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

  private fail(message: string): void {
    if (this.running && !this.stopping) this.lastError = message;
    this.running = false;
    for (const p of this.pending.values()) p.reject(new Error(`inference: ${message}`));
    this.pending.clear();
  }
}
