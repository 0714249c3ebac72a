// Differential test: the optimised EventFormer (pipelines/formation/) against the implementation it replaced,
// kept verbatim in helpers/reference/ (commit d94f41d). On random streams (photon streams at several rates and
// disorders, and hostile ones: pile-up past the sort and size limits, bad planes and strips, zero and
// saturating charges, equal times, late hits, clock resets, one plane silent, NaN times), random formation
// parameters and random batch splits (empty batches included), every push must return the same events (exact
// values, Object.is on times), the counters and pending hits must agree after every push, and a snapshot of
// either restored into the other must go on identically.
import assert from 'node:assert/strict';
import { configSchema, type FormationConfig } from '../../../config/schema.js';
import { allocHitBatch, type EventBatch, type HitBatch } from '../../../drivers/batches.js';
import { EventFormer } from '../../../pipelines/formation/event-former.js';
import type { EventFormerState } from '../../../pipelines/formation/former-state.js';
import { EventFormer as ReferenceFormer } from './helpers/reference/event-former.js';
import { photonStream, rng, type Hit } from './helpers/hit-stream.js';

const detector = { stripsPerPlane: 128, width: 100, height: 100 };

/** Hostile hits: clusters of 1..n hits (sometimes thousands) on a few strips, odd values mixed in. */
function hostileStream(seed: number, clusters: number): Hit[] {
  const r = rng(seed);
  const hits: Hit[] = [];
  let t = 5e9;
  for (let c = 0; c < clusters; c++) {
    const u = r();
    if (u < 0.01) t = r() * 1e6; // device clock restart (far more than clockResetNs back)
    else if (u < 0.03) t += 3e9; // long silence
    else t += r() < 0.5 ? Math.floor(r() * 300) : Math.floor(r() * 5000);
    const size = r() < 0.02 ? 33 + Math.floor(r() * 200) : r() < 0.004 ? 4000 + Math.floor(r() * 600) : 1 + Math.floor(r() * 8);
    const plane = r() < 0.1 ? Math.floor(r() * 2) : -1; // -1: both planes
    const s0 = Math.floor(r() * 140);
    for (let k = 0; k < size; k++) {
      const p = plane >= 0 ? plane : Math.floor(r() * 2);
      const v = r();
      hits.push({
        plane: v < 0.005 ? 2 + Math.floor(r() * 3) : p,
        strip: v > 0.995 ? 128 + Math.floor(r() * 1000) : Math.max(0, s0 + Math.floor((r() - 0.5) * 9)),
        adc: v < 0.03 ? 0 : v < 0.05 ? 65535 : Math.floor(r() * 4000),
        t: v > 0.99 && v < 0.992 ? NaN : r() < 0.01 ? t - 2500 - r() * 1e5 : t + Math.floor(r() * (size > 100 ? 20 : 150)),
      });
    }
  }
  return hits;
}

function batchOf(hits: readonly Hit[], from: number, to: number): HitBatch {
  const b = allocHitBatch(to - from);
  for (let i = from; i < to; i++) {
    const h = hits[i]!;
    b.plane[i - from] = h.plane;
    b.strip[i - from] = h.strip;
    b.adc[i - from] = h.adc;
    b.t[i - from] = h.t;
  }
  b.n = to - from;
  return b;
}

function events(b: EventBatch): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < b.n; i++) out.push([b.x[i]!, b.y[i]!, b.adc[i]!, b.t[i]!]);
  return out;
}

function sameEvents(a: EventBatch, b: EventBatch, what: string): void {
  assert.deepStrictEqual(events(a), events(b), what);
}

/** A snapshot with each plane's pending hits in stable time order (the order any stable sort gives). */
function normalised(s: EventFormerState): EventFormerState {
  const planes = s.planes.map((p) => {
    const h = p.hits;
    const idx = Array.from({ length: h.t.length }, (_, i) => i).sort((a, b) => h.t[a]! - h.t[b]! || a - b);
    return { ...p, hits: { t: Float64Array.from(idx, (i) => h.t[i]!), strip: Uint16Array.from(idx, (i) => h.strip[i]!), adc: Uint16Array.from(idx, (i) => h.adc[i]!) } };
  }) as EventFormerState['planes'];
  return { ...s, planes };
}

type Former = EventFormer | ReferenceFormer;

/** Feeds `hits` in random batches to both; checks every push; swaps states across at a few points. */
function compare(hits: readonly Hit[], params: FormationConfig, seed: number, maxPendingHits?: number): { events: number } {
  const r = rng(seed);
  const opts = maxPendingHits === undefined ? {} : { maxPendingHits };
  let ours: Former = new EventFormer(params, detector, opts);
  let ref: Former = new ReferenceFormer(params, detector, opts);
  let total = 0;
  let i = 0;
  let pushes = 0;
  const maxBatch = r() < 0.5 ? 64 : 5000;
  while (i < hits.length) {
    const n = r() < 0.05 ? 0 : Math.min(hits.length - i, 1 + Math.floor(r() * maxBatch));
    const b = batchOf(hits, i, i + n);
    i += n;
    const a = ours.push(b);
    const e = ref.push(b);
    const where = `seed ${seed}, push ${pushes++} (hits ${i - n}..${i})`;
    sameEvents(a, e, where);
    assert.deepStrictEqual(ours.counters(), ref.counters(), `counters, ${where}`);
    assert.equal(ours.pendingHits, ref.pendingHits, `pending hits, ${where}`);
    total += a.n;
    const u = r();
    if (u < 0.03) {
      // Checkpoint both and restore each one's state into a fresh former of the other implementation.
      const so = ours.snapshot();
      const sr = ref.snapshot();
      assert.deepStrictEqual(normalised(so), normalised(sr), `snapshot, ${where}`);
      const o2 = new ReferenceFormer(params, detector, opts);
      o2.restore(so);
      const r2 = new EventFormer(params, detector, opts);
      r2.restore(sr);
      ours = o2;
      ref = r2;
    } else if (u < 0.04) {
      sameEvents(ours.flush(), ref.flush(), `flush, ${where}`);
      assert.deepStrictEqual(ours.counters(), ref.counters(), `counters after flush, ${where}`);
    }
  }
  const a = ours.flush();
  sameEvents(a, ref.flush(), `final flush, seed ${seed}`);
  assert.deepStrictEqual(ours.counters(), ref.counters(), `final counters, seed ${seed}`);
  return { events: total + a.n };
}

function randomParams(r: () => number): FormationConfig {
  return configSchema.parse({
    formation: {
      timeGapNs: [20, 100, 100, 400][Math.floor(r() * 4)],
      stripGap: 1 + Math.floor(r() * 4),
      maxClusterStrips: 4 + Math.floor(r() * 16),
      maxClusterSpanNs: [100, 500, 5000][Math.floor(r() * 3)],
      matchWindowNs: [50, 200, 1000][Math.floor(r() * 3)],
      chargeRatioMin: 0.3 + r() * 0.4,
      chargeRatioMax: 1.5 + r() * 2,
      latencyNs: [500, 2000, 20000][Math.floor(r() * 3)],
    },
  }).formation;
}

describe('pipelines/formation: optimised former vs the reference implementation', function () {
  this.timeout(120_000);
  const defaults = configSchema.parse({}).formation;

  it('photon streams (rates, disorder, parameters, batch splits): same events, counters and states', () => {
    const r = rng(77);
    let formed = 0;
    for (let k = 0; k < 24; k++) {
      const { hits } = photonStream({
        photons: 1500,
        ratePerSecond: [1e5, 1e6, 4e6, 2e7][k % 4]!,
        seed: 100 + k,
        disorderNs: [0, 50, 800, 3000][Math.floor(k / 4) % 4]!,
        cloudSigmaStrips: k % 3 === 0 ? 2.5 : 0.7,
        thresholdAdc: k % 5 === 0 ? 0 : 8,
      });
      formed += compare(hits, k < 4 ? defaults : randomParams(r), 1000 + k, k % 6 === 5 ? 200 : undefined).events;
    }
    assert.ok(formed > 10_000, `events formed: ${formed}`);
  });

  it('hostile streams (pile-up past the limits, bad hits, saturation, ties, late hits, resets, NaN): same everything', () => {
    const r = rng(78);
    for (let k = 0; k < 16; k++) compare(hostileStream(200 + k, 1500), k < 2 ? defaults : randomParams(r), 2000 + k, k % 4 === 3 ? 300 : undefined);
  });
});
