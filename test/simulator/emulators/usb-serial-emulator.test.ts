// emulator -> fake USB device / socat pty -> transport -> gemx decoder.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { GemxDecoder } from '../../../drivers/codecs/gemx-decode.js';
import { startEmulator, type RunningEmulator } from '../../../simulator/emulators/index.js';
import { waitFor } from '../../drivers/transports/wait.js';
import { missingSeqs, receiveGemx } from './receive.js';

const haveSocat = (() => {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('emulator: usb (fake device)', () => {
  const running: RunningEmulator[] = [];
  afterEach(async () => {
    for (const e of running.splice(0)) await e.stop();
  });

  it('delivers every frame and event over bulk transfers', async () => {
    const emu = await startEmulator({ transport: 'usb', rate: 300_000, seed: 2, maxRecords: 40_000, maxRecordsPerFrame: 3000 });
    running.push(emu);
    const r = await receiveGemx(emu, { params: { transfers: 4, size: 16384 } });
    const st = await emu.done;
    assert.equal(r.eventCount, 40_000);
    assert.equal(r.end!.recordsSent, 40_000);
    assert.deepEqual(missingSeqs(r.seqs), []);
    assert.equal(r.counters.crcErrors + r.counters.bytesSkipped, 0);
    assert.equal(st.endpoint.kind, 'usb');
  });

  it('hot-plug every 0.2 s: the transport follows detach/attach; lost frames are sequence gaps', async () => {
    const emu = await startEmulator({ transport: 'usb', rate: 100_000, seed: 4, durationSec: 0.7, maxRecordsPerFrame: 1000, faults: { disconnectEverySec: 0.2 }, usb: { replugDelayMs: 30 } });
    running.push(emu);
    // A 60 s backoff: only the attach events bring the link back in time.
    const r = await receiveGemx(emu, { params: { reconnectMinMs: 60000, reconnectMaxMs: 60000 }, endOptional: true });
    const st = await emu.done;
    assert.ok(st.disconnects >= 2);
    assert.ok((r.transport.attaches as number) >= 2 && (r.transport.detaches as number) >= 2, JSON.stringify(r.transport));
    assert.ok(st.framesUnheard >= 1);
    assert.equal(r.counters.framesLost, missingSeqs(r.seqs).length);
    if (r.end) assert.ok(r.counters.framesLost >= st.framesUnheard);
    assert.equal(new Set(r.seqs).size, r.seqs.length);
  });

  it('with drops: the missing sequence numbers are exactly the dropped ones', async () => {
    const emu = await startEmulator({ transport: 'usb', rate: 300_000, seed: 9, maxRecords: 30_000, maxRecordsPerFrame: 500, faults: { drop: 0.15 } });
    running.push(emu);
    const r = await receiveGemx(emu);
    const st = await emu.done;
    assert.ok(st.framesDropped > 3);
    assert.deepEqual(missingSeqs(r.seqs), st.droppedUnits.map((u) => u.seq));
    assert.equal(r.eventCount, st.records - st.recordsDropped);
  });
});

describe('emulator: serial (socat pty)', function () {
  before(function () {
    if (!haveSocat) {
      if (process.env.CI) throw new Error('socat is required in CI');
      this.skip();
    }
  });
  const running: RunningEmulator[] = [];
  afterEach(async () => {
    for (const e of running.splice(0)) await e.stop();
  });

  it('delivers every frame over a real pty; the clock starts once the host has the port open', async () => {
    const emu = await startEmulator({ transport: 'serial', rate: 50_000, seed: 6, maxRecords: 15_000, start: 'manual' });
    running.push(emu);
    assert.match(emu.address, /^serial:\/\/\/.*ttyGEM0\?baud=/);
    const r = await receiveGemx(emu, { onOpen: () => setTimeout(() => emu.begin(), 100) });
    await emu.done;
    assert.equal(r.eventCount, 15_000);
    assert.deepEqual(missingSeqs(r.seqs), []);
    assert.equal(r.seqs[0], 0);
    assert.equal(r.counters.crcErrors + r.counters.bytesSkipped, 0);
  });

  it('with corrupt and garbage over the pty: lost = corrupted, events = sent - corrupted', async () => {
    const emu = await startEmulator({ transport: 'serial', rate: 50_000, seed: 8, maxRecords: 15_000, maxRecordsPerFrame: 300, start: 'manual', faults: { corrupt: 0.1, garbage: 0.2 } });
    running.push(emu);
    const r = await receiveGemx(emu, { onOpen: () => setTimeout(() => emu.begin(), 100) });
    const st = await emu.done;
    assert.ok(st.framesCorrupted > 2);
    assert.deepEqual(missingSeqs(r.seqs), st.corruptedUnits.map((u) => u.seq));
    assert.equal(r.eventCount, st.records - st.recordsCorrupted);
  });

  it('an unplug (socat killed and restarted) mid-stream: the host reconnects; lost frames are exactly its sequence gaps', async () => {
    // Driven step by step rather than by --disconnect-every timers, so a loaded machine cannot reorder it.
    const emu = await startEmulator({ transport: 'serial', rate: 30_000, seed: 10, maxRecordsPerFrame: 500, start: 'manual', serial: { replugDelayMs: 100 } });
    running.push(emu);
    const t = emu.openReceiver({ reconnectMinMs: 10, reconnectMaxMs: 50 });
    const dec = new GemxDecoder();
    const seqs: number[] = [];
    let ended = false;
    const sub = t.open().subscribe((c) => {
      for (const f of dec.push(c)) {
        seqs.push(f.seq);
        if (f.item?.kind === 'end') ended = true;
      }
    });
    try {
      await waitFor(() => t.status().state === 'open', 'host open');
      emu.begin();
      await waitFor(() => seqs.length >= 20, 'frames before the unplug');
      await emu.serialEndpoint!.disconnect(); // resolves once socat is back
      await waitFor(() => (t.status().reconnects as number) >= 1 && t.status().state === 'open', 'host reconnected');
      const before = seqs.length;
      await waitFor(() => seqs.length >= before + 20, 'frames after the replug');
      await emu.stop();
      await waitFor(() => ended, 'END');
    } finally {
      sub.unsubscribe();
      await t.close();
    }
    const st = emu.stats();
    assert.equal(st.endpoint.unplugs, 1);
    assert.ok(st.framesUnheard >= 1, 'frames went nowhere while socat was down');
    assert.equal(new Set(seqs).size, seqs.length);
    assert.equal(dec.counters.framesLost, missingSeqs(seqs).length);
    assert.ok(dec.counters.framesLost >= st.framesUnheard);
  });
});
