// FrameEvents is the one path from decoded gemx items to event batches (live scan, recovery, exports,
// offline CLI, assemblePipeline): events pass through, hits form events exactly as an EventFormer would,
// flush() releases what formation still holds, and the counters account for every item.
import assert from 'node:assert/strict';
import { configSchema } from '../../config/schema.js';
import { allocEventBatch, type EventBatch } from '../../drivers/batches.js';
import type { GemxItem } from '../../drivers/codecs/gemx-decode.js';
import type { GemxEnd, GemxStatus } from '../../drivers/codecs/gemx-format.js';
import { EventFormer } from '../../pipelines/formation/event-former.js';
import { FrameEvents } from '../../pipelines/frame-events.js';
import { eventList, photonStream, toBatch, type Hit } from './formation/helpers/hit-stream.js';

const defaults = configSchema.parse({});
const config = { formation: defaults.formation, detector: { ...defaults.detector, stripsPerPlane: 128, width: 100, height: 100 } };

function events(list: Array<[number, number, number, number]>): EventBatch {
  const b = allocEventBatch(list.length);
  list.forEach(([x, y, adc, t], i) => {
    b.x[i] = x;
    b.y[i] = y;
    b.adc[i] = adc;
    b.t[i] = t;
  });
  b.n = list.length;
  return b;
}

const status = (seq: number): GemxStatus => ({
  kind: 'status', timeNs: 0, seq, flags: 0, eventRateHz: 0, hitRateHz: 0, hvVolts: 0, hvCurrentUa: 0, temperatureC: 20, deviceDropped: 0, thresholds: [],
});
const end: GemxEnd = { kind: 'end', timeNs: 0, seq: 99, framesSent: 0, recordsSent: 0 };

/** One photon: two X strips and one Y strip at time t (forms one event). */
const photon = (t: number): Hit[] => [
  { plane: 0, strip: 10, adc: 200, t },
  { plane: 0, strip: 11, adc: 200, t: t + 2 },
  { plane: 1, strip: 50, adc: 400, t: t + 1 },
];

describe('pipelines/frame-events', () => {
  it('passes EVENTS items through unchanged (the same batch, empty ones too) and creates no former', () => {
    const fe = new FrameEvents(config);
    const a = events([[1, 2, 300, 10], [3, 4, 500, 20]]);
    const empty = events([]);
    assert.equal(fe.accept(a), a);
    assert.deepEqual(eventList([a]), [[1, 2, 300, 10], [3, 4, 500, 20]]);
    assert.equal(fe.accept(empty), empty);
    assert.equal(fe.formsEvents, false);
    assert.equal(fe.flush(), null);
    assert.deepEqual([fe.eventFrames, fe.hitFrames, fe.eventsOut], [2, 0, 2]);
  });

  it('forms from HITS items exactly the events an EventFormer fed directly forms', () => {
    const { hits } = photonStream({ photons: 400, ratePerSecond: 2e6, seed: 7, disorderNs: 300 });
    const cuts = [0, 37, 300, 301, 1200, hits.length >> 1, hits.length];
    const fe = new FrameEvents(config);
    const direct = new EventFormer(config.formation, config.detector);
    const viaFe: Array<[number, number, number, number]> = [];
    const viaFormer: Array<[number, number, number, number]> = [];
    for (let k = 1; k < cuts.length; k++) {
      const batch = toBatch(hits.slice(cuts[k - 1], cuts[k]));
      const ev = fe.accept(batch);
      if (ev) {
        assert.ok(ev.n > 0, 'formed batches are returned only when non-empty');
        viaFe.push(...eventList([ev]));
      }
      viaFormer.push(...eventList([direct.push(batch)]));
    }
    const last = fe.flush();
    if (last) viaFe.push(...eventList([last]));
    viaFormer.push(...eventList([direct.flush()]));
    assert.ok(viaFormer.length > 300, `enough events to compare (${viaFormer.length})`);
    assert.deepEqual(viaFe, viaFormer);
    assert.equal(fe.eventsOut, viaFormer.length);
    assert.equal(fe.hitFrames, cuts.length - 1);
    assert.equal(fe.formsEvents, true);
  });

  it('flush() releases the clusters still pending in event formation', () => {
    const fe = new FrameEvents(config);
    assert.equal(fe.accept(toBatch(photon(1000))), null); // not settled yet (latency window)
    assert.equal(fe.eventsOut, 0);
    const ev = fe.flush();
    assert.ok(ev);
    assert.equal(ev.n, 1);
    assert.equal(ev.adc[0], 800);
    assert.equal(fe.eventsOut, 1);
    assert.equal(fe.flush(), null, 'nothing left after a flush');
  });

  it('wraps an existing former (assemblePipeline): formsEvents from the start, its counters see the hits', () => {
    const former = new EventFormer(config.formation, config.detector);
    const fe = new FrameEvents(former);
    assert.equal(fe.formsEvents, true);
    assert.equal(fe.accept(toBatch(photon(1000))), null);
    assert.equal(fe.flush()?.n, 1);
    assert.equal(former.counters().hitsIn, 3);
    assert.equal(former.counters().events, 1);
  });

  it('an END item ends the sender\'s stream: formation is flushed, so a restarted stream (clock from 0) is not dropped as late', () => {
    const fe = new FrameEvents(config);
    const formed: number[] = [];
    const take = (ev: EventBatch | null): void => {
      if (ev) for (let i = 0; i < ev.n; i++) formed.push(ev.t[i]!);
    };
    // first stream: two photons late in the device clock
    take(fe.accept(toBatch(photon(5e9))));
    take(fe.accept(toBatch(photon(5e9 + 100_000))));
    take(fe.accept(end));
    // the device restarts: a new stream whose clock starts again near 0
    take(fe.accept(toBatch(photon(1000))));
    take(fe.accept(toBatch(photon(100_000))));
    take(fe.flush());
    assert.deepEqual(formed, [5e9, 5e9 + 100_000, 1000, 100_000]);
    assert.equal(fe.eventsOut, 4);
  });

  it('counts every kind of item exactly on a crafted sequence', () => {
    const fe = new FrameEvents(config);
    const items: Array<GemxItem | null> = [
      status(1),
      events([[1, 1, 100, 5], [2, 2, 100, 6], [3, 3, 100, 7]]),
      null, // a frame without an item (damaged, or not decoded)
      toBatch(photon(1000)),
      events([]),
      status(2),
      { kind: 'datagram', timeNs: 0, seq: 5, tag: 1, payload: new Uint8Array(4) },
      toBatch(photon(100_000)), // settles the first photon
      status(3),
      end,
    ];
    const out: Array<EventBatch | null> = items.map((it) => {
      const ev = fe.accept(it);
      return ev && { ...ev };
    });
    // END flushes formation: the second photon, still waiting for its latency window, comes out with it
    assert.deepEqual(out.map((b) => b?.n ?? null), [null, 3, null, null, 0, null, null, 1, null, 1]);
    assert.equal(fe.endSeen, true);
    assert.deepEqual(
      { eventFrames: fe.eventFrames, hitFrames: fe.hitFrames, statusFrames: fe.statusFrames, endFrames: fe.endFrames, eventsOut: fe.eventsOut },
      { eventFrames: 2, hitFrames: 2, statusFrames: 3, endFrames: 1, eventsOut: 5 },
    );
    assert.equal(fe.flush(), null, 'nothing left after END');
    assert.equal(fe.eventsOut, 5);
  });
});
