import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backgroundResponse, detectorLinesResponse, elementResponse, PIGMENT_ELEMENTS, synthesize } from '../../physics/index.js';
import { generateBlock, generateDataset, generateDatasetArrays, datasetRecipe, mixExpected, type BlockResponses, type DatasetBlock, type DatasetRecipe } from '../../simulator/dataset/generate.js';
import { readNpy } from '../../simulator/dataset/npy.js';
import { writeDataset } from '../../simulator/dataset/write.js';
import { runCli } from '../support/cli.js';
import { parseHeaderByHand } from './npy-header.js';

const E = PIGMENT_ELEMENTS.length;

/** The responses a block was mixed from, recomputed from its nuisance draw (what generateBlock uses). */
function blockResponses(recipe: DatasetRecipe, blk: DatasetBlock): BlockResponses {
  const { det, bg } = blk.nuisance;
  const tube = { anode: bg.tubeAnode, kV: bg.tubeKV };
  return {
    elements: PIGMENT_ELEMENTS.map((el) => elementResponse(recipe.grid, el, det, tube)),
    background: backgroundResponse(recipe.grid, bg, det),
    detectorLines: detectorLinesResponse(recipe.grid, det),
  };
}

describe('simulator/dataset', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'gemxrf-ds-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is deterministic by seed; a smaller n is a prefix of a larger one', () => {
    const a = generateDatasetArrays({ n: 300, seed: 4, blockSize: 256 });
    const b = generateDatasetArrays({ n: 300, seed: 4, blockSize: 256 });
    const c = generateDatasetArrays({ n: 300, seed: 5, blockSize: 256 });
    const d = generateDatasetArrays({ n: 200, seed: 4, blockSize: 256 });
    assert.deepEqual(a.spectra, b.spectra);
    assert.deepEqual(a.fractions, b.fractions);
    assert.notDeepEqual(a.spectra, c.spectra);
    assert.deepEqual(d.spectra, a.spectra.subarray(0, 200 * 256));
    assert.deepEqual(d.presence, a.presence.subarray(0, 200 * E));
  });

  it('rows are sane: fractions in [0,1] summing below 1, presence = fraction > 0, 1-6 elements, Poisson counts', () => {
    const { spectra, fractions, presence } = generateDatasetArrays({ n: 1000, seed: 1, blockSize: 250 });
    const perElement = new Int32Array(E);
    const kHist = new Int32Array(8);
    let minTotal = Infinity, maxTotal = 0;
    for (let r = 0; r < 1000; r++) {
      let s = 0, k = 0;
      for (let e = 0; e < E; e++) {
        const f = fractions[r * E + e]!;
        assert.ok(f >= 0 && f <= 1);
        assert.equal(presence[r * E + e], f > 0 ? 1 : 0);
        s += f;
        if (f > 0) {
          k++;
          perElement[e]!++;
        }
      }
      assert.ok(s <= 1 && s > 0.3, `row ${r} fractions sum ${s}`);
      kHist[k]!++;
      let total = 0;
      for (let c = 0; c < 256; c++) {
        const v = spectra[r * 256 + c]!;
        assert.ok(v >= 0 && Number.isInteger(v));
        total += v;
      }
      minTotal = Math.min(minTotal, total);
      maxTotal = Math.max(maxTotal, total);
    }
    assert.equal(kHist[0], 0);
    for (let k = 1; k <= 6; k++) assert.ok(kHist[k]! > 20, `mixtures with ${k} elements: ${kHist[k]}`);
    assert.equal(kHist[7], 0);
    for (let e = 0; e < E; e++) assert.ok(perElement[e]! > 10, `${PIGMENT_ELEMENTS[e]} occurs ${perElement[e]} times`);
    assert.ok(minTotal >= 50 && minTotal < 300, `smallest spectrum ${minTotal} counts`);
    assert.ok(maxTotal > 50_000 && maxTotal < 110_000, `largest spectrum ${maxTotal} counts`);
  });

  it('row spectra are physics synthesize() of their mixture, pile-up included', () => {
    for (const shift of ['nominal', 'drift'] as const) {
      const recipe = datasetRecipe({ n: 10, seed: 3, shift });
      const blk = generateBlock(recipe, 0, 0, 10);
      const { det, bg } = blk.nuisance;
      if (shift === 'drift') assert.ok(det.pileupFraction > 0 && det.resolution >= 0.22 && bg.shapeJitter >= 0.5);
      const grid = recipe.grid;
      const responses = blockResponses(recipe, blk);
      for (let r = 0; r < 10; r++) {
        const fr = blk.fractions.subarray(r * E, (r + 1) * E);
        const elements: Record<string, number> = {};
        PIGMENT_ELEMENTS.forEach((el, e) => (elements[el] = fr[e]!));
        const want = synthesize(grid, { elements, background: blk.backgroundShare[r]! }, det, bg);
        const got = mixExpected(new Float64Array(256), responses, fr, blk.backgroundShare[r]!, det, grid);
        // Equal up to float32 rounding of the stored fractions (synthesize renormalises the mixture).
        for (let c = 0; c < 256; c++) assert.ok(Math.abs(want.expected[c]! - got[c]!) <= 1e-6 * want.expected[c]! + 1e-15, `${shift} row ${r} channel ${c}`);
        PIGMENT_ELEMENTS.forEach((el, e) => assert.ok(Math.abs(want.fractions[el]! - fr[e]!) < 1e-6, `${el} fraction`));
      }
    }
  });

  it('spectra scatter around the expected spectrum as Poisson counts', () => {
    // Mean over many rows of (counts - expected)^2 / expected ~ 1 when the draw is Poisson.
    const recipe = datasetRecipe({ n: 256, seed: 12 });
    const blk = generateBlock(recipe, 0, 0, 256);
    const { det } = blk.nuisance;
    const responses = blockResponses(recipe, blk);
    let z2 = 0, n = 0;
    for (let r = 0; r < 256; r++) {
      const exp = mixExpected(new Float64Array(256), responses, blk.fractions.subarray(r * E, (r + 1) * E), blk.backgroundShare[r]!, det, recipe.grid);
      let total = 0;
      for (let c = 0; c < 256; c++) total += blk.spectra[r * 256 + c]!;
      // The count scale is not stored; estimate it from the total (removes one degree of freedom per row).
      for (let c = 0; c < 256; c++) {
        const mu = total * exp[c]!;
        if (mu < 20) continue;
        z2 += (blk.spectra[r * 256 + c]! - mu) ** 2 / mu;
        n++;
      }
    }
    assert.ok(n > 5000, `bins used ${n}`);
    assert.ok(Math.abs(z2 / n - 1) < 0.08, `mean squared Pearson residual ${z2 / n}`);
  });

  it('writes .npy files with the documented shapes and dtypes, and meta.json', () => {
    const out = join(dir, 'small');
    const meta = writeDataset(out, { n: 500, seed: 9, grid: { channels: 128, eMinKeV: 0, eMaxKeV: 20.48 }, shift: 'drift' });
    const expect = { 'spectra.npy': ['<f4', '(500, 128)', 500 * 128 * 4], 'fractions.npy': ['<f4', '(500, 24)', 500 * 24 * 4], 'presence.npy': ['|u1', '(500, 24)', 500 * 24], 'significance.npy': ['<f4', '(500, 24)', 500 * 24 * 4] } as const;
    for (const [f, [descr, shape, bytes]] of Object.entries(expect)) {
      const buf = readFileSync(join(out, f));
      const h = parseHeaderByHand(buf);
      assert.equal(h.descr, descr, f);
      assert.equal(h.shape, shape, f);
      assert.equal(h.fortran, 'False');
      assert.equal(buf.length - h.dataOffset, bytes, f);
    }
    const m = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'));
    assert.deepEqual(m.grid, { channels: 128, eMinKeV: 0, eMaxKeV: 20.48 });
    assert.deepEqual(m.elements, [...PIGMENT_ELEMENTS]);
    assert.equal(m.n, 500);
    assert.equal(m.seed, 9);
    assert.equal(m.shift, 'drift');
    assert.deepEqual(m.nuisance.resolution, [0.22, 0.3]);
    assert.equal(meta.n, 500);
    assert.ok(!existsSync(join(out, 'spectra.npy.partial')));
    // The files hold what the in-memory generator makes.
    const mem = generateDatasetArrays({ n: 500, seed: 9, grid: { channels: 128, eMinKeV: 0, eMaxKeV: 20.48 }, shift: 'drift' });
    assert.deepEqual(readNpy(join(out, 'spectra.npy')).data, mem.spectra);
    assert.deepEqual(readNpy(join(out, 'presence.npy')).data, mem.presence);
    assert.deepEqual(readNpy(join(out, 'significance.npy')).data, mem.significance);
  });

  it('significance is the matched-filter z of each present element: sqrt(exposure) scaling, 0 where absent', () => {
    const recipe = datasetRecipe({ n: 256, seed: 21 });
    const blk = generateBlock(recipe, 0, 0, 256);
    const { det } = blk.nuisance;
    const responses = blockResponses(recipe, blk);
    let checked = 0, above3 = 0, below3 = 0;
    for (let r = 0; r < 256; r++) {
      const fr = blk.fractions.subarray(r * E, (r + 1) * E);
      const exp = mixExpected(new Float64Array(256), responses, fr, blk.backgroundShare[r]!, det, recipe.grid);
      let total = 0;
      for (let c = 0; c < 256; c++) total += blk.spectra[r * 256 + c]!;
      for (let e = 0; e < E; e++) {
        const z = blk.significance[r * E + e]!;
        if (fr[e] === 0) {
          assert.equal(z, 0);
          continue;
        }
        (z >= 3 ? above3++ : below3++);
        let q = 0;
        for (let c = 0; c < 256; c++) if (exp[c]! > 0) q += responses.elements[e]![c]! ** 2 / exp[c]!;
        // The exposure is not stored: z^2 / (f^2 q) must be it, i.e. the total counts within Poisson noise.
        if (total < 2000) continue;
        const exposure = (z * z) / (fr[e]! ** 2 * q);
        assert.ok(Math.abs(exposure / total - 1) < 5 / Math.sqrt(total), `row ${r} ${PIGMENT_ELEMENTS[e]}: exposure ${exposure} vs total ${total}`);
        checked++;
      }
    }
    assert.ok(checked > 100, `checked ${checked}`);
    // Both sides of the detection limit occur: the labels include elements no method can see.
    assert.ok(above3 > 100 && below3 > 10, `above ${above3}, below ${below3}`);
  });

  it('numpy.load reads the files (when python3 with numpy is installed)', function () {
    const out = join(dir, 'small');
    const py = '/usr/bin/python3';
    const probe = spawnSync(py, ['-c', 'import numpy'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      if (process.env.CI) throw new Error('python3-numpy is required in CI');
      this.skip();
    }
    const r = spawnSync(py, ['-c', [
      'import numpy as np, sys, json',
      `d = ${JSON.stringify(out)}`,
      "s = np.load(d + '/spectra.npy'); f = np.load(d + '/fractions.npy'); p = np.load(d + '/presence.npy')",
      "m = json.load(open(d + '/meta.json'))",
      "assert s.shape == (m['n'], m['grid']['channels']) and s.dtype == np.float32, s.shape",
      "assert f.shape == (m['n'], len(m['elements'])) and f.dtype == np.float32",
      "assert p.dtype == np.uint8 and ((f > 0) == (p == 1)).all()",
      "assert (f.sum(1) <= 1 + 1e-6).all()",
      "print(int(s.sum()))",
    ].join('\n')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const mem = generateDatasetArrays({ n: 500, seed: 9, grid: { channels: 128, eMinKeV: 0, eMaxKeV: 20.48 }, shift: 'drift' });
    assert.equal(Number(r.stdout.trim()), mem.spectra.reduce((a, b) => a + b, 0));
  });

  it('gemxrf dataset writes a dataset and reports bad options in one line', function () {
    this.timeout(120_000); // two CLI processes from source; slow when the machine is loaded
    const out = join(dir, 'cli');
    const ok = runCli(['dataset', '--n', '300', '--seed', '2', '--out', out, '--channels', '64', '--emax', '16']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /wrote 300 spectra \(64 channels 0-16 keV, 24 elements, shift nominal, seed 2\)/);
    assert.deepEqual(readNpy(join(out, 'spectra.npy')).shape, [300, 64]);
    assert.equal(ok.stderr.includes('dataset ['), false, 'no progress bar when stderr is not a terminal');
    for (const [args, msg] of [[['--shift', 'sideways'], /--shift: expected nominal or drift/]] as const) {
      const r = runCli(['dataset', '--out', join(dir, 'bad'), ...args]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, msg);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  it('library options are validated', () => {
    assert.throws(() => [...generateDataset({ n: 0, seed: 1 })], /positive integer/);
    assert.throws(() => [...generateDataset({ n: 5, seed: -1 })], /seed/);
    assert.throws(() => [...generateDataset({ n: 5, seed: 1, shift: 'weird' as never })], /unknown dataset shift/);
    assert.throws(() => [...generateDataset({ n: 5, seed: 1, grid: { channels: 10, eMinKeV: 5, eMaxKeV: 1 } })]);
  });
});
