import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEndFrame, encodeEventsFrame, encodeStatusFrame } from '../../../drivers/codecs/gemx-encode.js';
import { encodeRecordingHeader, parseRecordingHeader, StreamFormat } from '../../../drivers/codecs/recording-header.js';
import { RecordingReader, RecordingError } from '../../../drivers/file/recording-reader.js';
import { RecordingWriter } from '../../../drivers/file/recording-writer.js';
import { summarizeRecording } from '../../../drivers/file/recording-summary.js';
import { encodeGemrocPacket } from '../../../drivers/codecs/gemroc-encode.js';
import { eventBatch } from '../codecs/helpers.js';

const status = { flags: 3, eventRateHz: 1, hitRateHz: 2, hvVolts: 3, hvCurrentUa: 4, temperatureC: 5, deviceDropped: 0, thresholds: [] };

describe('recordings', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'gemxrf-rec-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('header round-trips and rejects damage with a clear reason', () => {
    const h = encodeRecordingHeader({ startTimeNs: 1_700_000_000_123_456_789n, instrumentId: 'lab-2', meta: { config: { a: 1 }, source: 'tcp://x:1' } });
    const r = parseRecordingHeader(h);
    assert.ok(r.ok);
    assert.equal(r.header.startTimeNs, 1_700_000_000_123_456_789n);
    assert.equal(r.header.instrumentId, 'lab-2');
    assert.deepEqual(r.header.meta, { config: { a: 1 }, source: 'tcp://x:1' });
    assert.equal(r.header.headerLength, h.length);
    const bad = h.slice();
    bad[100]! ^= 1;
    assert.deepEqual(parseRecordingHeader(bad), { ok: false, error: 'corrupt recording header (CRC mismatch)' });
    assert.deepEqual(parseRecordingHeader(new TextEncoder().encode('hello world')), { ok: false, error: 'not a gemx recording (bad magic)' });
    assert.deepEqual(parseRecordingHeader(h.subarray(0, 50)), { ok: false, need: 92 });
  });

  it('writer appends raw bytes untouched; reader gives frames with their file offsets, also from an offset', async () => {
    const path = join(dir, 'a.gemx');
    const w = RecordingWriter.create(path, { instrumentId: 'x', meta: { source: 'test' } }, { sync: false });
    const frames = [encodeEventsFrame(0, 0, eventBatch([[1, 2, 3, 4]])), encodeStatusFrame(1, 10, status), encodeEventsFrame(2, 20, eventBatch([[5, 6, 7, 25], [8, 9, 10, 30]])), encodeEndFrame(3, 40, 3, 3)];
    const garbage = new Uint8Array([1, 2, 3]);
    const offsets = [w.append(frames[0]!), w.append(frames[1]!)];
    w.append(garbage);
    offsets.push(w.append(frames[2]!), w.append(frames[3]!));
    assert.equal(readFileSync(path).length, w.header.headerLength); // staged, not yet written through
    await w.close();
    const file = readFileSync(path);
    assert.deepEqual(new Uint8Array(file.subarray(w.header.headerLength)), Uint8Array.from([...frames[0]!, ...frames[1]!, ...garbage, ...frames[2]!, ...frames[3]!]));

    const r = RecordingReader.open(path);
    const got = [...r.frames()];
    assert.deepEqual(got.map((f) => f.offset), offsets);
    assert.deepEqual(got.map((f) => f.seq), [0, 1, 2, 3]);
    const tail = [...r.frames({ fromOffset: offsets[2] })];
    assert.deepEqual(tail.map((f) => f.seq), [2, 3]);
    r.close();
    assert.throws(() => RecordingWriter.create(path, { instrumentId: 'x', meta: {} }), /already exists/);
  });

  it('writes through on its interval, so a crash loses at most that much', async () => {
    const path = join(dir, 'b.gemx');
    const w = RecordingWriter.create(path, { instrumentId: 'x', meta: {} }, { flushMs: 20, sync: true });
    w.append(encodeEventsFrame(0, 0, eventBatch([[1, 2, 3, 4]])));
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(readFileSync(path).length, w.offset); // on disk without close()
    await w.close();
  });

  it('summary counts frames, records, span, gaps and CRC errors', async () => {
    const path = join(dir, 'c.gemx');
    const w = RecordingWriter.create(path, { instrumentId: 'lab', meta: { source: 'tcp://h:1', config: {} } }, { sync: false });
    const bad = encodeEventsFrame(2, 0, eventBatch([[1, 1, 1, 0]]));
    bad[40]! ^= 1;
    w.append(encodeEventsFrame(0, 1_000_000_000, eventBatch([[1, 2, 3, 1_000_000_000], [1, 2, 3, 1_500_000_000]])));
    w.append(encodeStatusFrame(1, 1_600_000_000, status));
    w.append(bad);
    w.append(encodeEventsFrame(5, 2_000_000_000, eventBatch([[1, 2, 3, 3_000_000_000]])));
    await w.close();
    const s = summarizeRecording(path);
    assert.deepEqual(s.framesByType, { HITS: 0, EVENTS: 2, STATUS: 1, END: 0, DATAGRAM: 0 });
    assert.equal(s.events, 3);
    assert.equal(s.durationS, 2);
    assert.equal(s.counters.crcErrors, 1);
    assert.equal(s.counters.seqGaps, 1);
    assert.equal(s.counters.framesLost, 3);
    assert.equal(s.instrumentId, 'lab');
    assert.equal(s.source, 'tcp://h:1');
  });

  it('keeps gemroc datagram boundaries and summarises packets per board', async () => {
    const path = join(dir, 'd.gemx');
    const w = RecordingWriter.create(path, { instrumentId: 'x', meta: {}, streamFormat: StreamFormat.GEMROC_UDP }, { sync: false });
    for (const [n, b] of [[0, 0], [0, 1], [2, 0], [1, 1]] as const) w.appendDatagram(encodeGemrocPacket(n, b, [1, 2], [3, 4]), n * 1000, 48350);
    await w.close();
    const s = summarizeRecording(path);
    assert.equal(s.streamFormat, 'gemroc-udp');
    assert.deepEqual(s.gemroc?.packetsByBoard, { 0: 2, 1: 2 });
    assert.equal(s.gemroc?.hitWords, 8);
    assert.equal(s.gemroc?.framesLost, 1);
  });

  it('reader errors name the file and the reason', () => {
    assert.throws(() => RecordingReader.open(join(dir, 'none.gemx')), (e: unknown) => e instanceof RecordingError && /none\.gemx: ENOENT|cannot open .*ENOENT/.test(e.message));
    const p = join(dir, 'text.gemx');
    writeFileSync(p, 'just text');
    assert.throws(() => RecordingReader.open(p), /text\.gemx: not a gemx recording/);
    const h = encodeRecordingHeader({ startTimeNs: 0n, instrumentId: 'x', meta: {} });
    writeFileSync(p, h.subarray(0, h.length - 2));
    assert.throws(() => RecordingReader.open(p), /truncated recording header/);
  });
});
