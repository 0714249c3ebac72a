import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualTimeScheduler } from 'rxjs';
import { encodeEventsFrame } from '../../../drivers/codecs/gemx-encode.js';
import { encodeGemrocPacket } from '../../../drivers/codecs/gemroc-encode.js';
import { StreamFormat } from '../../../drivers/codecs/recording-header.js';
import { createFileTransport, fileUrlFor, parseFileUrl } from '../../../drivers/file/file-transport.js';
import { RecordingWriter } from '../../../drivers/file/recording-writer.js';
import { openTransport } from '../../../drivers/open-transport.js';
import { concat, eventBatch } from '../codecs/helpers.js';

function run(path: string, speed: number | 'max', chunkBytes?: number): { at: number[]; chunks: Uint8Array[]; completed: boolean } {
  const scheduler = new VirtualTimeScheduler();
  const t = createFileTransport(new URL(fileUrlFor(path, speed)), { scheduler, chunkBytes });
  const at: number[] = [];
  const chunks: Uint8Array[] = [];
  let completed = false;
  t.open().subscribe({ next: (c) => { at.push(scheduler.now()); chunks.push(c); }, complete: () => { completed = true; } });
  scheduler.flush();
  return { at, chunks, completed };
}

describe('file:// transport', () => {
  let dir: string;
  let path: string;
  let frames: Uint8Array[];
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gemxrf-ft-'));
    path = join(dir, 'r.gemx');
    const w = RecordingWriter.create(path, { instrumentId: 'x', meta: {} }, { sync: false });
    // device times 5 s, 6 s, 8 s, then a restarted clock at 0 (counts as no time), then +1 s
    frames = [5e9, 6e9, 8e9, 0, 1e9].map((t, i) => encodeEventsFrame(i, t, eventBatch([[i, i, i, t]])));
    for (const f of frames) w.append(f);
    w.append(new Uint8Array([9, 9])); // trailing bytes are passed through too
    await w.close();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('parses URLs: speed, max, relative paths, unknown keys', () => {
    assert.deepEqual(parseFileUrl(new URL('file:///a/b.gemx?speed=10')), { path: '/a/b.gemx', speed: 10 });
    assert.equal(parseFileUrl(new URL('file:///a/b.gemx?speed=max')).speed, Infinity);
    assert.equal(parseFileUrl(new URL('file:///a/b.gemx')).speed, 1);
    assert.equal(parseFileUrl(new URL('file://rec/b.gemx')).path, join(process.cwd(), 'rec/b.gemx'));
    assert.throws(() => parseFileUrl(new URL('file:///a?speed=0')), /speed: expected a number > 0/);
    assert.throws(() => parseFileUrl(new URL('file:///a?sped=2')), /unknown parameter 'sped'/);
    assert.throws(() => openTransport('file:///a?speed=-1'), /transport file:\/\/\/a\?speed=-1: speed/);
  });

  it('emits the recording verbatim, paced by frame timestamps at 1x', () => {
    const r = run(path, 1);
    assert.ok(r.completed);
    assert.deepEqual(r.at, [0, 1000, 3000, 4000]); // frames 2 and 3 (clock restart) are due together: one chunk
    const body = readFileSync(path).subarray(readFileSync(path).length - concat(r.chunks).length);
    assert.deepEqual(concat(r.chunks), new Uint8Array(body));
    assert.deepEqual(r.chunks[2], concat([frames[2]!, frames[3]!]));
    assert.deepEqual(r.chunks[3], Uint8Array.from([...frames[4]!, 9, 9]));
  });

  it('scales time by speed', () => {
    assert.deepEqual(run(path, 4).at, [0, 250, 750, 1000]);
  });

  it('speed=max emits everything without waiting, in chunks', () => {
    const r = run(path, 'max', 100);
    assert.ok(r.at.every((t) => t === 0));
    assert.ok(r.chunks.length >= 2 && r.chunks.every((c) => c.length <= 100 + frames[0]!.length));
    assert.equal(concat(r.chunks).length, frames.reduce((a, f) => a + f.length, 0) + 2);
  });

  it('a gap in the recording longer than 10 s (after speed) is replayed as 10 s, and counted in status', async () => {
    const p = join(dir, 'gap.gemx');
    const w = RecordingWriter.create(p, { instrumentId: 'x', meta: {} }, { sync: false });
    // 1 s, then a day (a clock jump: once waited ~86 400 s, and past 2^31-1 ms Node fires such a timer at once,
    // every 1 ms), then 1 s, then 15 s (7.5 s at speed 2: kept)
    const day = 86_400e9;
    [0, 1e9, 1e9 + day, 2e9 + day, 17e9 + day].forEach((t, i) => w.append(encodeEventsFrame(i, t, eventBatch([[i, i, i, t]]))));
    await w.close();
    const scheduler = new VirtualTimeScheduler();
    const t = createFileTransport(new URL(fileUrlFor(p, 2)), { scheduler });
    const at: number[] = [];
    t.open().subscribe(() => at.push(scheduler.now()));
    scheduler.flush();
    assert.deepEqual(at, [0, 500, 10_500, 11_000, 18_500]);
    assert.equal(t.status().gapsShortened, 1);
    assert.equal(t.status().frames, 5);
  });

  it('unwraps datagrams from a gemroc recording, one emission each', async () => {
    const p = join(dir, 'g.gemx');
    const w = RecordingWriter.create(p, { instrumentId: 'x', meta: {}, streamFormat: StreamFormat.GEMROC_UDP }, { sync: false });
    const packets = [0, 1, 2].map((n) => encodeGemrocPacket(n, 0, [n], [n]));
    packets.forEach((pk, i) => w.appendDatagram(pk, i * 2e6, 1));
    await w.close();
    const r = run(p, 1);
    assert.deepEqual(r.at, [0, 2, 4]);
    assert.deepEqual(r.chunks, packets);
  });

  it('stops when unsubscribed and reports status', () => {
    const scheduler = new VirtualTimeScheduler();
    const t = createFileTransport(new URL(fileUrlFor(path, 1)), { scheduler });
    let n = 0;
    const sub = t.open().subscribe(() => { n++; if (n === 2) sub.unsubscribe(); });
    scheduler.flush();
    assert.equal(n, 2);
    const s = t.status();
    assert.equal(s.frames, 2);
    assert.equal(s.chunksIn, 2);
  });

  it('unsubscribing from inside next() leaves no timer behind (nothing keeps the process waiting for the next frame)', () => {
    const scheduler = new VirtualTimeScheduler();
    const t = createFileTransport(new URL(fileUrlFor(path, 1)), { scheduler });
    let n = 0;
    const sub = t.open().subscribe(() => { n++; sub.unsubscribe(); }); // e.g. takeUntil(END) downstream
    scheduler.flush();
    assert.equal(n, 1);
    assert.equal(scheduler.now(), 0, 'no action was left scheduled for the next frame (due at 1 s)');
  });

  it('a missing file is an error naming the URL', async () => {
    const t = openTransport(fileUrlFor(join(dir, 'nope.gemx')));
    await assert.rejects(new Promise((res, rej) => t.open().subscribe({ next: res, error: rej })), /file transport file:.*nope\.gemx: cannot open .*ENOENT/);
    assert.equal(t.status().state, 'error');
  });
});
