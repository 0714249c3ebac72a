// The optimised HitGenerator (shared erfc per strip boundary, insertion into time order, merged noise hits,
// no per-batch allocation) against the straightforward version it replaced (ReferenceHitGenerator, kept
// unchanged in simulator/generators/hits-reference.ts): same seed, same calls -> bit-identical hits, event
// indices and truth, across seeds and readout settings, including the paths the default settings rarely take
// (dead and edge strips, clock-start clamping, heavy noise, a jitter far above the event spacing that
// exhausts the insertion budget and falls back to a full sort).
import assert from 'node:assert/strict';
import { HitGenerator, type HitBatchWithTruth, type StripReadoutOptions } from '../../simulator/generators/hits.js';
import { ReferenceHitGenerator } from '../../simulator/generators/hits-reference.js';
import type { EventGeneratorOptions } from '../../simulator/generators/events.js';

type Opts = EventGeneratorOptions & { readout?: StripReadoutOptions };

function bytes(a: ArrayBufferView, n: number, per: number): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, n * per);
}

function assertSame(a: HitBatchWithTruth, b: HitBatchWithTruth, what: string): void {
  assert.equal(a.hits.n, b.hits.n, `${what}: hit count`);
  assert.equal(a.truth.n, b.truth.n, `${what}: event count`);
  const n = a.hits.n, e = a.truth.n;
  assert.ok(bytes(a.hits.t, n, 8).equals(bytes(b.hits.t, n, 8)), `${what}: hit times`);
  assert.ok(bytes(a.hits.plane, n, 1).equals(bytes(b.hits.plane, n, 1)), `${what}: planes`);
  assert.ok(bytes(a.hits.strip, n, 2).equals(bytes(b.hits.strip, n, 2)), `${what}: strips`);
  assert.ok(bytes(a.hits.adc, n, 2).equals(bytes(b.hits.adc, n, 2)), `${what}: adc`);
  assert.equal(a.hitEvent.length, n);
  assert.ok(bytes(a.hitEvent, n, 4).equals(bytes(b.hitEvent, n, 4)), `${what}: hit events`);
  assert.ok(bytes(a.truthStripX, e, 8).equals(bytes(b.truthStripX, e, 8)), `${what}: truth X`);
  assert.ok(bytes(a.truthStripY, e, 8).equals(bytes(b.truthStripY, e, 8)), `${what}: truth Y`);
  for (const k of ['x', 'y', 'adc'] as const) assert.ok(bytes(a.truth[k], e, 2).equals(bytes(b.truth[k], e, 2)), `${what}: truth ${k}`);
  assert.ok(bytes(a.truth.t, e, 8).equals(bytes(b.truth.t, e, 8)), `${what}: truth t`);
}

function compare(opts: Opts, calls: Array<['next', number] | ['generate', number]>, label: string): number {
  const fast = new HitGenerator(opts), ref = new ReferenceHitGenerator(opts);
  let hits = 0;
  calls.forEach(([kind, arg], i) => {
    const a = kind === 'next' ? fast.next(arg) : fast.generate(arg);
    const b = kind === 'next' ? ref.next(arg) : ref.generate(arg);
    assertSame(a, b, `${label} call ${i} (${kind} ${arg})`);
    hits += a.hits.n;
  });
  return hits;
}

describe('simulator/HitGenerator equals the reference implementation bit for bit', () => {
  it('default readout, several seeds, next() and generate() batches of varying size', () => {
    for (const seed of [1, 2, 7, 21, 12345, 0xdeadbeef]) {
      const hits = compare({ phantom: 'phantom-painting', ratePerSecond: 1e6, seed }, [['next', 3000], ['generate', 2e6], ['next', 1], ['next', 0], ['generate', 5e6], ['next', 8000]], `seed ${seed}`);
      assert.ok(hits > 30_000, `seed ${seed}: ${hits} hits`);
    }
  });

  it('high rates (events closer than the jitter), small and odd strip counts, dead strips, wide clusters', () => {
    compare({ phantom: 'uniform:Fe', ratePerSecond: 1e8, seed: 3 }, [['next', 20_000], ['generate', 1e5]], 'rate 1e8');
    compare({ phantom: 'phantom-painting', ratePerSecond: 1e7, seed: 4, width: 37, height: 23, readout: { stripsPerPlane: 50, maxClusterStrips: 7, cloudSigmaStrips: [0.05, 2.5] } }, [['next', 10_000]], 'odd geometry');
    const deadStrips = [0, 1, 5, 63, 64, 100, 127].flatMap((strip) => [{ plane: 0 as const, strip }, { plane: 1 as const, strip: 127 - strip }]);
    compare({ phantom: 'phantom-painting', ratePerSecond: 2e6, seed: 5, readout: { deadStrips, thresholdAdc: 0, stripNoiseAdc: 0 } }, [['next', 10_000], ['generate', 3e6]], 'dead strips');
    compare({ phantom: 'uniform:Fe', ratePerSecond: 1e6, seed: 6, readout: { maxClusterStrips: 1 } }, [['next', 5000]], 'one-strip clusters');
  });

  it('clock-start clamping, heavy noise, no noise, and a jitter that exhausts the insertion budget', () => {
    compare({ phantom: 'uniform:Fe', ratePerSecond: 1e7, seed: 8, startNs: 1000, readout: { planeJitterNs: 200, stripJitterNs: 50 } }, [['next', 3000], ['next', 3000]], 'clamped start');
    compare({ phantom: 'phantom-painting', ratePerSecond: 1e5, seed: 9, readout: { noiseRatePerStripHz: 1e5 } }, [['generate', 2e6], ['next', 500]], 'heavy noise');
    compare({ phantom: 'phantom-painting', ratePerSecond: 1e6, seed: 10, readout: { noiseRatePerStripHz: 0 } }, [['next', 5000], ['generate', 1e6]], 'no noise');
    compare({ phantom: 'phantom-painting', ratePerSecond: 1e7, seed: 11, readout: { planeJitterNs: 1e6, stripJitterNs: 1e5 } }, [['next', 20_000], ['next', 500], ['generate', 2e6]], 'huge jitter (full-sort fallback)');
  });
});
