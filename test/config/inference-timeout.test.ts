// inference.workerTimeoutSeconds (the inference worker's deadline, pipelines/inference/engine.ts): 60 s by
// default, fractions allowed (tests use 0.25 s), at least 0.2 s, at most an hour.
import assert from 'node:assert/strict';
import { defaultConfig, validateConfig } from '../../config/index.js';

describe('config inference.workerTimeoutSeconds', () => {
  it('60 s by default; 0.2 s to 3600 s, fractions allowed; anything else is a problem on that key', () => {
    assert.equal(defaultConfig().inference.workerTimeoutSeconds, 60);
    for (const good of [0.2, 0.25, 1, 3600]) assert.ok(validateConfig({ inference: { workerTimeoutSeconds: good } }).ok, String(good));
    for (const bad of [0, -1, 0.1, 3601, '5', null]) {
      const r = validateConfig({ inference: { workerTimeoutSeconds: bad } });
      assert.equal(r.ok, false, String(bad));
      if (r.ok) return;
      assert.ok(r.problems.some((p) => p.path === 'inference.workerTimeoutSeconds'), JSON.stringify(r.problems));
    }
  });
});
