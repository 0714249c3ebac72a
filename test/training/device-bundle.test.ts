// The GPU machine has no Node.js project, only a carried node binary and training/device/generate.ts bundled
// into one file (training/device/build.ts). That bundle must write exactly what `gemxrf dataset` writes, or
// models trained there would not be trained on the data their cards describe.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGenerator } from '../../training/device/build.js';
import { writeDataset, type DatasetOptions } from '../../simulator/dataset/index.js';
import { runCli } from '../support/cli.js';

/** Runs the bundle from its own folder (no repository around it: the line table must be inlined). */
function runBundle(dir: string, args: string[]) {
  return spawnSync(process.execPath, ['generate.mjs', ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
}

/** Every file of a dataset directory, meta.json without its run-specific fields (createdAt, seconds). */
function contents(dir: string): Map<string, Buffer | object> {
  const out = new Map<string, Buffer | object>();
  for (const f of readdirSync(dir).sort()) {
    if (f === 'meta.json') {
      const { createdAt: _c, seconds: _s, ...rest } = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>;
      out.set(f, rest);
    } else out.set(f, readFileSync(join(dir, f)));
  }
  return out;
}

function assertSameDataset(actual: string, expected: string): void {
  const a = contents(actual);
  const e = contents(expected);
  assert.deepEqual([...a.keys()], [...e.keys()], 'same files');
  assert.ok(e.has('meta.json') && e.size >= 4, `a complete dataset: ${[...e.keys()].join(', ')}`);
  for (const [name, want] of e) {
    if (Buffer.isBuffer(want)) assert.ok(want.equals(a.get(name) as Buffer), `${name} differs`);
    else assert.deepEqual(a.get(name), want, `${name} differs`);
  }
}

describe('training/device generator bundle', function () {
  this.timeout(60_000);
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gemxrf-bundle-'));
    const bytes = await buildGenerator(join(dir, 'generate.mjs'));
    assert.ok(bytes > 100_000 && bytes < 2_000_000, `bundle of ${bytes} bytes`); // line table inlined, no node_modules
  });

  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  const cases: Array<{ args: string[]; opts: DatasetOptions }> = [
    { args: ['--n', '300', '--seed', '12', '--block', '64'], opts: { n: 300, seed: 12, blockSize: 64 } },
    {
      args: ['--n', '200', '--seed', '13', '--shift', 'drift', '--block', '50', '--channels', '128', '--emin', '0.5', '--emax', '16'],
      opts: { n: 200, seed: 13, shift: 'drift', blockSize: 50, grid: { channels: 128, eMinKeV: 0.5, eMaxKeV: 16 } },
    },
  ];
  for (const [i, c] of cases.entries()) {
    it(`writes the same files as writeDataset (${c.args.join(' ')})`, () => {
      const r = runBundle(dir, ['--out', `b${i}`, ...c.args]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^wrote \d+ spectra/);
      writeDataset(join(dir, `w${i}`), c.opts);
      assertSameDataset(join(dir, `b${i}`), join(dir, `w${i}`));
    });
  }

  it('has the defaults of gemxrf dataset', () => {
    const r = runBundle(dir, ['--out', 'bd', '--n', '100', '--seed', '14']);
    assert.equal(r.status, 0, r.stderr);
    const cli = runCli(['dataset', '--out', join(dir, 'cd'), '--n', '100', '--seed', '14']);
    assert.equal(cli.status, 0, cli.stderr);
    assertSameDataset(join(dir, 'bd'), join(dir, 'cd'));
  });

  it('refuses bad options with a message and exit status 1', () => {
    for (const args of [['--n', '10'], ['--out', 'x', '--n', '1.5'], ['--out', 'x', '--shift', 'sideways'], ['--out', 'x', '--emin', '5', '--emax', '2'], ['--out', 'x', '--bogus', '1']]) {
      const r = runBundle(dir, args);
      assert.equal(r.status, 1, `${args.join(' ')}: status ${r.status}`);
      assert.match(r.stderr, /^generate: /, args.join(' '));
    }
  });
});
