import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { runCli } from '../support/cli.js';

describe('cli: gemxrf lines / spectrum', () => {
  it('lines fe --json lists Fe lines, edges and yields', () => {
    const r = runCli(['lines', 'fe', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { symbol: string; z: number; edges: Record<string, number>; yields: Record<string, number>; lines: Array<{ iupac: string; siegbahn: string; energyKeV: number; relIntensity: number }> };
    assert.equal(j.symbol, 'Fe');
    assert.equal(j.z, 26);
    assert.ok(Math.abs(j.edges.K! - 7.112) < 0.002);
    assert.ok(j.yields.K! > 0.3 && j.yields.K! < 0.4);
    const ka1 = j.lines.find((l) => l.siegbahn === 'Ka1');
    assert.ok(ka1 && Math.abs(ka1.energyKeV - 6.404) < 0.001 && ka1.relIntensity === 1);
  });

  it('lines prints a table and rejects unknown elements in one line', () => {
    const ok = runCli(['lines', 'PB']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /La1\s+L3M5\s+10\.551/);
    const bad = runCli(['lines', 'Qq']);
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    assert.match(bad.stderr, /unknown element 'Qq'/);
  });

  it('spectrum --json: Poisson counts around the expectation, deterministic by seed', () => {
    const args = ['spectrum', '--elements', 'Fe:0.6,Pb:0.4', '--counts', '20000', '--json'];
    const a = runCli([...args, '--seed', '1']);
    const b = runCli([...args, '--seed', '1']);
    const c = runCli([...args, '--seed', '2']);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    assert.notEqual(a.stdout, c.stdout);
    const j = JSON.parse(a.stdout) as { counts: number[]; expected: number[]; total: number; fractions: Record<string, number>; backgroundShare: number; detectorLineShare: number };
    assert.equal(j.counts.length, 256);
    const expTotal = j.expected.reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(expTotal - 20000) < 1e-6);
    assert.ok(Math.abs(j.total - 20000) < 5 * Math.sqrt(20000)); // total ~ Poisson(20000)
    const shares = j.fractions.Fe! + j.fractions.Pb! + j.backgroundShare + j.detectorLineShare;
    assert.ok(Math.abs(shares - 1) < 1e-9);
    assert.ok(Math.abs(j.fractions.Fe! / j.fractions.Pb! - 1.5) < 1e-9);
  });

  it('spectrum --png writes a valid PNG', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gemxrf-spec-')), 'spec.png');
    const r = runCli(['spectrum', '--elements', 'Fe:0.6,Pb:0.4', '--counts', '5000', '--seed', '1', '--png', file, '--log']);
    assert.equal(r.status, 0, r.stderr);
    const png = PNG.sync.read(readFileSync(file));
    assert.ok(png.width >= 400 && png.height >= 200);
    // not blank: some dark (plotted) pixels
    let dark = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i]! < 100 && png.data[i + 1]! < 100) dark++;
    assert.ok(dark > 500);
  });

  it('spectrum rejects bad options with one clear line', () => {
    for (const [args, msg] of [
      [['--elements', 'Fe:x'], /amount of Fe/],
      [['--elements', 'Zz:1'], /unknown element 'Zz'/],
      [['--elements', 'Fe', '--substrate', 'glass'], /--substrate/],
      [['--elements', 'Fe', '--counts', '-5'], /--counts/],
    ] as const) {
      const r = runCli(['spectrum', ...args]);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
  });
});
