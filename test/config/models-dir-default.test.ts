// The default inference.modelsDir is the installed package's models/ (absolute), so the shipped models are found
// whatever the working directory: a daemon started by a systemd unit or from /srv/xrf used to have no model maps.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../config/schema.js';
import { repoRoot, runCli } from '../support/cli.js';

describe('inference.modelsDir default', () => {
  it('is the package models/ folder, absolute', () => {
    assert.equal(configSchema.parse({}).inference.modelsDir, join(repoRoot, 'models'));
  });

  it('gemxrf eval finds the shipped models from another working directory', function () {
    this.timeout(120_000);
    const cwd = mkdtempSync(join(tmpdir(), 'gemxrf-cwd-'));
    const r = runCli(['eval', '-n', '20', '--seed', '4242', '--no-baselines', '--json'], { cwd });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { methods?: Array<{ name: string }> } & Record<string, unknown>;
    for (const name of ['cnn', 'lt-vit', 'vit']) assert.ok(JSON.stringify(out).includes(`"${name}"`), `${name} evaluated`);
  });

  it('a relative modelsDir given in the configuration is still the working directory\'s', () => {
    assert.equal(configSchema.parse({ inference: { modelsDir: 'my-models' } }).inference.modelsDir, 'my-models');
  });
});
