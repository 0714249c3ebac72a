// Formation state across a checkpoint: an EventFormer (and a FrameEvents with its gemroc decoder) snapshotted
// mid-stream, written through the sidecar codec, read back and restored into a fresh instance goes on exactly
// as the uninterrupted one: same events, same counters, for many cut points.
import assert from 'node:assert/strict';
import { configSchema, type FormationConfig } from '../../../config/schema.js';
import type { EventBatch, HitBatch } from '../../../drivers/batches.js';
import type { GemxDatagram } from '../../../drivers/codecs/gemx-format.js';
import { GemrocEncoder } from '../../../drivers/codecs/gemroc-encode.js';
import { EventFormer } from '../../../pipelines/formation/event-former.js';
import { pendingInFormerState } from '../../../pipelines/formation/former-state.js';
import { decodeFormationState, encodeFormationState, FormationStateError } from '../../../pipelines/formation-state-file.js';
import { FrameEvents, type FrameEventsState } from '../../../pipelines/frame-events.js';
import { eventList, photonStream, rng, toBatch } from './helpers/hit-stream.js';

const defaults = configSchema.parse({});
const params: FormationConfig = defaults.formation;
const detector = { stripsPerPlane: 128, width: 100, height: 100 };

/** Through the file format and back, as a checkpoint would. */
function roundTrip(state: FrameEventsState): FrameEventsState {
  return decodeFormationState(encodeFormationState({ state, recordingOffset: 1234, configKey: 7 }), 'test').state;
}

/** Hits in batches of `batch`, with a snapshot -> file -> restore into a new former before batch `cutAt`. */
function formed(batches: HitBatch[], cutAt: number | null): { events: Array<[number, number, number, number]>; counters: unknown; pending: { hits: number; clusters: number } | null } {
  let f = new EventFormer(params, detector);
  const out: EventBatch[] = [];
  let pending = null;
  batches.forEach((b, i) => {
    if (i === cutAt) {
      const s = roundTrip({ counts: { eventFrames: 0, hitFrames: 0, statusFrames: 0, endFrames: 0, datagramFrames: 0, eventsOut: 0 }, former: f.snapshot(), gemroc: null });
      pending = pendingInFormerState(s.former!);
      f = new EventFormer(params, detector);
      f.restore(s.former!);
    }
    out.push(f.push(b));
  });
  out.push(f.flush());
  return { events: eventList(out), counters: f.counters(), pending };
}

function batchesOf(hits: ReturnType<typeof photonStream>['hits'], sizes: () => number): HitBatch[] {
  const out: HitBatch[] = [];
  for (let i = 0; i < hits.length;) {
    const n = Math.min(hits.length - i, sizes());
    out.push(toBatch(hits.slice(i, i + n)));
    i += n;
  }
  return out;
}

describe('pipelines/formation: snapshot and restore', () => {
  it('an EventFormer restored mid-stream forms the same events as an uninterrupted run, for every cut point', () => {
    // Dense and disordered, so clusters are pending (hits buffered, clusters queued) at most cuts.
    const { hits } = photonStream({ photons: 600, ratePerSecond: 2e6, seed: 11, disorderNs: 800 });
    const r = rng(5);
    const batches = batchesOf(hits, () => 1 + Math.floor(r() * 60));
    const whole = formed(batches, null);
    assert.ok(whole.events.length > 300);
    let withClusters = 0;
    for (let cut = 0; cut <= batches.length; cut++) {
      const split = formed(batches, cut);
      assert.deepEqual(split.events, whole.events, `cut before batch ${cut}`);
      assert.deepEqual(split.counters, whole.counters, `counters, cut before batch ${cut}`);
      if (split.pending && split.pending.clusters + split.pending.hits > 0) withClusters++;
    }
    assert.ok(withClusters > batches.length / 2, `state pending at ${withClusters} of ${batches.length + 1} cuts`);
  });

  it('keeps a clock reset, a late hit and a silent plane the same across a cut', () => {
    // The first stream runs 5 s into the device clock, so the second (from ~0) is a reset (clockResetNs 1 s).
    const p1 = photonStream({ photons: 200, ratePerSecond: 1e6, seed: 3, disorderNs: 300 }).hits.map((h) => ({ ...h, t: h.t + 5e9 }));
    // A device restart: a second stream whose clock starts again near 0, and a late hit; then X goes silent.
    const p2 = photonStream({ photons: 200, ratePerSecond: 1e6, seed: 4 }).hits;
    const late = { plane: 0, strip: 5, adc: 300, t: p2[p2.length - 1]!.t - 2 * params.latencyNs - 10 };
    const yOnly = Array.from({ length: 50 }, (_, i) => ({ plane: 1, strip: 20 + (i % 30), adc: 300, t: p2[p2.length - 1]!.t + 1000 * (i + 1) }));
    const hits = [...p1, ...p2, late, ...yOnly];
    const batches = batchesOf(hits, () => 37);
    const whole = formed(batches, null);
    for (let cut = 0; cut <= batches.length; cut++) {
      const split = formed(batches, cut);
      assert.deepEqual(split.events, whole.events, `cut ${cut}`);
      assert.deepEqual(split.counters, whole.counters, `counters, cut ${cut}`);
    }
    const c = whole.counters as { clockResets: number; hitsLate: number; stalledSettles: number; yOnly: number };
    assert.equal(c.clockResets, 1);
    assert.equal(c.hitsLate, 1);
    assert.ok(c.yOnly >= 50);
  });

  it('a FrameEvents on gemroc datagrams restored mid-stream (decoder unwrap and packet history included) gives the same events', () => {
    const cfg = { formation: params, detector: { ...defaults.detector, stripsPerPlane: 128, width: 100, height: 100 } };
    const { hits } = photonStream({ photons: 400, ratePerSecond: 1e6, seed: 21 });
    const enc = new GemrocEncoder(cfg.detector.channelMap);
    const packets: Uint8Array[] = [];
    for (let i = 0; i < hits.length; i += 40) packets.push(...enc.encode(toBatch(hits.slice(i, i + 40))));
    // Duplicates of earlier packets, some from before any cut: the packet history must recognise them.
    const stream = [...packets.slice(0, 10), packets[2]!, ...packets.slice(10), packets[5]!, packets[12]!];
    const item = (payload: Uint8Array, seq: number): GemxDatagram => ({ kind: 'datagram', timeNs: 0, seq, tag: 0, payload });
    const run = (cut: number | null) => {
      let fe = new FrameEvents(cfg);
      const out: EventBatch[] = [];
      stream.forEach((p, i) => {
        if (i === cut) {
          const s = roundTrip(fe.snapshot()!);
          fe = new FrameEvents(cfg);
          fe.restore(s);
        }
        const ev = fe.accept(item(p, i));
        if (ev) out.push({ ...ev, x: ev.x.slice(), y: ev.y.slice(), adc: ev.adc.slice(), t: ev.t.slice() });
      });
      const last = fe.flush();
      if (last) out.push(last);
      return { events: eventList(out), gemroc: fe.gemroc, eventsOut: fe.eventsOut };
    };
    const whole = run(null);
    assert.ok(whole.events.length > 100);
    assert.equal(whole.gemroc!.duplicates, 3);
    for (let cut = 1; cut < stream.length; cut += 3) assert.deepEqual(run(cut), whole, `cut before datagram ${cut}`);
  });

  it('the sidecar codec rejects damaged bytes with FormationStateError', () => {
    const f = new EventFormer(params, detector);
    f.push(toBatch(photonStream({ photons: 20, ratePerSecond: 1e6, seed: 1 }).hits));
    const bytes = encodeFormationState({ state: { counts: { eventFrames: 0, hitFrames: 1, statusFrames: 0, endFrames: 0, datagramFrames: 0, eventsOut: 0 }, former: f.snapshot(), gemroc: null }, recordingOffset: 99, configKey: 1 });
    assert.equal(decodeFormationState(bytes, 'ok').recordingOffset, 99);
    assert.throws(() => decodeFormationState(bytes.subarray(0, bytes.length - 8), 'short'), FormationStateError);
    const junk = bytes.slice();
    junk.fill(0x7b, 32, 40); // JSON broken
    assert.throws(() => decodeFormationState(junk, 'junk'), FormationStateError);
    const bad = bytes.slice();
    bad[0] = 0;
    assert.throws(() => decodeFormationState(bad, 'magic'), /bad magic/);
  });
});
