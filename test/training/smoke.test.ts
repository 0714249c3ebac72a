// Training smoke test: a tiny `gemxrf dataset`, a few PyTorch steps per architecture (training/smoke.py), then
// each exported ONNX model loaded in onnxruntime-node as the daemon does, checked against its model card and
// against PyTorch's own outputs for the same raw-count spectra.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readModelCard } from '../../pipelines/inference/model-card.js';
import { repoRoot, runCli } from '../support/cli.js';

const PYTHON = '/usr/bin/python3';
const ARCHS = ['cnn', 'vit', 'lt-vit'] as const;
const TOLERANCE = 1e-4; // float32 PyTorch vs onnxruntime: same graph, different kernels

interface Ref { inputs: number[][]; fractions: number[][]; presence: number[][] }
interface Card {
  name: string; architecture: string; parameters: number; presenceThreshold: number;
  input: { name: string; dtype: string; shape: number[] };
  energyGrid: { channels: number; eMinKeV: number; eMaxKeV: number };
  normalisation: { kind: string };
  outputs: { name: string; shape: number[] }[];
  elements: string[];
  training: { datasetSeeds: number[]; datasets: Record<'train' | 'validation' | 'test', { seed: number; n: number }>; n: number; steps: number; device: string };
  metrics: { validation: { r2: number; macroF1: number }; test: { r2: number; macroF1: number } };
}

function python(args: string[], timeoutMs: number) {
  const r = spawnSync(PYTHON, args, { cwd: repoRoot, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, OMP_NUM_THREADS: '1' } });
  assert.equal(r.error, undefined, `could not run ${PYTHON} ${args.join(' ')}: ${r.error?.message}`);
  assert.equal(r.status, 0, `${PYTHON} ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

async function run(session: ort.InferenceSession, rows: number[][], channels: number) {
  const x = new Float32Array(rows.length * channels);
  rows.forEach((row, i) => x.set(row, i * channels));
  const out = await session.run({ spectrum: new ort.Tensor('float32', x, [rows.length, channels]) });
  return { fractions: out.fractions!, presence: out.presence! };
}

function maxAbsDiff(a: Float32Array, b: number[][]): number {
  const flat = b.flat();
  assert.equal(a.length, flat.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - flat[i]!));
  return m;
}

describe('training smoke (PyTorch -> ONNX -> onnxruntime-node)', function () {
  this.timeout(240_000);
  let dir: string;
  let meta: { grid?: Card['energyGrid']; energyGrid?: Card['energyGrid']; elements: string[]; seed: number };

  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'gemxrf-training-'));
    const ds = join(dir, 'ds');
    // --block 16: validation/test splits take whole blocks of shared detector conditions (16 blocks to split)
    const r = runCli(['dataset', '--n', '256', '--seed', '5', '--block', '16', '--out', ds], { timeoutMs: 60_000 });
    assert.equal(r.status, 0, `gemxrf dataset failed:\n${r.stderr}`);
    meta = JSON.parse(readFileSync(join(ds, 'meta.json'), 'utf8'));
    python(['training/smoke.py', '--data', ds, '--out', join(dir, 'models'), '--archs', ARCHS.join(','), '--steps', '6'], 180_000);
  });

  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  for (const arch of ARCHS) {
    describe(arch, () => {
      let card: Card;
      let ref: Ref;
      let session: ort.InferenceSession;
      const base = () => join(dir, 'models', `smoke-${arch}`);

      before(async () => {
        card = JSON.parse(readFileSync(`${base()}.json`, 'utf8'));
        ref = JSON.parse(readFileSync(`${base()}.ref.json`, 'utf8'));
        session = await ort.InferenceSession.create(`${base()}.onnx`, { intraOpNumThreads: 1 });
      });

      it('writes a model card that matches the dataset and the contract', () => {
        const grid = meta.energyGrid ?? meta.grid!;
        const c = grid.channels;
        const e = meta.elements.length;
        assert.equal(card.architecture, arch);
        assert.deepEqual(card.input, { name: 'spectrum', dtype: 'float32', shape: [-1, c] });
        assert.deepEqual(card.energyGrid, grid);
        assert.deepEqual(card.elements, meta.elements);
        assert.deepEqual(card.outputs.map((o) => [o.name, o.shape]), [['fractions', [-1, e]], ['presence', [-1, e]]]);
        assert.equal(card.normalisation.kind, 'in-graph');
        assert.ok(card.presenceThreshold > 0 && card.presenceThreshold < 1, `threshold ${card.presenceThreshold}`);
        assert.ok(card.parameters > 10_000, `only ${card.parameters} parameters`);
        assert.deepEqual(card.training.datasetSeeds, [meta.seed]); // all splits come from the one smoke dataset
        assert.equal(card.training.datasets.train.seed, meta.seed);
        assert.equal(card.training.datasets.train.n + card.training.datasets.validation.n + card.training.datasets.test.n, 256);
        assert.equal(card.training.steps, 6);
        for (const split of ['validation', 'test'] as const) {
          assert.ok(Number.isFinite(card.metrics[split].r2), `${split} R2 ${card.metrics[split].r2}`);
          assert.ok(card.metrics[split].macroF1 >= 0 && card.metrics[split].macroF1 <= 1);
        }
        assert.ok(statSync(`${base()}.onnx`).size < 5 * 1024 * 1024);
        assert.equal(readModelCard(`${base()}.json`).name, `smoke-${arch}`); // the daemon's own card reader accepts it
      });

      it('has the input and output names the card declares', () => {
        assert.deepEqual(session.inputNames, [card.input.name]);
        assert.deepEqual(session.outputNames, card.outputs.map((o) => o.name));
      });

      it('gives PyTorch\'s outputs on raw counts (incl. an all-zero and a very bright spectrum)', async () => {
        const c = card.energyGrid.channels;
        const out = await run(session, ref.inputs, c);
        assert.deepEqual(out.fractions.dims, [ref.inputs.length, card.elements.length]);
        const df = maxAbsDiff(out.fractions.data as Float32Array, ref.fractions);
        const dp = maxAbsDiff(out.presence.data as Float32Array, ref.presence);
        assert.ok(df < TOLERANCE && dp < TOLERANCE, `max |onnx - torch|: fractions ${df}, presence ${dp}`);
      });

      it('keeps fractions non-negative with row sums <= 1 and presence in [0, 1]', async () => {
        const e = card.elements.length;
        const out = await run(session, ref.inputs, card.energyGrid.channels);
        const f = out.fractions.data as Float32Array;
        const p = out.presence.data as Float32Array;
        for (let i = 0; i < ref.inputs.length; i++) {
          let sum = 0;
          for (let j = 0; j < e; j++) {
            const v = f[i * e + j]!;
            assert.ok(v >= 0 && Number.isFinite(v), `fraction ${v} at row ${i}`);
            sum += v;
            assert.ok(p[i * e + j]! >= 0 && p[i * e + j]! <= 1, `presence ${p[i * e + j]} at row ${i}`);
          }
          assert.ok(sum <= 1 + 1e-5, `row ${i} fractions sum to ${sum}`);
        }
      });

      it('has a dynamic batch axis: one spectrum at a time equals the whole batch', async () => {
        const c = card.energyGrid.channels;
        const whole = await run(session, ref.inputs, c);
        const e = card.elements.length;
        for (let i = 0; i < ref.inputs.length; i++) {
          const one = await run(session, [ref.inputs[i]!], c);
          const rowRef = [Array.from((whole.fractions.data as Float32Array).subarray(i * e, (i + 1) * e))];
          assert.ok(maxAbsDiff(one.fractions.data as Float32Array, rowRef) < 1e-6, `row ${i} differs alone`);
        }
      });
    });
  }
});
