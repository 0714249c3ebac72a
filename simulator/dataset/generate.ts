// Synthetic training/test spectra: mixtures of 1-6 palette elements over a background, under varying
// detector and background conditions, with Poisson counting noise; targets are each element's share of the
// counts (fractions) and its presence. Generated in blocks: the nuisance conditions are drawn once per
// block and every element's response is computed once for it, so a spectrum costs a weighted sum and a
// Poisson draw per channel rather than a full physics evaluation.
import {
  applyPileup,
  backgroundResponse,
  DEFAULT_GRID,
  detectorLinesResponse,
  elementResponse,
  PIGMENT_ELEMENTS,
  validateGrid,
  type DetectorParams,
  type EnergyGrid,
} from '../../physics/index.js';
import { createRng, type Rng } from '../../physics/random.js';
import { drawNuisance, nuisanceRanges, type DatasetShift, type Nuisance, type NuisanceRanges } from './nuisance.js';
import { PIGMENTS } from './palette.js';

export interface DatasetOptions {
  /** Number of spectra. */
  n: number;
  seed: number;
  /** Energy grid of the spectra; default 256 channels over 0-20.48 keV. */
  grid?: EnergyGrid;
  shift?: DatasetShift;
  /** Spectra per nuisance draw (default 256). */
  blockSize?: number;
}

/** Everything about how a dataset is drawn (written to meta.json). */
export interface DatasetRecipe {
  n: number;
  seed: number;
  shift: DatasetShift;
  grid: EnergyGrid;
  elements: readonly string[];
  blockSize: number;
  elementsPerSpectrum: readonly [number, number];
  /** Relative element amounts: log-uniform in this range, so minor and major components both occur. */
  elementWeight: readonly [number, number];
  /** Elements below this share of the mixture's element signal are dropped (trace amounts no spectrum
   *  shows would make presence labels unlearnable). */
  minElementShare: number;
  /** Probability that the next element(s) come from a historical pigment (co-occurring elements). */
  pigmentProbability: number;
  /** Background share of the sample counts: uniform. */
  backgroundShare: readonly [number, number];
  /** Expected total counts per spectrum: log-uniform; each channel is Poisson(counts x expected). */
  counts: readonly [number, number];
  nuisance: NuisanceRanges;
  nuisancePer: 'block';
}

export interface DatasetBlock {
  /** Index of the block's first spectrum in the dataset. */
  start: number;
  count: number;
  /** count x channels, counts per channel. */
  spectra: Float32Array;
  /** count x elements, share of each spectrum's (single-photon) counts from each element; the rest is
   *  background and detector lines, so a row sums to below 1. */
  fractions: Float32Array;
  /** count x elements, 1 where the element is in the mixture. */
  presence: Uint8Array;
  /** count x elements, the element's detection significance in this spectrum (0 where absent): see
   *  detectionSignificance(). Scales with the square root of the exposure. */
  significance: Float32Array;
  /** count, the background's share of the counts. */
  backgroundShare: Float32Array;
  /** The detector and background conditions the whole block was drawn under. */
  nuisance: Nuisance;
}

export function datasetRecipe(opts: DatasetOptions): DatasetRecipe {
  if (!Number.isInteger(opts.n) || opts.n < 1) throw new Error(`dataset size must be a positive integer, got ${opts.n}`);
  if (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > 0xffffffff) throw new Error(`dataset seed must be an integer in 0..2^32-1, got ${opts.seed}`);
  const grid = { ...(opts.grid ?? DEFAULT_GRID) };
  validateGrid(grid);
  const blockSize = opts.blockSize ?? 256;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new Error(`block size must be a positive integer, got ${blockSize}`);
  const shift = opts.shift ?? 'nominal';
  return {
    n: opts.n,
    seed: opts.seed,
    shift,
    grid,
    elements: PIGMENT_ELEMENTS,
    blockSize,
    elementsPerSpectrum: [1, 6],
    elementWeight: [0.01, 1],
    minElementShare: 0.01,
    pigmentProbability: 0.6,
    backgroundShare: [0.05, 0.6],
    counts: [1e2, 1e5],
    nuisance: nuisanceRanges(shift),
    nuisancePer: 'block',
  };
}

/** The dataset's blocks in order. Deterministic for (seed, grid, shift, blockSize); a smaller n gives a
 *  prefix of a larger n's rows. Each block is freshly allocated (safe to keep). */
export function* generateDataset(opts: DatasetOptions): Generator<DatasetBlock> {
  const recipe = datasetRecipe(opts);
  for (let start = 0, b = 0; start < recipe.n; start += recipe.blockSize, b++)
    yield generateBlock(recipe, b, start, Math.min(recipe.blockSize, recipe.n - start));
}

/** Generates a whole dataset in memory (for evaluation sets): rows concatenated over blocks. */
export function generateDatasetArrays(opts: DatasetOptions): {
  recipe: DatasetRecipe;
  spectra: Float32Array;
  fractions: Float32Array;
  presence: Uint8Array;
  significance: Float32Array;
  /** Per block (rows [b x blockSize, ...)), the conditions it was drawn under: blockResponses() turns one
   *  into the exact components (the oracle fit in pipelines/eval uses them). */
  nuisances: Nuisance[];
} {
  const recipe = datasetRecipe(opts);
  const C = recipe.grid.channels;
  const E = recipe.elements.length;
  const spectra = new Float32Array(recipe.n * C);
  const fractions = new Float32Array(recipe.n * E);
  const presence = new Uint8Array(recipe.n * E);
  const significance = new Float32Array(recipe.n * E);
  const nuisances: Nuisance[] = [];
  for (const blk of generateDataset(opts)) {
    nuisances.push(blk.nuisance);
    spectra.set(blk.spectra, blk.start * C);
    fractions.set(blk.fractions, blk.start * E);
    presence.set(blk.presence, blk.start * E);
    significance.set(blk.significance, blk.start * E);
  }
  return { recipe, spectra, fractions, presence, significance, nuisances };
}

/** A block's own random stream: blocks are independent of each other (and could be made in parallel). */
function blockRng(seed: number, block: number): Rng {
  let h = Math.imul((seed >>> 0) ^ 0x85ebca6b, 0xcc9e2d51);
  h = Math.imul(h ^ (h >>> 15) ^ Math.imul(block + 1, 0x1b873593), 0xe6546b64);
  return createRng((h ^ (h >>> 13)) >>> 0);
}

export function generateBlock(recipe: DatasetRecipe, blockIndex: number, start: number, count: number): DatasetBlock {
  const rng = blockRng(recipe.seed, blockIndex);
  const { grid, elements } = recipe;
  const C = grid.channels;
  const E = elements.length;
  const nuisance = drawNuisance(rng, recipe.nuisance);
  const { det } = nuisance;
  const { elements: responses, background: bgResponse, detectorLines: detResponse } = blockResponses(grid, elements, nuisance);
  const detShare = det.cuShare + det.alShare;

  const spectra = new Float32Array(count * C);
  const fractions = new Float32Array(count * E);
  const presence = new Uint8Array(count * E);
  const significance = new Float32Array(count * E);
  const backgroundShare = new Float32Array(count);
  const expected = new Float64Array(C);
  const scratch = new Float64Array(C);
  const weights = new Float64Array(E);
  const index = new Map(elements.map((e, i) => [e, i] as const));

  for (let r = 0; r < count; r++) {
    drawMixture(rng, recipe, index, weights);
    let wsum = 0;
    for (let e = 0; e < E; e++) wsum += weights[e]!;
    const b = logUniformOrUniform(rng, recipe.backgroundShare, false);
    // Sample counts split (1 - b) : b between elements and background; detector lines take detShare of all.
    const sample = 1 - detShare;
    const rowFractions = fractions.subarray(r * E, (r + 1) * E);
    for (let e = 0; e < E; e++) {
      const w = weights[e]!;
      if (w === 0) continue;
      rowFractions[e] = (sample * (1 - b) * w) / wsum;
      presence[r * E + e] = 1;
    }
    backgroundShare[r] = sample * b;
    mixExpected(expected, { elements: responses, background: bgResponse, detectorLines: detResponse }, rowFractions, sample * b, det, grid, scratch);
    const counts = logUniformOrUniform(rng, recipe.counts, true);
    const row = r * C;
    for (let c = 0; c < C; c++) spectra[row + c] = rng.poisson(counts * expected[c]!);
    for (let e = 0; e < E; e++) {
      const f = rowFractions[e]!;
      if (f > 0) significance[r * E + e] = detectionSignificance(f, responses[e]!, expected, counts);
    }
  }
  return { start, count, spectra, fractions, presence, significance, backgroundShare, nuisance };
}

/** The responses a block mixes: one per element (dataset order), background, detector lines. */
export interface BlockResponses {
  elements: readonly Float64Array[];
  background: Float64Array;
  detectorLines: Float64Array;
}

/** The unit-sum responses a block with these conditions mixes (what generateBlock uses): every element's,
 *  the background's and the detector lines'. Cached in physics, so calling it again for a block is cheap. */
export function blockResponses(grid: EnergyGrid, elements: readonly string[], nuisance: Nuisance): BlockResponses {
  const { det, bg } = nuisance;
  const tube = { anode: bg.tubeAnode, kV: bg.tubeKV };
  return {
    elements: elements.map((el) => elementResponse(grid, el, det, tube)),
    background: backgroundResponse(grid, bg, det),
    detectorLines: detectorLinesResponse(grid, det),
  };
}

/**
 * Expected unit-sum spectrum of one row: the same model as physics synthesize() (sum of count shares x
 * responses, detector lines with cuShare + alShare, normalised, then pile-up), on responses computed once
 * per block. fractions and backgroundShare are shares of all counts (they and the detector-line share sum to 1).
 */
export function mixExpected(
  out: Float64Array,
  responses: BlockResponses,
  fractions: ArrayLike<number>,
  backgroundShare: number,
  det: DetectorParams,
  grid: EnergyGrid,
  scratch?: Float64Array,
): Float64Array {
  const C = out.length;
  const detShare = det.cuShare + det.alShare;
  out.fill(0);
  for (let e = 0; e < fractions.length; e++) {
    const f = fractions[e]!;
    if (f === 0) continue;
    const resp = responses.elements[e]!;
    for (let c = 0; c < C; c++) out[c]! += f * resp[c]!;
  }
  const bgr = responses.background, dr = responses.detectorLines;
  for (let c = 0; c < C; c++) out[c]! += backgroundShare * bgr[c]! + detShare * dr[c]!;
  let total = 0;
  for (let c = 0; c < C; c++) total += out[c]!;
  if (total > 0) for (let c = 0; c < C; c++) out[c]! /= total;
  if (det.pileupFraction > 0) applyPileup(out, grid, det.pileupFraction, scratch);
  return out;
}

/**
 * How many standard deviations an element's signal stands above counting noise in one spectrum, for an
 * ideal observer that knows every other component exactly (the matched filter of the element's own
 * response): z = sqrt(sum_c s_c^2 / mu_c) with s = counts x fraction x response, mu = counts x expected.
 * It is an upper bound on how detectable the element is (real methods must also separate overlapping
 * lines and unknown conditions); z >= 3 is the classical 3-sigma detection limit. With pile-up the
 * element's single-photon signal is used. Binomial thinning to a share p of the counts scales z by sqrt(p).
 */
export function detectionSignificance(fraction: number, response: Float64Array, expected: Float64Array, counts: number): number {
  let q = 0;
  for (let c = 0; c < response.length; c++) {
    const r = response[c]!;
    const mu = expected[c]!;
    if (r > 0 && mu > 0) q += (r * r) / mu;
  }
  return fraction * Math.sqrt(counts * q);
}

function logUniformOrUniform(rng: Rng, range: readonly [number, number], log: boolean): number {
  const u = rng.next();
  return log ? range[0] * Math.pow(range[1] / range[0], u) : range[0] + (range[1] - range[0]) * u;
}

/** Fills weights (zero for absent elements) with a mixture of 1..6 elements, partly built from pigments. */
function drawMixture(rng: Rng, recipe: DatasetRecipe, index: Map<string, number>, weights: Float64Array): void {
  weights.fill(0);
  const [kMin, kMax] = recipe.elementsPerSpectrum;
  const k = kMin + rng.int(kMax - kMin + 1);
  let present = 0;
  const add = (el: string, w: number) => {
    const i = index.get(el);
    if (i === undefined) return;
    if (weights[i] === 0) {
      if (present >= k) return;
      present++;
    }
    weights[i]! += w;
  };
  while (present < k) {
    const w = logUniformOrUniform(rng, recipe.elementWeight, true);
    if (rng.next() < recipe.pigmentProbability) {
      const pigment = PIGMENTS[rng.int(PIGMENTS.length)]!;
      for (const [el, rel] of Object.entries(pigment.elements)) add(el, w * rel);
    } else add(recipe.elements[rng.int(recipe.elements.length)]!, w);
  }
  let sum = 0;
  for (let i = 0; i < weights.length; i++) sum += weights[i]!;
  for (let i = 0; i < weights.length; i++) if (weights[i]! < recipe.minElementShare * sum) weights[i] = 0;
}
