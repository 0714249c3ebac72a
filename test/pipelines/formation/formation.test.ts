import assert from 'node:assert/strict';
import { from, lastValueFrom, toArray } from 'rxjs';
import { configSchema, type FormationConfig } from '../../../config/schema.js';
import { EventFormer, type FormationCounters } from '../../../pipelines/formation/event-former.js';
import { formEvents } from '../../../pipelines/formation/form-events.js';
import { eventList, photonStream, rng, toBatch, type Hit } from './helpers/hit-stream.js';

const defaults = configSchema.parse({});
const params: FormationConfig = defaults.formation; // timeGap 100, stripGap 2, maxStrips 16, maxSpan 500, window 200, ratio 0.5..2, latency 2000
const detector = { stripsPerPlane: 128, width: 100, height: 100 };

function run(hits: readonly Hit[], cuts: readonly number[] = [], p: FormationConfig = params): { events: Array<[number, number, number, number]>; counters: FormationCounters } {
  const f = new EventFormer(p, detector);
  const out = [];
  let start = 0;
  for (const c of [...cuts, hits.length]) {
    out.push(f.push(toBatch(hits.slice(start, c))));
    start = c;
  }
  out.push(f.flush());
  return { events: eventList(out), counters: f.counters() };
}

/** A photon's hits: strips with charges on each plane, all at time t (+ a few ns per strip). */
function photon(t: number, x: Array<[number, number]>, y: Array<[number, number]>): Hit[] {
  return [
    ...x.map(([strip, adc], i) => ({ plane: 0, strip, adc, t: t + 2 * i })),
    ...y.map(([strip, adc], i) => ({ plane: 1, strip, adc, t: t + 1 + 2 * i })),
  ];
}

const zeroCounters = { hitsBadPlane: 0, hitsBadStrip: 0, hitsLate: 0, xOnly: 0, yOnly: 0, tooWide: 0, tooLong: 0, ratio: 0, adcSaturated: 0, forcedCuts: 0, stalledSettles: 0, clockResets: 0 };

describe('pipelines/formation', () => {
  it('forms one event: centroid on the image grid, charge of both planes, earliest time', () => {
    const { events, counters } = run(photon(1000, [[10, 100], [11, 200], [12, 100]], [[50, 200], [51, 200]]));
    // x: centroid 11 -> (11.5) * 100/128 = 8.98 -> 8; y: centroid 50.5 -> 51 * 100/128 = 39.8 -> 39
    assert.deepEqual(events, [[8, 39, 800, 1000]]);
    assert.deepEqual(counters, { ...zeroCounters, hitsIn: 5, clustersX: 1, clustersY: 1, events: 1 });
  });

  it('counts each rejection exactly once on crafted hit streams', () => {
    const wide: Array<[number, number]> = Array.from({ length: 20 }, (_, i) => [30 + i, 50]); // 20 strips > 16
    const long: Hit[] = [
      ...Array.from({ length: 7 }, (_, i) => ({ plane: 0, strip: 60 + i, adc: 100, t: 50_000 + 90 * i })), // 540 ns > 500
      { plane: 1, strip: 60, adc: 700, t: 50_001 },
    ];
    const hits = [
      ...photon(10_000, [[10, 300], [11, 300]], []), // x-only
      ...photon(20_000, [], [[20, 300], [21, 300]]), // y-only
      ...photon(30_000, wide, [[40, 1000]]), // too wide
      ...photon(40_000, [[5, 400]], [[6, 80], [7, 80], [9, 80]]), // good: Y has one missing strip (gap 2 allowed)
      ...long, // too long
      ...photon(60_000, [[70, 1000]], [[70, 100]]), // ratio 10 > 2
      { plane: 2, strip: 3, adc: 10, t: 61_000 }, // bad plane
      { plane: 0, strip: 128, adc: 10, t: 61_000 }, // bad strip
    ];
    const { events, counters } = run(hits);
    assert.equal(events.length, 1);
    assert.deepEqual(events[0], [Math.floor(5.5 * 100 / 128), Math.floor(((6 * 80 + 7 * 80 + 9 * 80) / 240 + 0.5) * 100 / 128), 640, 40_000]);
    assert.deepEqual(counters, { ...zeroCounters, hitsIn: hits.length, hitsBadPlane: 1, hitsBadStrip: 1, clustersX: 5, clustersY: 5, events: 1, xOnly: 1, yOnly: 1, tooWide: 1, tooLong: 1, ratio: 1 });
  });

  it('one batch forming more events than the output buffer holds (1024) returns every one of them', () => {
    // Found by the daemon's formation counters: the cube got one event fewer than formation counted. The
    // output batch grew while the event being written still pointed at the old one: one event lost per growth.
    const hits: Hit[] = [];
    for (let i = 0; i < 5000; i++) hits.push(...photon(1000 + i * 10_000, [[(i * 7) % 120, 300]], [[(i * 13) % 120, 300]]));
    const f = new EventFormer(params, detector);
    const first = f.push(toBatch(hits));
    const all = eventList([first, f.flush()]);
    assert.equal(f.counters().events, 5000);
    assert.equal(all.length, 5000, 'events returned = events counted');
    assert.ok(first.n > 1024, `the first push released ${first.n} events at once (more than the initial buffer)`);
    for (let i = 0; i < first.n; i++) assert.equal(first.t[i], 1000 + i * 10_000, `event ${i} in order, none skipped`);
  });

  it('cuts on the strip gap and the time gap', () => {
    // Two strips 3 apart (> stripGap 2) on X at the same time: two X clusters; one Y cluster -> 1 event + 1 x-only.
    const a = run(photon(1000, [[10, 300], [13, 300]], [[40, 300]]));
    assert.equal(a.counters.clustersX, 2);
    assert.equal(a.counters.events + a.counters.xOnly, 2);
    // Same strips 150 ns apart (> timeGap 100): two time clusters.
    const b = run([{ plane: 0, strip: 10, adc: 300, t: 1000 }, { plane: 0, strip: 11, adc: 300, t: 1150 }, { plane: 1, strip: 40, adc: 300, t: 1000 }]);
    assert.equal(b.counters.clustersX, 2);
    // 90 ns apart: one cluster
    const c = run([{ plane: 0, strip: 10, adc: 300, t: 1000 }, { plane: 0, strip: 11, adc: 300, t: 1090 }, { plane: 1, strip: 40, adc: 600, t: 1000 }]);
    assert.equal(c.counters.clustersX, 1);
    assert.equal(c.counters.events, 1);
  });

  it('untangles two coincident photons by charge', () => {
    const hits = [...photon(1000, [[10, 200]], [[90, 210]]), ...photon(1003, [[100, 1200]], [[20, 1150]])];
    const { events } = run(hits);
    const byAdc = events.sort((p, q) => p[2] - q[2]);
    assert.deepEqual(byAdc.map((e) => [e[0], e[1]]), [[Math.floor(10.5 * 100 / 128), Math.floor(90.5 * 100 / 128)], [Math.floor(100.5 * 100 / 128), Math.floor(20.5 * 100 / 128)]]);
  });

  it('a batch boundary never splits or loses a cluster: every split point gives identical events', () => {
    // Dense (clusters overlap in time), hits spread in time within a cluster, and arriving out of order by
    // up to the full readout latency: the worst case the release rule must survive.
    const tight = { ...params, latencyNs: 300 };
    const { hits } = photonStream({ photons: 80, ratePerSecond: 3e6, seed: 5, timeJitterNs: 40, disorderNs: 299.9 });
    const whole = run(hits, [], tight);
    assert.ok(whole.events.length > 40, `${whole.events.length} events`);
    assert.equal(whole.counters.hitsLate, 0);
    for (let cut = 0; cut <= hits.length; cut++) {
      const split = run(hits, [cut], tight);
      assert.deepEqual(split.events, whole.events, `cut at ${cut}`);
      assert.deepEqual(split.counters, whole.counters, `cut at ${cut}`);
    }
    // many random splits, including empty batches
    const r = rng(9);
    for (let k = 0; k < 30; k++) {
      const cuts = Array.from({ length: 1 + Math.floor(r() * 40) }, () => Math.floor(r() * (hits.length + 1))).sort((a, b) => a - b);
      const split = run(hits, cuts, tight);
      assert.deepEqual(split.events, whole.events, `cuts ${cuts.join(',')}`);
    }
    // one hit per batch
    assert.deepEqual(run(hits, hits.map((_, i) => i), tight).events, whole.events);
  });

  it('a hit arriving late but within the latency still joins its cluster', () => {
    const tight = { ...params, latencyNs: 300 };
    const hits: Hit[] = [
      { plane: 0, strip: 10, adc: 300, t: 1000 },
      { plane: 1, strip: 40, adc: 600, t: 1000 },
      { plane: 0, strip: 50, adc: 300, t: 1350 }, // both clocks at 1350: settled = 1050
      { plane: 1, strip: 60, adc: 300, t: 1350 },
      { plane: 0, strip: 11, adc: 300, t: 1090 }, // 90 ns after strip 10: same cluster, arrives 260 ns late
    ];
    const whole = run(hits, [], tight);
    assert.deepEqual(run(hits, [4], tight), whole);
    assert.equal(whole.counters.clustersX, 2);
    assert.deepEqual(whole.events[0], [Math.floor(11 * 100 / 128), Math.floor(40.5 * 100 / 128), 1200, 1000]);
  });

  it('releases events while the stream runs (not only at flush) and drops hits later than the latency', () => {
    const { hits } = photonStream({ photons: 200, ratePerSecond: 1e5, seed: 3 });
    const f = new EventFormer(params, detector);
    const first = f.push(toBatch(hits.slice(0, 600)));
    assert.ok(first.n > 0, 'events released before the end');
    assert.ok(f.pendingHits < 60, `${f.pendingHits} hits pending`);
    const late = { plane: 0, strip: 5, adc: 100, t: hits[10]!.t };
    f.push(toBatch([late]));
    assert.equal(f.counters().hitsLate, 1);
  });

  it('a device clock restart without END starts a new epoch: the new hits form events (not dropped as late), for any batch split', () => {
    // The device ran 5 s, then restarted: its clock begins again near 0 and no END frame came.
    const before = photonStream({ photons: 150, ratePerSecond: 1e5, seed: 11 }).hits.map((h) => ({ ...h, t: h.t + 5e9 }));
    const after = photonStream({ photons: 150, ratePerSecond: 1e5, seed: 12 }).hits;
    // What two separate streams give: each formed and flushed on its own.
    const separate = [...run(before).events, ...run(after).events];
    const hits = [...before, ...after];
    for (const cuts of [[], [before.length], [before.length - 7, before.length + 9], [100, 250, 400, 555]]) {
      const { events, counters } = run(hits, cuts);
      assert.deepEqual(events, separate, `cuts ${cuts.join(',')}`);
      assert.equal(counters.clockResets, 1);
      assert.equal(counters.hitsLate, 0);
      assert.equal(counters.hitsIn, hits.length);
    }
  });

  it('a hit late by less than clockResetNs is dropped as late, not taken for a clock reset', () => {
    const { hits } = photonStream({ photons: 200, ratePerSecond: 1e5, seed: 3 });
    const shifted = hits.map((h) => ({ ...h, t: h.t + 5e9 }));
    const f = new EventFormer({ ...params, clockResetNs: 1e9 }, detector);
    f.push(toBatch(shifted));
    f.push(toBatch([{ plane: 0, strip: 5, adc: 100, t: 5e9 - 0.5e9 }]));
    assert.equal(f.counters().hitsLate, 1);
    assert.equal(f.counters().clockResets, 0);
    f.push(toBatch([{ plane: 0, strip: 5, adc: 100, t: 1000 }]));
    assert.equal(f.counters().clockResets, 1);
    assert.equal(f.counters().hitsLate, 1);
  });

  it('a plane silent for longer than clockResetNs that then sends its older hits is no clock reset', () => {
    // X keeps counting for 3 s while Y is silent (stalled readout); then Y's buffered hits from t ~ 1 s arrive.
    const f = new EventFormer({ ...params, clockResetNs: 1e9 }, detector);
    const x: Hit[] = Array.from({ length: 30 }, (_, i) => ({ plane: 0, strip: 10, adc: 100, t: 1e8 * (i + 1) }));
    f.push(toBatch(x));
    f.push(toBatch([{ plane: 1, strip: 20, adc: 100, t: 1e9 }, { plane: 1, strip: 20, adc: 100, t: 1.1e9 }]));
    assert.equal(f.counters().clockResets, 0);
    // A real restart: X's clock jumps back.
    f.push(toBatch([{ plane: 0, strip: 10, adc: 100, t: 500 }]));
    assert.equal(f.counters().clockResets, 1);
  });

  it('refuses clockResetNs not above latencyNs (a late hit must not look like a reset)', () => {
    const r = configSchema.safeParse({ formation: { latencyNs: 5000, clockResetNs: 4000 } });
    assert.equal(r.success, false);
    assert.match(JSON.stringify(r.error?.issues), /clockResetNs must be above latencyNs/);
  });

  it('settles on one plane when the other is silent, so memory stays bounded', () => {
    const f = new EventFormer(params, detector, { maxPendingHits: 100 });
    const hits: Hit[] = Array.from({ length: 500 }, (_, i) => ({ plane: 0, strip: 10, adc: 100, t: 1000 + 1000 * i }));
    f.push(toBatch(hits));
    assert.ok(f.pendingHits < 10, `${f.pendingHits} pending`);
    assert.ok(f.counters().stalledSettles >= 1);
    assert.ok(f.counters().xOnly > 400);
  });

  it('cuts a pile-up time cluster at the size limit (counted) instead of growing without bound', () => {
    // 5000 hits per plane, 100 ns apart (= timeGapNs: still one cluster): one endless time cluster per plane,
    // cut after 4096 hits. The pieces last far longer than maxClusterSpanNs, so both pairs are rejected as too long.
    const hits: Hit[] = Array.from({ length: 10_000 }, (_, i) => ({ plane: i % 2, strip: 20, adc: 50, t: 1000 + 50 * i }));
    const { events, counters } = run(hits);
    assert.equal(counters.forcedCuts, 2);
    assert.equal(counters.clustersX, 2);
    assert.equal(counters.clustersY, 2);
    assert.equal(counters.tooLong, 2);
    assert.equal(events.length, 0);
  });

  it('formEvents operator: one emission per batch with events, the rest flushed at completion', async () => {
    const { hits } = photonStream({ photons: 300, ratePerSecond: 2e5, seed: 8 });
    const batches = [];
    for (let i = 0; i < hits.length; i += 97) batches.push(toBatch(hits.slice(i, i + 97)));
    const out = await lastValueFrom(from(batches).pipe(formEvents(params, detector), toArray()));
    assert.ok(out.length > 2 && out.length <= batches.length + 1);
    assert.deepEqual(eventList(out), run(hits).events);
  });

  it('against the truth: efficiency, position and energy resolution', () => {
    const { hits, truth } = photonStream({ photons: 4000, ratePerSecond: 5e4, seed: 11, disorderNs: 500 });
    const { events, counters } = run(hits, [1000, 5000, 9000, 13000]);
    // Pair formed events with true photons by time (events come out in time order, so do photons).
    let j = 0;
    let matched = 0;
    let inPixel = 0;
    let sx = 0, sy = 0, se = 0, seMean = 0;
    const ratios: number[] = [];
    for (const [x, y, adc, t] of events) {
      while (j < truth.length && truth[j]!.t < t - 100) j++;
      const p = truth[j];
      if (!p || Math.abs(p.t - t) > 100) continue;
      matched++;
      const tx = (p.xStrip * 100) / 128;
      const ty = (p.yStrip * 100) / 128;
      if (x === Math.floor(tx) && y === Math.floor(ty)) inPixel++;
      sx += (x + 0.5 - tx) ** 2;
      sy += (y + 0.5 - ty) ** 2;
      ratios.push(adc / p.charge);
      j++;
    }
    for (const r of ratios) seMean += r / ratios.length;
    for (const r of ratios) se += (r - seMean) ** 2 / ratios.length;
    const efficiency = matched / truth.length;
    const rmsX = Math.sqrt(sx / matched);
    const rmsY = Math.sqrt(sy / matched);
    const energyRes = Math.sqrt(se) / seMean;
    console.log(`      efficiency ${(100 * efficiency).toFixed(1)}%, position rms x ${rmsX.toFixed(3)} y ${rmsY.toFixed(3)} px (pixel quantisation alone 0.289), ` +
      `in the true pixel ${((100 * inPixel) / matched).toFixed(1)}%, energy scale ${seMean.toFixed(4)}, resolution ${(100 * energyRes).toFixed(2)}% rms`);
    assert.ok(efficiency > 0.97, `efficiency ${efficiency}`);
    assert.ok(events.length - matched <= 0.01 * truth.length, 'few fake events');
    assert.ok(rmsX < 0.4 && rmsY < 0.4, `position rms ${rmsX} ${rmsY}`);
    assert.ok(inPixel / matched > 0.8, `in pixel ${inPixel / matched}`);
    assert.ok(Math.abs(seMean - 1) < 0.03, `energy scale ${seMean}`);
    assert.ok(energyRes < 0.03, `energy resolution ${energyRes}`);
    assert.equal(counters.clustersX, counters.events + counters.tooWide + counters.tooLong + counters.ratio + counters.xOnly);
    assert.equal(counters.clustersY, counters.events + counters.tooWide + counters.tooLong + counters.ratio + counters.yOnly);
  });
});
