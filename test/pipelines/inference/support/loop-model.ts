// Real ONNX graphs for the inference deadline tests (inference.workerTimeoutSeconds), each with a model card
// the daemon accepts (docs/models.md):
//   - loopModel(dir, name, trips): loop-model.py's graph, a Loop of `trips` iterations inside session.run (about
//     1 us each): 1e3 returns at once, 5e6 runs for seconds (far past a test's 0.25 s deadline, yet ends by
//     itself so the test process can exit: Node joins worker threads at exit), 1e15 never returns.
//   - fifoModel(dir, name): NAME.onnx is a named pipe, so onnxruntime's graph load blocks in open() until
//     someone writes a graph into it (a model file on a hung mount); feed() ends the wait.
// Needs python3-onnx (built on the fly, a few hundred ms); missing() says why not when it cannot run.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../support/cli.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(repoRoot, 'test', 'pipelines', 'inference', 'support', 'loop-model.py');
export const LOOP_ELEMENTS = ['Fe', 'Cu', 'Pb'];

/** Why the graphs cannot be built here (no python3-onnx, no mkfifo), or null. */
export function missing(): string | null {
  const py = spawnSync(PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' });
  if (py.status !== 0) return `python3-onnx is missing (${py.error?.message ?? py.stderr.trim()})`;
  const ff = spawnSync('mkfifo', ['--help'], { encoding: 'utf8' });
  if (ff.status !== 0) return 'mkfifo is missing';
  return null;
}

function writeCard(dir: string, name: string): void {
  const E = LOOP_ELEMENTS.length;
  const card = {
    name, version: 1, architecture: 'test-loop',
    input: { name: 'spectrum', dtype: 'float32', shape: [-1, 256] },
    energyGrid: { channels: 256, eMinKeV: 0, eMaxKeV: 20.48 },
    normalisation: { kind: 'in-graph', description: 'test graph: a Loop, then zero fractions' },
    outputs: [
      { name: 'fractions', dtype: 'float32', shape: [-1, E] },
      { name: 'presence', dtype: 'float32', shape: [-1, E] },
    ],
    elements: LOOP_ELEMENTS,
    presenceThreshold: 0.5,
  };
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(card, null, 2));
}

/** dir/NAME.onnx (a Loop of `trips` iterations per run) + dir/NAME.json. */
export function loopModel(dir: string, name: string, trips: number): string {
  const onnx = join(dir, `${name}.onnx`);
  const r = spawnSync(PYTHON, [SCRIPT, onnx, '--trips', String(trips), '--elements', String(LOOP_ELEMENTS.length)], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`loop-model.py failed (${r.error?.message ?? r.status}):\n${r.stderr}`);
  writeCard(dir, name);
  return onnx;
}

/** dir/NAME.onnx as a named pipe (its graph load blocks) + dir/NAME.json; feed() writes `graph` into the pipe
 *  if a reader waits on it (the blocked load then ends), and is harmless otherwise. */
export function fifoModel(dir: string, name: string, graph: string): { onnx: string; feed(): void } {
  const onnx = join(dir, `${name}.onnx`);
  const r = spawnSync('mkfifo', [onnx], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr}`);
  writeCard(dir, name);
  return {
    onnx,
    feed() {
      let fd: number;
      try {
        // Non-blocking: fails (ENXIO) when no load waits on the pipe instead of blocking this thread.
        fd = openSync(onnx, constants.O_WRONLY | constants.O_NONBLOCK);
      } catch {
        return;
      }
      try {
        // A small graph (< 1 kB) fits the pipe's buffer: one write.
        writeSync(fd, readFileSync(graph));
      } finally {
        closeSync(fd);
      }
    },
  };
}
