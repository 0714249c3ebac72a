import assert from 'node:assert/strict';
import { firstValueFrom, take, toArray } from 'rxjs';
import { sampleStats, StatsSampler } from '../../../pipelines/stats/stats.js';

describe('pipelines/stats', () => {
  it('reports numeric counters and their rates per second between samples', () => {
    let now = 0;
    const c = { events: 0, dropped: 0, name: 'x', perBoard: [1, 2], nested: { a: 1 } };
    const s = new StatsSampler([{ name: 'cube', read: () => c }], () => now);
    now = 500;
    c.events = 100;
    const a = s.sample();
    assert.deepEqual(a.stages.cube!.counters, { events: 100, dropped: 0, perBoard: 3 });
    assert.equal(a.stages.cube!.rates.events, 200);
    assert.equal(a.intervalS, 0.5);
    now = 2500;
    c.events = 300;
    c.dropped = 4;
    const b = s.sample();
    assert.equal(b.stages.cube!.rates.events, 100);
    assert.equal(b.stages.cube!.rates.dropped, 2);
    assert.equal(b.elapsedS, 2.5);
    assert.doesNotThrow(() => JSON.stringify(b));
  });

  it('sampleStats emits on its interval', async () => {
    let n = 0;
    const samples = await firstValueFrom(sampleStats([{ name: 's', read: () => ({ n: ++n }) }], 10).pipe(take(3), toArray()));
    assert.deepEqual(samples.map((x) => x.stages.s!.counters.n), [1, 2, 3]);
    assert.ok(samples[2]!.elapsedS > 0);
  });
});
