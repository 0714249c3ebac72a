import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, Observable, Subject } from 'rxjs';
import { configSchema, type GemxrfConfig } from '../../../config/schema.js';
import { allocEventBatch, type EventBatch, type HitBatch } from '../../../drivers/batches.js';
import { encodeEndFrame, encodeEventsFrame, encodeHitsFrame, encodeStatusFrame } from '../../../drivers/codecs/gemx-encode.js';
import { GemrocEncoder } from '../../../drivers/codecs/gemroc-encode.js';
import { StreamFormat } from '../../../drivers/codecs/recording-header.js';
import { fileUrlFor } from '../../../drivers/file/file-transport.js';
import { RecordingWriter } from '../../../drivers/file/recording-writer.js';
import type { Transport, TransportStatus } from '../../../drivers/transport.js';
import { assemblePipeline } from '../../../pipelines/assemble.js';
import { Calibration } from '../../../pipelines/calibration/calibration.js';
import { Cube } from '../../../pipelines/cube/cube.js';
import { EventFormer } from '../../../pipelines/formation/event-former.js';
import { photonStream, toBatch } from '../formation/helpers/hit-stream.js';

const config: GemxrfConfig = configSchema.parse({ detector: { width: 32, height: 32 }, histogram: { channels: 64 } });

/** A transport over fixed chunks (or a Subject for a link that stays open). */
function fakeTransport(chunks: Observable<Uint8Array>): Transport & { closed: number } {
  const st: TransportStatus = { url: 'fake://test', state: 'open', bytesIn: 0, chunksIn: 0, reconnects: 0 };
  return {
    url: 'fake://test',
    closed: 0,
    open: () => chunks,
    status: () => st,
    async close() {
      this.closed++;
    },
  };
}

function events(n: number, seed: number): EventBatch {
  const b = allocEventBatch(n);
  for (let i = 0; i < n; i++) {
    b.x[i] = (i * 7 + seed) % 32;
    b.y[i] = (i * 13 + seed) % 33; // some off the grid
    b.adc[i] = (i * 37 + seed) % 4096;
    b.t[i] = i * 100;
  }
  b.n = n;
  return b;
}

const status = { flags: 3, eventRateHz: 1000, hitRateHz: 5000, hvVolts: 3900, hvCurrentUa: 1.5, temperatureC: 24, deviceDropped: 0, thresholds: [] };

/** The stream as a list of frames and the cube it must produce (filled directly, without the pipeline). */
function scenario(): { frames: Uint8Array[]; expected: Cube; hits: HitBatch } {
  const e1 = events(500, 1);
  const e2 = events(300, 2);
  const hits = toBatch(photonStream({ photons: 200, ratePerSecond: 1e5, seed: 2, strips: 128 }).hits);
  const half = Math.floor(hits.n / 2);
  const frames = [
    encodeEventsFrame(0, 0, e1),
    encodeHitsFrame(1, 0, hits, 0, half),
    encodeStatusFrame(2, 1000, status as never),
    encodeHitsFrame(3, 0, hits, half, hits.n),
    encodeEventsFrame(4, 0, e2),
    encodeEndFrame(5, 2000, 5, 800 + hits.n),
  ];
  const cal = Calibration.fromConfig(config);
  const expected = Cube.fromConfig(config);
  const former = new EventFormer(config.formation, config.detector);
  expected.addEvents(e1, cal);
  expected.addEvents(former.push({ ...hits, n: half }), cal);
  const rest: HitBatch = { kind: 'hits', n: hits.n - half, plane: hits.plane.subarray(half), strip: hits.strip.subarray(half), adc: hits.adc.subarray(half), t: hits.t.subarray(half) };
  expected.addEvents(former.push(rest), cal);
  expected.addEvents(e2, cal);
  expected.addEvents(former.flush(), cal);
  return { frames, expected, hits };
}

/** Concatenates frames and cuts the bytes into chunks of `size` (frames split across chunks). */
function chunked(frames: Uint8Array[], size: number): Uint8Array[] {
  const all = Buffer.concat(frames);
  const out: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += size) out.push(new Uint8Array(all.subarray(i, i + size)));
  return out;
}

describe('pipelines/assemble', () => {
  it('gemx: events and hits frames fill the cube exactly as the stages alone; taps see every chunk and frame', async () => {
    const { frames, expected } = scenario();
    const chunks = chunked(frames, 777);
    const cube = Cube.fromConfig(config);
    const raw: Uint8Array[] = [];
    const frameOffsets: number[] = [];
    const statuses: unknown[] = [];
    const transport = fakeTransport(from(chunks));
    const p = assemblePipeline({ config, cube, transport, onRaw: (c) => raw.push(c), onFrame: (f) => frameOffsets.push(f.offset) });
    p.status$.subscribe((s) => statuses.push(s));
    assert.equal(p.format, 'gemx');
    const summary = await p.done;
    assert.equal(summary.reason, 'completed');
    assert.deepEqual(cube.counts, expected.counts);
    assert.deepEqual(cube.counters(), expected.counters());
    assert.deepEqual(raw, chunks);
    let off = 0;
    assert.deepEqual(frameOffsets, frames.map((f) => ((off += f.length), off - f.length)));
    assert.equal(statuses.length, 1);
    const st = summary.stats.stages;
    assert.equal(st.pipeline!.counters.chunks, chunks.length);
    assert.equal(st.pipeline!.counters.hitBatches, 2);
    assert.equal(st.pipeline!.counters.eventBatches, 2);
    assert.equal(st.pipeline!.counters.endFrames, 1);
    assert.equal(st.decoder!.counters.framesOk, frames.length);
    assert.ok(st.formation!.counters.events! > 150);
    assert.equal(st.cube!.counters.eventsAdded, expected.counters().eventsAdded);
    assert.equal(transport.closed, 1);
  });

  it('stop(): ends an open link, flushes pending clusters into the cube, closes the transport', async () => {
    const { frames, expected } = scenario();
    const link = new Subject<Uint8Array>();
    const transport = fakeTransport(link);
    const cube = Cube.fromConfig(config);
    const p = assemblePipeline({ config, cube, transport, statsPeriodMs: 5 });
    const samples: number[] = [];
    p.stats$.subscribe((s) => samples.push(s.stages.cube!.counters.eventsIn!));
    await new Promise((r) => setImmediate(r)); // the pipeline subscribes to the link on a microtask
    for (const f of frames.slice(0, 5)) link.next(f);
    await new Promise((r) => setTimeout(r, 30));
    const summary = await p.stop();
    assert.equal(summary.reason, 'stopped');
    assert.deepEqual(cube.counts, expected.counts, 'pending clusters were flushed');
    assert.equal(transport.closed, 1);
    assert.ok(samples.length >= 1);
    assert.equal((await p.stop()).reason, 'stopped', 'stop() twice is harmless');
  });

  it('stopOnEnd: an END frame ends the stream even if the link stays open', async () => {
    const { frames, expected } = scenario();
    const link = new Subject<Uint8Array>();
    const cube = Cube.fromConfig(config);
    const p = assemblePipeline({ config, cube, transport: fakeTransport(link), stopOnEnd: true });
    await new Promise((r) => setImmediate(r));
    for (const f of frames) link.next(f);
    const summary = await p.done;
    assert.equal(summary.reason, 'end-frame');
    // the clusters END released from formation reach the cube before the stream ends
    assert.deepEqual(cube.counts, expected.counts);
    assert.equal(summary.stats.stages.pipeline!.counters.endFrames, 1);
  });

  it('gemroc datagrams: hits through the channel map, formation and the cube', async () => {
    const { hits } = scenario();
    const enc = new GemrocEncoder(config.detector.channelMap);
    const packets = enc.encode(hits);
    const cube = Cube.fromConfig(config);
    const p = assemblePipeline({ config, cube, transport: fakeTransport(from(packets)), format: 'gemroc' });
    const summary = await p.done;
    assert.equal(summary.stats.stages.decoder!.counters.packetsOk, packets.length);
    const formed = summary.stats.stages.formation!.counters;
    assert.ok(formed.events! > 150, `${formed.events} events`);
    assert.equal(cube.counters().eventsIn, formed.events);
  });

  it('file:// recording: format and frame offsets come from the recording header', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gemxrf-assemble-'));
    try {
      const { frames, expected } = scenario();
      const file = join(dir, 'scan.gemx');
      const w = RecordingWriter.create(file, { instrumentId: 'test', meta: {}, streamFormat: StreamFormat.GEMX }, { sync: false });
      const starts = frames.map((f) => w.append(f));
      await w.close();
      const cube = Cube.fromConfig(config);
      const offsets: number[] = [];
      const p = assemblePipeline({ config, cube, url: fileUrlFor(file, 'max'), onFrame: (f) => offsets.push(f.offset) });
      await p.done;
      assert.deepEqual(cube.counts, expected.counts);
      assert.equal(offsets[0], w.header.headerLength);
      assert.equal(offsets.length, frames.length);
      assert.ok(starts.length === frames.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a transport error rejects done', async () => {
    const bad = new Observable<Uint8Array>((s) => s.error(new Error('link lost')));
    const p = assemblePipeline({ config, cube: Cube.fromConfig(config), transport: fakeTransport(bad) });
    await assert.rejects(p.done, /link lost/);
  });
});
