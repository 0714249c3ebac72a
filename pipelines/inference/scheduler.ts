// Which spectra the inference worker runs next. Pure typed-array logic over the cube's per-pixel totals, so it
// is tested without a model and costs O(pixels x levels) per cycle with no allocation.
//
// Progressive refinement on a quadtree of aligned blocks (default sizes 4, 2, 1): a tile descends to the next
// finer size only when every sub-block of that size has at least `minCounts` counts, so each region is
// inferred at the finest level its counts support. A unit (one block at one size) is due when
//   - any of its pixels was last inferred at another size (never, or coarser: refinement), or
//   - its counts grew since its last inference by >= absoluteThreshold AND >= relativeThreshold x old total.
// Units are ordered: never-inferred first (first maps early), then refinements, then by relative growth.

export interface SchedulerOptions {
  /** Block sizes, coarsest first, each a multiple of the next, ending in 1 (default [4, 2, 1]). */
  blockSizes?: readonly number[];
  /** Counts a (summed) spectrum needs before it is inferred at that size (default 100). */
  minCounts?: number;
  relativeThreshold: number;
  absoluteThreshold: number;
}

/** The work list of one cycle: units i < count, in priority order (order[i] indexes the unit arrays). */
export interface WorkList {
  count: number;
  order: Uint32Array;
  x: Uint16Array;
  y: Uint16Array;
  size: Uint16Array;
  /** Pixels a unit covers (clipped at the image border). */
  area: Uint32Array;
}

const NEVER = 3e12;
const REFINE = 2e12;

export class Scheduler {
  readonly blockSizes: readonly number[];
  readonly minCounts: number;
  relativeThreshold: number;
  absoluteThreshold: number;
  readonly work: WorkList;
  private readonly score: Float64Array;
  private readonly byScore = (a: number, b: number): number => this.score[b]! - this.score[a]!;

  constructor(readonly width: number, readonly height: number, opts: SchedulerOptions) {
    const sizes = opts.blockSizes ?? [4, 2, 1];
    if (sizes.length === 0 || sizes[sizes.length - 1] !== 1) throw new Error(`inference: blockSizes must end in 1 (got [${sizes.join(', ')}])`);
    for (let i = 0; i + 1 < sizes.length; i++)
      if (!(sizes[i]! > sizes[i + 1]!) || sizes[i]! % sizes[i + 1]! !== 0)
        throw new Error(`inference: each block size must be a multiple of the next, coarsest first (got [${sizes.join(', ')}])`);
    if (sizes[0]! > 255) throw new Error('inference: block sizes above 255 are not supported');
    this.blockSizes = [...sizes];
    this.minCounts = opts.minCounts ?? 100;
    this.relativeThreshold = opts.relativeThreshold;
    this.absoluteThreshold = opts.absoluteThreshold;
    // At most one unit per pixel (every unit covers at least one pixel, units never overlap).
    const cap = width * height;
    this.work = { count: 0, order: new Uint32Array(cap), x: new Uint16Array(cap), y: new Uint16Array(cap), size: new Uint16Array(cap), area: new Uint32Array(cap) };
    this.score = new Float64Array(cap);
  }

  /**
   * Plans one incremental cycle. levels[p] is the block size pixel p was last inferred at (0: never);
   * inferred[p] its total then. Returns the number of due units (in this.work, priority order).
   */
  plan(totals: Uint32Array, inferred: Uint32Array, levels: Uint8Array): number {
    this.work.count = 0;
    const top = this.blockSizes[0]!;
    for (let y = 0; y < this.height; y += top)
      for (let x = 0; x < this.width; x += top) this.visit(totals, inferred, levels, x, y, 0);
    return this.sort();
  }

  /** Plans the final pass: every pixel not already inferred alone at its current total. */
  planFull(totals: Uint32Array, inferred: Uint32Array, levels: Uint8Array): number {
    this.work.count = 0;
    for (let y = 0; y < this.height; y++)
      for (let x = 0; x < this.width; x++) {
        const p = y * this.width + x;
        if (levels[p] === 1 && inferred[p] === totals[p]) continue;
        this.push(x, y, 1, 1, totals[p]!);
      }
    return this.sort();
  }

  private visit(totals: Uint32Array, inferred: Uint32Array, levels: Uint8Array, x0: number, y0: number, li: number): void {
    const s = this.blockSizes[li]!;
    const finer = this.blockSizes[li + 1];
    const xe = Math.min(this.width, x0 + s);
    const ye = Math.min(this.height, y0 + s);
    if (finer !== undefined && this.allSubBlocksReady(totals, x0, y0, xe, ye, finer)) {
      for (let y = y0; y < ye; y += finer) for (let x = x0; x < xe; x += finer) this.visit(totals, inferred, levels, x, y, li + 1);
      return;
    }
    // This block is the finest level its counts support: is it due?
    let t = 0;
    let t0 = 0;
    let never = false;
    let refine = false;
    for (let y = y0; y < ye; y++)
      for (let p = y * this.width + x0, pe = y * this.width + xe; p < pe; p++) {
        t += totals[p]!;
        t0 += inferred[p]!;
        const l = levels[p]!;
        if (l === 0) never = true;
        else if (l !== s) refine = true;
      }
    if (t < this.minCounts) return; // not enough counts even summed over the coarsest block
    let score: number;
    if (never) score = NEVER + t;
    else if (refine) score = REFINE + t;
    else {
      const grown = t - t0;
      if (grown < this.absoluteThreshold || grown < this.relativeThreshold * t0) return;
      score = grown / Math.max(t0, 1);
    }
    this.push(x0, y0, s, (xe - x0) * (ye - y0), score);
  }

  private allSubBlocksReady(totals: Uint32Array, x0: number, y0: number, xe: number, ye: number, s: number): boolean {
    const W = this.width;
    const min = this.minCounts;
    for (let by = y0; by < ye; by += s)
      for (let bx = x0; bx < xe; bx += s) {
        let t = 0;
        const bxe = Math.min(xe, bx + s);
        const bye = Math.min(ye, by + s);
        for (let y = by; y < bye; y++) for (let p = y * W + bx, pe = y * W + bxe; p < pe; p++) t += totals[p]!;
        if (t < min) return false;
      }
    return true;
  }

  private push(x: number, y: number, size: number, area: number, score: number): void {
    const w = this.work;
    const i = w.count++;
    w.x[i] = x;
    w.y[i] = y;
    w.size[i] = size;
    w.area[i] = area;
    w.order[i] = i;
    this.score[i] = score;
  }

  private sort(): number {
    const n = this.work.count;
    this.work.order.subarray(0, n).sort(this.byScore);
    return n;
  }
}
