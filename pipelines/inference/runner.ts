// One inference cycle: plan (Scheduler), gather each unit's summed spectrum from the shared cube, rebin it to
// the model's grid, run batches through the model until the time budget is spent, and write fractions,
// presence and net counts for every pixel of each unit. Runs inside the inference worker (session.run blocks
// its thread); it can also run in-process (CLI, benchmarks of the model alone).
import { threadId } from 'node:worker_threads';
import { META, type Cube } from '../cube/cube.js';
import type { OnnxModel } from './onnx-model.js';
import type { CycleReport, Tuning } from './protocol.js';
import { createRebinner, type Rebinner } from './rebin.js';
import { Scheduler } from './scheduler.js';
import type { SharedMaps } from './shared-maps.js';

/** Smallest batch worth a session.run (per-run overhead dominates below this). */
const MIN_BATCH = 32;

export interface RunnerOptions {
  tuning: Tuning;
  minCounts: number;
  blockSizes: readonly number[];
  /** Spectra per session.run (default 512). */
  batchSize: number;
}

export class IncrementalRunner {
  readonly scheduler: Scheduler;
  private tuning: Tuning;
  private readonly batchSize: number;
  private readonly rebinner: Rebinner;
  private readonly modelChannels: number;
  private readonly E: number;
  /** Model input, batchSize x model channels. */
  private readonly input: Float32Array;
  /** One unit's summed spectrum on the cube grid. */
  private readonly sum: Float64Array;
  /** Work-list index of each batch row. */
  private readonly rowUnit: Uint32Array;
  private generation: number;
  private readonly levelHist = new Uint32Array(256);
  /** Measured model time per spectrum (ms, running average): sizes batches to the time left in a cycle. */
  private msPerSpectrum = 0;

  constructor(private readonly model: OnnxModel, private readonly cube: Cube, private readonly maps: SharedMaps, opts: RunnerOptions) {
    this.tuning = { ...opts.tuning };
    this.batchSize = opts.batchSize;
    this.scheduler = new Scheduler(cube.width, cube.height, { ...opts.tuning, minCounts: opts.minCounts, blockSizes: opts.blockSizes });
    const grid = model.card.energyGrid;
    this.rebinner = createRebinner({ channels: cube.channels, eMinKeV: cube.eMinKeV, eMaxKeV: cube.eMaxKeV }, grid);
    this.modelChannels = grid.channels;
    this.E = model.elements.length;
    if (maps.elements.length !== this.E || maps.width !== cube.width || maps.height !== cube.height)
      throw new Error('inference: map buffers do not match the cube and the model');
    this.input = new Float32Array(this.batchSize * this.modelChannels);
    this.sum = new Float64Array(cube.channels);
    this.rowUnit = new Uint32Array(this.batchSize);
    this.generation = cube.meta[META.generation]!;
  }

  tune(t: Partial<Tuning>): void {
    this.tuning = { ...this.tuning, ...t };
    this.scheduler.relativeThreshold = this.tuning.relativeThreshold;
    this.scheduler.absoluteThreshold = this.tuning.absoluteThreshold;
  }

  /** One incremental cycle within the time budget. */
  cycle(): Promise<CycleReport> {
    return this.run(false);
  }

  /** Every pixel at full resolution, no time budget (the end of a scan). */
  finalPass(): Promise<CycleReport> {
    return this.run(true);
  }

  private async run(final: boolean): Promise<CycleReport> {
    const t0 = performance.now();
    const cube = this.cube;
    const gen = cube.meta[META.generation]!;
    if (gen !== this.generation) {
      // The cube was reset (new scan, restore): old maps describe counts that are gone.
      this.maps.clear();
      this.generation = gen;
    }
    const levels = this.maps.levels;
    const n = final ? this.scheduler.planFull(cube.totals, cube.inferredTotals, levels) : this.scheduler.plan(cube.totals, cube.inferredTotals, levels);
    const w = this.scheduler.work;
    let i = 0;
    let spectra = 0;
    let pixels = 0;
    let modelMs = 0;
    let coarsest = 0;
    let finest = 0;
    while (i < n) {
      const left = this.tuning.cycleBudgetMs - (performance.now() - t0);
      if (!final && left <= 0) break;
      // A batch should end inside the budget: a 512-spectrum run of a large model can take longer than a cycle.
      // Before the first measurement, a small batch measures the model's speed on this machine.
      const cap = final ? this.batchSize : this.msPerSpectrum === 0 ? Math.min(this.batchSize, 2 * MIN_BATCH) : Math.max(MIN_BATCH, Math.min(this.batchSize, Math.floor(left / this.msPerSpectrum)));
      let rows = 0;
      for (; i < n && rows < cap; i++) {
        const u = w.order[i]!;
        if (final && cube.totals[w.y[u]! * cube.width + w.x[u]!] === 0) {
          // Nothing to infer on an empty pixel: zero maps, final level.
          this.writeEmpty(w.x[u]!, w.y[u]!);
          pixels++;
          continue;
        }
        this.gather(w.x[u]!, w.y[u]!, w.size[u]!, rows);
        this.rowUnit[rows++] = u;
      }
      if (rows === 0) continue;
      const tm = performance.now();
      const out = await this.model.run(this.input, rows);
      const dt = performance.now() - tm;
      modelMs += dt;
      this.msPerSpectrum = this.msPerSpectrum === 0 ? dt / rows : 0.7 * this.msPerSpectrum + 0.3 * (dt / rows);
      for (let r = 0; r < rows; r++) {
        const u = this.rowUnit[r]!;
        const s = w.size[u]!;
        pixels += this.write(w.x[u]!, w.y[u]!, s, out.fractions, out.presence, r);
        if (s > coarsest) coarsest = s;
        if (finest === 0 || s < finest) finest = s;
      }
      spectra += rows;
    }
    let backlogPixels = 0;
    for (let k = i; k < n; k++) backlogPixels += w.area[w.order[k]!]!;
    return {
      threadId, final, ms: performance.now() - t0, modelMs, spectra, pixels,
      backlogUnits: n - i, backlogPixels, coarsestLevel: coarsest, finestLevel: finest,
      levelPixels: this.levelPixels(), generation: gen,
    };
  }

  /** Sums the unit's spectra into `sum`, records each pixel's total as its inferred total, rebins into row. */
  private gather(x0: number, y0: number, s: number, row: number): void {
    const cube = this.cube;
    const W = cube.width;
    const C = cube.channels;
    const counts = cube.counts;
    const totals = cube.totals;
    const inferred = cube.inferredTotals;
    const sum = this.sum;
    sum.fill(0);
    const xe = Math.min(W, x0 + s);
    const ye = Math.min(cube.height, y0 + s);
    for (let y = y0; y < ye; y++)
      for (let p = y * W + x0, pe = y * W + xe; p < pe; p++) {
        // Total read before the spectrum: the spectrum can only hold as many or more counts (never fewer),
        // so growth since this inference is never under-counted.
        inferred[p] = totals[p]!;
        for (let c = 0, k = p * C; c < C; c++, k++) sum[c] += counts[k]!;
      }
    this.rebinner.apply(sum, this.input, row * this.modelChannels);
  }

  /** Writes one model row to every pixel of the unit; net counts use each pixel's own total. */
  private write(x0: number, y0: number, s: number, fr: Float32Array, pr: Float32Array, row: number): number {
    const W = this.cube.width;
    const P = W * this.cube.height;
    const E = this.E;
    const inferred = this.cube.inferredTotals;
    const { fractions, presence, netCounts, levels } = this.maps;
    const xe = Math.min(W, x0 + s);
    const ye = Math.min(this.cube.height, y0 + s);
    for (let y = y0; y < ye; y++)
      for (let p = y * W + x0, pe = y * W + xe; p < pe; p++) {
        const total = inferred[p]!;
        for (let e = 0, o = row * E; e < E; e++, o++) {
          const f = fr[o]!;
          fractions[e * P + p] = f;
          presence[e * P + p] = pr[o]!;
          netCounts[e * P + p] = f * total;
        }
        levels[p] = s;
      }
    return (xe - x0) * (ye - y0);
  }

  private writeEmpty(x: number, y: number): void {
    const W = this.cube.width;
    const P = W * this.cube.height;
    const p = y * W + x;
    const { fractions, presence, netCounts, levels } = this.maps;
    for (let e = 0; e < this.E; e++) fractions[e * P + p] = presence[e * P + p] = netCounts[e * P + p] = 0;
    this.cube.inferredTotals[p] = 0;
    levels[p] = 1;
  }

  private levelPixels(): Record<string, number> {
    const hist = this.levelHist;
    hist.fill(0);
    const l = this.maps.levels;
    for (let p = 0; p < l.length; p++) hist[l[p]!]++;
    const out: Record<string, number> = { '0': hist[0]! };
    for (const s of this.scheduler.blockSizes) out[String(s)] = hist[s]!;
    return out;
  }
}
