// `gemxrf eval --oracle` from the command line: the oracle rows come after the model and baselines, with finite
// metrics, and the oracle told the present elements (oracle+sup) is at least as good in R² as the plain oracle.
import assert from 'node:assert/strict';
import { runCliAsync } from '../../support/cli.js';

describe('gemxrf eval --oracle (CLI)', function () {
  this.timeout(180_000);

  it('adds oracle and oracle+sup rows with finite metrics', async () => {
    const r = await runCliAsync(['eval', '-n', '60', '--seed', '4243', '--oracle', '--no-baselines', '--json', '-m', 'lt-vit'], { timeoutMs: 170_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { results: Array<{ method: string; r2: number; mae: number }> };
    assert.deepEqual(out.results.map((x) => x.method), ['lt-vit', 'oracle', 'oracle+sup']);
    for (const row of out.results) assert.ok(Number.isFinite(row.r2) && Number.isFinite(row.mae), JSON.stringify(row));
    const by = Object.fromEntries(out.results.map((x) => [x.method, x]));
    assert.ok(by['oracle+sup']!.r2 >= by['oracle']!.r2 - 1e-9, `oracle+sup ${by['oracle+sup']!.r2} vs oracle ${by['oracle']!.r2}`);
    assert.ok(by['oracle+sup']!.r2 > 0.8, `oracle+sup R² ${by['oracle+sup']!.r2}`);
  });
});
