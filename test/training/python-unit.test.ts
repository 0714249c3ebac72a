// Runs the training code's Python unit tests (metrics, thinning, batching, LT-ViT attention flow) under mocha,
// so `npm test` covers them with the same Debian python3 the smoke test uses.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../support/cli.js';

describe('training python unit tests', function () {
  this.timeout(120_000);
  it('pass under /usr/bin/python3 -m unittest', () => {
    const r = spawnSync('/usr/bin/python3', ['-m', 'unittest', 'discover', '-s', 'training/tests'], {
      cwd: repoRoot, encoding: 'utf8', timeout: 110_000, env: { ...process.env, OMP_NUM_THREADS: '1' },
    });
    assert.equal(r.error, undefined, `could not run python3: ${r.error?.message}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /Ran [1-9]\d* tests?/);
  });
});
