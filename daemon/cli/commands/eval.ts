// gemxrf eval: scores shipped models and the classical baselines on a fresh, held-out synthetic test set.
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { generateDatasetArrays, type DatasetRecipe, type DatasetShift, type Nuisance } from '../../../simulator/dataset/index.js';
import { OnnxModel } from '../../../pipelines/inference/onnx-model.js';
import { LinearFitter } from '../../../pipelines/maps/fit.js';
import { planRoi, roiFractions, ROI_BACKGROUNDS, type RoiBackground } from '../../../pipelines/maps/roi.js';
import { bestThreshold, detectionBounds, FRACTION_THRESHOLDS, score, type DetectionBounds, type MethodResult, type TestSet } from '../../../pipelines/eval/evaluate.js';
import { oracleFractions } from '../../../pipelines/eval/oracle-fit.js';
import type { EnergyGrid } from '../../../physics/index.js';
import { configFor, numberOption } from '../context.js';
import { CliError } from '../errors.js';

interface EvalOptions {
  model?: string[];
  modelsDir?: string;
  n: string;
  seed: string;
  shift: string;
  baselines: boolean;
  perElement?: boolean;
  byCounts?: boolean;
  json?: boolean;
  threads: string;
  roiBackground: string;
  oracle?: boolean;
}

function collect(value: string, prev: string[] = []): string[] {
  return [...prev, ...value.split(',').filter(Boolean)];
}

/** Dataset seeds a model was trained, validated or tested on: the card's `training.datasetSeeds` (the
 *  authoritative list), else every number under a key named like a seed in the training section. The torch
 *  seed (`hyperparameters.seed`) is no dataset seed and does not count when the list is present. */
function trainingSeeds(card: OnnxModel['card']): number[] {
  const training = (card.training ?? {}) as { datasetSeeds?: unknown };
  if (Array.isArray(training.datasetSeeds)) return training.datasetSeeds.filter((v): v is number => typeof v === 'number');
  const seeds: number[] = [];
  const walk = (v: unknown, key: string) => {
    if (typeof v === 'number' && /seed/i.test(key)) seeds.push(v);
    else if (Array.isArray(v)) v.forEach((x) => walk(x, key));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(training, '');
  return seeds;
}

function subset(set: TestSet, elements: readonly string[]): TestSet {
  const idx = elements.map((e) => {
    const i = set.elements.indexOf(e);
    if (i < 0) throw new CliError(`model element ${e} is not in the evaluation palette`);
    return i;
  });
  const E0 = set.elements.length;
  const E = idx.length;
  const fractions = new Float32Array(set.n * E);
  const presence = new Uint8Array(set.n * E);
  const significance = set.significance ? new Float32Array(set.n * E) : undefined;
  for (let r = 0; r < set.n; r++)
    for (let j = 0; j < E; j++) {
      fractions[r * E + j] = set.fractions[r * E0 + idx[j]!]!;
      presence[r * E + j] = set.presence[r * E0 + idx[j]!]!;
      if (significance) significance[r * E + j] = set.significance![r * E0 + idx[j]!]!;
    }
  return { ...set, elements, fractions, presence, ...(significance ? { significance } : {}) };
}

/** A test set in the dataset's element order, with what the oracle fit needs (the blocks' conditions). */
interface GeneratedSet extends TestSet {
  recipe: DatasetRecipe;
  nuisances: Nuisance[];
}

function makeSet(n: number, seed: number, shift: DatasetShift, grid: EnergyGrid): GeneratedSet {
  const d = generateDatasetArrays({ n, seed, shift, grid });
  return { n, elements: d.recipe.elements, channels: grid.channels, spectra: d.spectra, fractions: d.fractions, presence: d.presence, significance: d.significance, recipe: d.recipe, nuisances: d.nuisances };
}

/** The oracle fit's fractions (pipelines/eval/oracle-fit.ts) on a generated set, columns in `elements` order;
 *  with `knownSupport` the fit is also told which elements are in each mixture. */
function oracleOn(g: GeneratedSet, elements: readonly string[], knownSupport: boolean): { fractions: Float32Array; seconds: number } {
  const t0 = performance.now();
  const { fractions } = oracleFractions(g.spectra, g.recipe, g.nuisances, knownSupport ? { presence: g.presence } : {});
  const seconds = (performance.now() - t0) / 1000;
  const E0 = g.elements.length;
  const idx = elements.map((e) => g.elements.indexOf(e));
  const out = new Float32Array(g.n * elements.length);
  for (let r = 0; r < g.n; r++) for (let j = 0; j < idx.length; j++) out[r * idx.length + j] = fractions[r * E0 + idx[j]!]!;
  return { fractions: out, seconds };
}

async function evalModel(model: OnnxModel, set: TestSet): Promise<MethodResult> {
  const E = model.elements.length;
  const C = set.channels;
  const fractions = new Float32Array(set.n * E);
  const scores = new Float32Array(set.n * E);
  const batch = 512;
  const t0 = performance.now();
  for (let s = 0; s < set.n; s += batch) {
    const m = Math.min(batch, set.n - s);
    const out = await model.run(set.spectra.subarray(s * C, (s + m) * C), m);
    fractions.set(out.fractions, s * E);
    scores.set(out.presence, s * E);
  }
  const seconds = (performance.now() - t0) / 1000;
  return score(model.card.name, set, { fractions, scores, threshold: model.card.presenceThreshold }, seconds);
}

function baselineFractions(set: TestSet, method: 'fit' | 'roi', grid: EnergyGrid, roiBackground?: RoiBackground): { fractions: Float32Array; seconds: number } {
  const E = set.elements.length;
  const C = set.channels;
  const out = new Float32Array(set.n * E);
  const t0 = performance.now();
  if (method === 'fit') {
    const fitter = new LinearFitter(grid, set.elements);
    for (let r = 0; r < set.n; r++) out.set(fitter.fitFractions(set.spectra.subarray(r * C, (r + 1) * C)), r * E);
  } else {
    const plan = planRoi(grid, set.elements, { background: roiBackground });
    for (let r = 0; r < set.n; r++) out.set(roiFractions(plan, set.spectra.subarray(r * C, (r + 1) * C)), r * E);
  }
  return { fractions: out, seconds: (performance.now() - t0) / 1000 };
}

const ORACLE_NOTE =
  '\noracle: Poisson maximum-likelihood fit (non-negative) of each spectrum with its exact components (the generator\'s\n' +
  'detector, background, scatter, escape and pile-up conditions, known to it; the composition is not), no prior over\n' +
  'compositions; presence threshold tuned on the calibration set. oracle+sup is also told which elements are present\n' +
  '(its F1 is left out). Neither is a strict upper bound: an estimator using the prior over mixtures, as the networks\n' +
  'learn it, can beat maximum likelihood at low counts.';

function fmt(x: number, digits = 4): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '  n/a ';
}

function printTable(results: MethodResult[], bounds: DetectionBounds | undefined, perElement: boolean, counts: boolean): void {
  console.log('method        R²       MAE      F1(macro)  F1(≥3σ)  ROC-AUC  threshold  spectra/s');
  for (const r of results) {
    console.log(`${r.method.padEnd(10)} ${fmt(r.r2).padStart(8)} ${fmt(r.mae).padStart(8)} ${fmt(r.f1).padStart(10)} ${fmt(r.f1Detectable ?? NaN).padStart(8)} ${fmt(r.auc).padStart(8)} ${fmt(r.threshold, 3).padStart(10)} ${Math.round(r.spectraPerSecond).toString().padStart(10)}`);
  }
  if (bounds) {
    console.log(
      `ideal observer (knows every other component exactly): F1(macro) ≤ ${fmt(bounds.idealObserverF1)}, F1(≥${bounds.limit}σ) ≤ ${fmt(bounds.idealObserverF1Detectable)}; ` +
        `${(100 * bounds.belowLimitShare).toFixed(1)} % of present labels are below ${bounds.limit}σ (left out of F1(≥${bounds.limit}σ))`,
    );
  }
  if (counts) {
    console.log(`\nby total counts per spectrum (R² / F1)\nmethod     ${(results[0]?.byCounts ?? []).map((b) => `${b.minCounts}-${Number.isFinite(b.maxCounts) ? b.maxCounts : '∞'} (n=${b.n})`.padStart(20)).join('')}`);
    for (const r of results) console.log(`${r.method.padEnd(10)} ${r.byCounts.map((b) => `${fmt(b.r2, 3)} / ${fmt(b.f1, 3)}`.padStart(20)).join('')}`);
  }
  if (!perElement) return;
  const elements = results[0]?.perElement.map((p) => p.element) ?? [];
  console.log(`\nR² per element\nelement ${results.map((r) => r.method.padStart(8)).join(' ')}`);
  for (const [i, el] of elements.entries()) console.log(`${el.padEnd(7)} ${results.map((r) => fmt(r.perElement[i]?.r2 ?? NaN, 3).padStart(8)).join(' ')}`);
  console.log(`\nF1 per element\nelement ${results.map((r) => r.method.padStart(8)).join(' ')}`);
  for (const [i, el] of elements.entries()) console.log(`${el.padEnd(7)} ${results.map((r) => fmt(r.perElement[i]?.f1 ?? NaN, 3).padStart(8)).join(' ')}`);
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('score models and the fit/roi baselines on a fresh held-out synthetic test set')
    .option('-m, --model <name|path>', 'model name in --models-dir or path to NAME.onnx (repeatable, comma list); default: every model in --models-dir', collect)
    .option('--models-dir <dir>', 'where the models live (default: inference.modelsDir, the shipped models/)')
    .option('-n, --n <count>', 'test spectra', '5000')
    .option('--seed <seed>', 'test-set seed: must differ from every seed the model was trained or validated on', '1000')
    .option('--shift <shift>', 'nominal | drift (conditions the nominal fit does not model)', 'nominal')
    .option('--no-baselines', 'skip the fit and roi baselines')
    .option('--roi-background <mode>', 'roi baseline: snip (SNIP background subtracted, as maps.roi.background) or none (gross window sums)', 'snip')
    .option('--per-element', 'print per-element tables')
    .option('--by-counts', 'print R² and F1 by total counts per spectrum (exposure bands)')
    .option('--oracle', 'add the oracle-fit reference rows: Poisson maximum likelihood with each spectrum\'s exact detector and background components (slower)')
    .option('--threads <n>', 'onnxruntime intra-op threads', '1')
    .option('--json', 'print JSON')
    .action(async (opts: EvalOptions, cmd: Command) => {
      const modelsDir = opts.modelsDir ?? configFor(cmd).inference.modelsDir;
      const n = numberOption('n', opts.n, { min: 10, max: 1_000_000, integer: true });
      const seed = numberOption('seed', opts.seed, { min: 0, max: 0xffffffff, integer: true });
      const threads = numberOption('threads', opts.threads, { min: 1, max: 64, integer: true });
      if (opts.shift !== 'nominal' && opts.shift !== 'drift') throw new CliError(`--shift: expected nominal or drift, got '${opts.shift}'`);
      const shift = opts.shift as DatasetShift;
      const roiBackground = opts.roiBackground as RoiBackground;
      if (!ROI_BACKGROUNDS.includes(roiBackground)) throw new CliError(`--roi-background: expected ${ROI_BACKGROUNDS.join(' or ')}, got '${opts.roiBackground}'`);
      let names = opts.model ?? [];
      if (names.length === 0) {
        let files: string[] = [];
        try {
          files = readdirSync(resolve(modelsDir));
        } catch {
          throw new CliError(`no --model given and models dir '${modelsDir}' cannot be read`);
        }
        names = files.filter((f) => f.endsWith('.onnx')).sort().map((f) => f.replace(/\.onnx$/, ''));
        if (names.length === 0 && opts.baselines === false) throw new CliError(`no models in '${modelsDir}' and baselines disabled: nothing to evaluate`);
      }
      const models: OnnxModel[] = [];
      for (const name of names) {
        try {
          models.push(await OnnxModel.load(name, { modelsDir: modelsDir, threads }));
        } catch (err) {
          throw new CliError((err as Error).message);
        }
      }
      for (const m of models) {
        if (trainingSeeds(m.card).includes(seed)) throw new CliError(`--seed ${seed} was used to train or validate ${m.card.name}: pick a held-out seed`);
      }
      const grid: EnergyGrid = models[0]?.card.energyGrid ?? { channels: 256, eMinKeV: 0, eMaxKeV: 20.48 };
      for (const m of models) {
        const g = m.card.energyGrid;
        if (g.channels !== grid.channels || g.eMinKeV !== grid.eMinKeV || g.eMaxKeV !== grid.eMaxKeV) throw new CliError(`models ${models[0]!.card.name} and ${m.card.name} use different energy grids: evaluate them separately`);
      }
      const full = makeSet(n, seed, shift, grid);
      const elements = models[0]?.elements ?? full.elements;
      const set = subset(full, elements);
      const results: MethodResult[] = [];
      for (const m of models) {
        const s = subset(full, m.elements);
        results.push(await evalModel(m, s));
        await m.release();
      }
      if (opts.baselines !== false) {
        // Baseline presence thresholds are tuned on a separate calibration set (never the test set), as the
        // models' thresholds were tuned on their validation sets.
        const calN = Math.min(1000, n);
        const cal = subset(makeSet(calN, (seed ^ 0x5bd1e995) >>> 0, shift, grid), elements);
        for (const method of ['fit', 'roi'] as const) {
          const c = baselineFractions(cal, method, grid, roiBackground);
          const threshold = bestThreshold(cal.presence, c.fractions, cal.n, elements.length, FRACTION_THRESHOLDS);
          const t = baselineFractions(set, method, grid, roiBackground);
          results.push(score(method, set, { fractions: t.fractions, scores: t.fractions, threshold }, t.seconds));
        }
      }
      if (opts.oracle) {
        // Reference rows: Poisson MLE with the exact components of each spectrum (knows the detector and
        // background conditions, not the composition); 'oracle+sup' is also told which elements are present.
        const calN = Math.min(1000, n);
        const cal = makeSet(calN, (seed ^ 0x5bd1e995) >>> 0, shift, grid);
        const calSub = subset(cal, elements);
        const c = oracleOn(cal, elements, false);
        const threshold = bestThreshold(calSub.presence, c.fractions, calSub.n, elements.length, FRACTION_THRESHOLDS);
        const t = oracleOn(full, elements, false);
        results.push(score('oracle', set, { fractions: t.fractions, scores: t.fractions, threshold }, t.seconds));
        const s = oracleOn(full, elements, true);
        const sup = score('oracle+sup', set, { fractions: s.fractions, scores: s.fractions, threshold: 0 }, s.seconds);
        // Told the presence, its presence figures are trivial: left out.
        results.push({
          ...sup,
          f1: NaN,
          auc: NaN,
          threshold: NaN,
          ...(sup.f1Detectable !== undefined ? { f1Detectable: NaN } : {}),
          byCounts: sup.byCounts.map((b) => ({ ...b, f1: NaN })),
          perElement: sup.perElement.map((p) => ({ ...p, f1: NaN, auc: NaN, ...(p.f1Detectable !== undefined ? { f1Detectable: NaN } : {}) })),
        });
      }
      const bounds = detectionBounds(set);
      const summary = { n, seed, shift, grid, elements, results, ...(bounds ? { bounds } : {}) };
      if (opts.json) console.log(JSON.stringify(summary, null, 2));
      else {
        console.log(`held-out test set: n=${n} seed=${seed} shift=${shift} grid=${grid.channels} ch ${grid.eMinKeV}-${grid.eMaxKeV} keV, ${elements.length} elements`);
        printTable(results, bounds, !!opts.perElement, !!opts.byCounts);
        if (opts.oracle) console.log(ORACLE_NOTE);
      }
    });
}
