// The real ONNX model the inference tests run: the shipped models/lt-vit.onnx (+ card) when it exists,
// otherwise a smoke LT-ViT trained for a few steps by training/smoke.py on a tiny `gemxrf dataset`
// (about 20 s once; cached in the OS temp dir keyed by the training sources, so later runs reuse it).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, runCli } from '../../../support/cli.js';

export interface TestModel {
  /** Path to the .onnx (its card sits next to it). */
  onnx: string;
  modelsDir: string;
  name: string;
  shipped: boolean;
}

const PYTHON = '/usr/bin/python3';

function trainingHash(): string {
  const h = createHash('sha256');
  const dir = join(repoRoot, 'training');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.py')).sort()) h.update(f).update(readFileSync(join(dir, f)));
  return h.digest('hex').slice(0, 12);
}

export function testModel(): TestModel {
  const shipped = join(repoRoot, 'models', 'lt-vit.onnx');
  if (existsSync(shipped) && existsSync(join(repoRoot, 'models', 'lt-vit.json')))
    return { onnx: shipped, modelsDir: join(repoRoot, 'models'), name: 'lt-vit', shipped: true };
  const dir = join(tmpdir(), `gemxrf-test-model-${trainingHash()}`);
  const onnx = join(dir, 'models', 'smoke-lt-vit.onnx');
  if (!existsSync(onnx)) {
    // Built in a scratch folder and renamed into place: a run killed halfway leaves no half model behind.
    const scratch = `${dir}.tmp-${process.pid}`;
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    const ds = runCli(['dataset', '--n', '256', '--block', '16', '--seed', '5', '--out', join(scratch, 'ds')], { timeoutMs: 60_000 });
    if (ds.status !== 0) throw new Error(`gemxrf dataset failed:\n${ds.stderr}`);
    const r = spawnSync(PYTHON, ['training/smoke.py', '--data', join(scratch, 'ds'), '--out', join(scratch, 'models'), '--archs', 'lt-vit', '--steps', '6'], {
      cwd: repoRoot, encoding: 'utf8', timeout: 180_000, env: { ...process.env, OMP_NUM_THREADS: '1' },
    });
    if (r.status !== 0) throw new Error(`training/smoke.py failed (${r.error?.message ?? r.status}):\n${r.stderr}`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(scratch, dir);
  }
  return { onnx, modelsDir: join(dir, 'models'), name: 'smoke-lt-vit', shipped: false };
}
