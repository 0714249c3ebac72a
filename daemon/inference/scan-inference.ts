// The model method in the daemon: one InferenceEngine per scan, on that scan's cube. The engine starts when
// the scan starts (its worker catches up on whatever the cube holds by then) and, when the scan ends, runs a
// final pass (every pixel at full resolution) and stops; its maps stay readable for the last publication.
// The main thread only starts, stops and reads shared buffers: it never waits on the model.
// Deadlines (inference.workerTimeoutSeconds): a graph load (scan start, model/select) or a model run that does not
// end in time gives the worker up (engine.ts): the scan goes on without (more) model maps, its final pass is
// skipped, live/stats inference.lastError says it timed out and inference.timeouts counts it; model/select
// answers an error naming the timeout.
// Also holds the runtime model choice (request/model/select), which applies to the next scans.
import type { GemxrfConfig } from '../../config/index.js';
import type { Cube } from '../../pipelines/cube/cube.js';
import {
  InferenceEngine, InferenceTimeoutError, ModelCardError, findModel, listModels, probeModel, stuckInferenceWorkers,
  type ModelInfo, type ModelListing,
} from '../../pipelines/inference/index.js';
import type { Logger } from '../log.js';

/** One published kind of model map: 'model' (net counts) or 'presence' (probability), per element. */
export interface ModelMapLayer {
  method: 'model' | 'presence';
  width: number;
  height: number;
  /** The published elements with live views into the engine's shared buffers (no copies). */
  maps: Array<{ element: string; data: Float32Array }>;
}

export interface ScanModelMaps {
  scanId: string;
  model: { name: string; version: string; architecture: string; presenceThreshold: number };
  layers: ModelMapLayer[];
  /** True once the final pass has written every pixel at full resolution. */
  final: boolean;
  /** Sum over pixels of the counts each pixel's current model values were inferred from. */
  eventsInferred: number;
  /** Pixels whose values come from their own spectrum (not a 2x2 or 4x4 block), of width x height. */
  pixelsFullResolution: number;
}

interface ScanEngine {
  scanId: string;
  cube: Cube;
  /** Resolves to null when the model could not be loaded (the scan goes on without model maps). */
  engine: Promise<InferenceEngine | null>;
  /** Why the engine could not start (for live/stats), else null. */
  startError: string | null;
  /** The engine's timeouts were added to the daemon's count (it stopped). */
  counted: boolean;
  ready: InferenceEngine | null;
  final: boolean;
  finishing: Promise<void> | null;
}

export class ScanInference {
  private selected: string;
  private current: ScanEngine | null = null;
  /** Deadlines hit since the daemon started (graph loads at select or scan start, model runs). */
  private timeouts = 0;
  private readonly timeoutMs: number;
  /** Whether the daemon runs the model method at all (inference.enabled and 'model' in maps.methods). */
  readonly active: boolean;

  constructor(
    private readonly config: GemxrfConfig,
    private readonly log: Logger,
    /** Loads a graph to check it at selection (a seam for tests; the engine loads its own in its worker). The
     *  default loads it in a worker under the deadline (a load that blocks would otherwise freeze the daemon). */
    loadModel?: (onnxPath: string) => Promise<{ release(): Promise<void> }>,
  ) {
    this.timeoutMs = config.inference.workerTimeoutSeconds * 1000;
    this.loadModel = loadModel ?? ((p) => probeModel(p, { threads: 1, timeoutMs: this.timeoutMs }).then(() => ({ release: async () => undefined })));
    this.selected = config.inference.model;
    this.active = config.inference.enabled && config.maps.methods.includes('model');
  }

  get selectedModel(): string {
    return this.selected;
  }

  /** The cards in inference.modelsDir. */
  list(): ModelListing {
    return listModels(this.config.inference.modelsDir);
  }

  /** Selects a listed model for the next scans; throws ModelCardError for an unknown name or a graph that
   *  onnxruntime cannot load or that does not match its card. The graph is loaded once here (a few hundred
   *  ms, off the event loop) so that a broken file is refused now, not found at the next scan's start. The
   *  caller checks that no scan is running (an engine is bound to its scan's model). */
  async select(name: string): Promise<ModelInfo> {
    // One at a time, in request order: two selections loading at once could otherwise finish out of order and
    // leave the earlier request's model selected.
    const run = this.selecting.then(() => this.selectNow(name));
    this.selecting = run.catch(() => undefined);
    return run;
  }

  private selecting: Promise<unknown> = Promise.resolve();
  private readonly loadModel: (onnxPath: string) => Promise<{ release(): Promise<void> }>;

  private async selectNow(name: string): Promise<ModelInfo> {
    const m = findModel(this.list(), name);
    let probe: { release(): Promise<void> };
    try {
      probe = await this.loadModel(m.onnx);
    } catch (err) {
      if (err instanceof InferenceTimeoutError) this.timeouts++;
      throw new ModelCardError(`model '${m.name}' cannot be loaded: ${(err as Error).message}`);
    }
    await probe.release();
    this.selected = m.name;
    this.log.info('model selected for the next scans', { model: m.name, version: m.version });
    return m;
  }

  /** Starts the scan's engine without waiting for it (loading a model takes a few hundred ms). */
  startScan(scanId: string, cube: Cube): void {
    if (!this.active) return;
    const inf = this.config.inference;
    const model = this.selected;
    const entry: ScanEngine = { scanId, cube, engine: Promise.resolve(null), startError: null, counted: false, ready: null, final: false, finishing: null };
    entry.engine = InferenceEngine.start({
      cube, model, modelsDir: inf.modelsDir, threads: inf.threads, relativeThreshold: inf.relativeThreshold,
      absoluteThreshold: inf.absoluteThreshold, cycleBudgetMs: inf.cycleBudgetMs, minCounts: inf.minCounts, batchSize: inf.batchSize,
      timeoutMs: this.timeoutMs,
      onFailure: (message) => this.log.error('the model worker failed; this scan has no more model maps', { scan: scanId, model, error: message }),
    }).then(
      (engine) => {
        entry.ready = engine;
        const missing = this.config.maps.elements.filter((e) => !engine.elements.includes(e));
        if (missing.length) this.log.warn('maps.elements the model does not predict (no model maps for them)', { model: engine.card.name, elements: missing.join(',') });
        // A scan that ended while the model loaded still gets its final pass from finishScan().
        return engine;
      },
      (e: Error) => {
        if (e instanceof InferenceTimeoutError) this.timeouts++;
        entry.startError = e.message;
        this.log.error('inference could not start; this scan has no model maps', { scan: scanId, model, error: e.message });
        return null;
      },
    );
    this.current = entry;
  }

  /** The scan ended: final pass at full resolution, then stop the worker. Resolves when the final maps are
   *  in the shared buffers (or at once when the scan had no engine). Never rejects. */
  finishScan(scanId: string, opts: { finalPass?: boolean } = {}): Promise<void> {
    const entry = this.current;
    if (!entry || entry.scanId !== scanId) return Promise.resolve();
    entry.finishing ??= (async () => {
      const engine = await entry.engine;
      if (!engine) return;
      if (opts.finalPass ?? true) {
        try {
          await engine.finalPass();
          entry.final = true;
        } catch (e) {
          this.log.warn('final model pass failed; the last live model maps stay', { scan: scanId, error: (e as Error).message });
        }
      }
      // Bounded: a worker that hangs is given up at the deadline (engine.ts).
      await engine.stop().catch(() => undefined);
      const s = engine.stats();
      this.timeouts += s.timeouts;
      entry.counted = true;
    })();
    return entry.finishing;
  }

  /** The scan's model maps (live views), restricted to maps.elements, or null when there are none. */
  maps(scanId: string): ScanModelMaps | null {
    const entry = this.current;
    const engine = entry?.ready;
    if (!entry || !engine || entry.scanId !== scanId) return null;
    const all = engine.maps();
    const wanted = this.config.maps.elements.filter((e) => engine.elements.includes(e));
    const layer = (method: 'model' | 'presence', set: typeof all.model): ModelMapLayer => {
      const n = set.width * set.height;
      return { method, width: set.width, height: set.height, maps: wanted.map((element) => {
        const i = set.elements.indexOf(element);
        return { element, data: set.data.subarray(i * n, (i + 1) * n) };
      }) };
    };
    const inferred = entry.cube.inferredTotals;
    let eventsInferred = 0;
    for (let p = 0; p < inferred.length; p++) eventsInferred += inferred[p]!;
    let pixelsFullResolution = 0;
    for (const l of all.levels) if (l === 1) pixelsFullResolution++;
    const c = engine.card;
    return {
      scanId, final: entry.final, eventsInferred, pixelsFullResolution,
      model: { name: c.name, version: c.version, architecture: c.architecture, presenceThreshold: c.presenceThreshold },
      layers: [layer('model', all.model), layer('presence', all.presence)],
    };
  }

  /** The model's values at one pixel of the scan (request/pixel/get), for the published elements. */
  pixelValues(scanId: string, x: number, y: number): { elements: string[]; fractions: number[]; presence: number[] } | null {
    const engine = this.current?.ready;
    if (!engine || this.current?.scanId !== scanId) return null;
    const { fractions, presence } = engine.maps();
    const { width, height } = fractions;
    if (x < 0 || y < 0 || x >= width || y >= height) return null;
    const P = width * height;
    const p = y * width + x;
    const elements = this.config.maps.elements.filter((e) => engine.elements.includes(e));
    const at = (data: Float32Array, e: string) => data[engine.elements.indexOf(e) * P + p]!;
    return { elements, fractions: elements.map((e) => at(fractions.data, e)), presence: elements.map((e) => at(presence.data, e)) };
  }

  /** For live/stats: the running engine's figures (its event-loop delay since the previous call), or the last
   *  scan's once it stopped; null before the first scan or when the model method is off. */
  stats(): Record<string, unknown> | null {
    // A stopped engine still answers stats() (running: false): the last scan's figures stay visible.
    const s = this.current?.ready?.stats();
    // timeouts: this daemon's, the running engine's included; stuckWorkers: workers given up inside onnxruntime
    // that have not ended yet (each holds a core).
    const timeouts = this.timeouts + (s && !this.current?.counted ? s.timeouts : 0);
    const stuckWorkers = stuckInferenceWorkers();
    if (!s) return this.active ? { model: this.selected, running: false, lastError: this.current?.startError ?? null, timeouts, stuckWorkers } : null;
    return {
      model: s.model, modelVersion: s.modelVersion, architecture: s.architecture, threads: s.threads, running: s.running,
      cycles: s.cycles, pixelsInferred: s.pixelsInferred, pixelsPerSecond: s.pixelsPerSecond, spectraPerSecond: s.spectraPerSecond,
      backlogPixels: s.backlogPixels, cycleMs: s.cycleMs, modelMs: s.modelMs, coarseLevel: s.coarseLevel, levelPixels: s.levelPixels,
      eventLoopDelayMs: s.eventLoopDelayMs, firstMapMs: s.firstMapMs, final: this.current?.final ?? false, lastError: s.lastError,
      timeouts, stuckWorkers,
    };
  }

  /** Daemon shutdown: stop the engine without a final pass (the checkpoint and recording hold the data). */
  async close(): Promise<void> {
    const entry = this.current;
    if (!entry) return;
    await this.finishScan(entry.scanId, { finalPass: false });
  }
}
