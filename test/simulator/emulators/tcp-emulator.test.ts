// emulator -> TCP -> gemx decoder: what arrives equals what was sent, and with faults the decoder's counters
// account exactly for what was injected.
import assert from 'node:assert/strict';
import type { EventBatch } from '../../../drivers/batches.js';
import { createPacedSource, type PacedSource } from '../../../simulator/emulators/index.js';
import { startEmulator, type RunningEmulator } from '../../../simulator/emulators/index.js';
import { missingSeqs, receiveGemx } from './receive.js';

describe('emulator: tcp', () => {
  const running: RunningEmulator[] = [];
  afterEach(async () => {
    for (const e of running.splice(0)) await e.stop();
  });

  it('serves the phantom generator’s exact events, all frames in sequence, closed by END', async () => {
    // Tap the generator: keep a copy of every batch the emulator frames, to compare with what arrives.
    const gen = createPacedSource({ level: 'events', phantom: 'phantom-painting', rate: 400_000, seed: 7 });
    const sent = { x: [] as number[], y: [] as number[], adc: [] as number[], t: [] as number[] };
    const tap: PacedSource = {
      level: 'events',
      generate: (d, max) => {
        const b = gen.generate(d, max) as EventBatch;
        for (let i = 0; i < b.n; i++) {
          sent.x.push(b.x[i]!);
          sent.y.push(b.y[i]!);
          sent.adc.push(b.adc[i]!);
          sent.t.push(b.t[i]!);
        }
        return b;
      },
    };
    const emu = await startEmulator({ transport: 'tcp', rate: 400_000, source: tap, maxRecords: 60_000, maxRecordsPerFrame: 4096 });
    running.push(emu);
    const r = await receiveGemx(emu, { keepEvents: true });
    const st = await emu.done;
    assert.equal(r.eventCount, 60_000);
    assert.equal(st.records, 60_000);
    assert.equal(r.end!.recordsSent, 60_000);
    assert.equal(r.end!.framesSent, st.framesGenerated - 1);
    assert.deepEqual(r.seqs, Array.from({ length: r.seqs.length }, (_, i) => i), 'seq 0..N without a gap');
    assert.equal(r.seqs.length, st.framesGenerated);
    assert.ok(r.statusFrames >= 1, 'a STATUS frame announces the device');
    for (const k of ['framesLost', 'crcErrors', 'headerErrors', 'bytesSkipped', 'duplicates'] as const) assert.equal(r.counters[k], 0, k);

    // Every event arrives as generated (times within the wire's 1 ns quantum), in order.
    assert.equal(sent.x.length, 60_000);
    for (let i = 0; i < 60_000; i++) {
      if (r.events.x[i] !== sent.x[i] || r.events.y[i] !== sent.y[i] || r.events.adc[i] !== sent.adc[i] || Math.abs(r.events.t[i]! - sent.t[i]!) > 0.5)
        assert.fail(`event ${i} differs: got (${r.events.x[i]}, ${r.events.y[i]}, ${r.events.adc[i]}, ${r.events.t[i]}), sent (${sent.x[i]}, ${sent.y[i]}, ${sent.adc[i]}, ${sent.t[i]})`);
    }
  });

  it('with drops, bit flips and garbage: lost frames = dropped + corrupted, events = sent - theirs', async () => {
    const emu = await startEmulator({
      transport: 'tcp', rate: 300_000, seed: 3, maxRecords: 80_000, maxRecordsPerFrame: 1000,
      faults: { drop: 0.1, corrupt: 0.1, garbage: 0.3 },
    });
    running.push(emu);
    const r = await receiveGemx(emu);
    const st = await emu.done;
    assert.ok(st.framesDropped > 3 && st.framesCorrupted > 3 && st.garbageChunks > 3, `faults injected: ${JSON.stringify(st)}`);
    assert.equal(r.counters.framesLost, st.framesDropped + st.framesCorrupted);
    assert.deepEqual(
      missingSeqs(r.seqs),
      [...st.droppedUnits, ...st.corruptedUnits].map((u) => u.seq).sort((a, b) => a - b),
      'exactly the dropped and corrupted sequence numbers are missing',
    );
    assert.equal(r.eventCount, st.records - st.recordsDropped - st.recordsCorrupted);
    assert.equal(r.end!.recordsSent, st.records);
    // Every flipped frame is rejected by a CRC (or its sync word no longer matches and it is skipped).
    assert.ok(r.counters.crcErrors + r.counters.headerErrors <= st.framesCorrupted);
    assert.ok(r.counters.crcErrors + r.counters.headerErrors >= 1);
    assert.ok(r.counters.bytesSkipped >= st.garbageBytes);
  });

  it('with garbage alone, the decoder skips exactly the injected bytes and loses nothing', async () => {
    const emu = await startEmulator({ transport: 'tcp', rate: 300_000, seed: 11, maxRecords: 30_000, maxRecordsPerFrame: 500, faults: { garbage: 0.5 } });
    running.push(emu);
    const r = await receiveGemx(emu);
    const st = await emu.done;
    assert.ok(st.garbageBytes > 100);
    assert.equal(r.counters.bytesSkipped, st.garbageBytes);
    assert.equal(r.counters.framesLost, 0);
    assert.equal(r.eventCount, 30_000);
  });

  it('disconnect-every: the receiver reconnects; missing frames are exactly the decoder’s sequence gaps', async () => {
    const emu = await startEmulator({ transport: 'tcp', rate: 100_000, seed: 5, durationSec: 0.9, maxRecordsPerFrame: 2000, faults: { disconnectEverySec: 0.25 } });
    running.push(emu);
    const r = await receiveGemx(emu, { params: { reconnectMinMs: 20, reconnectMaxMs: 20 }, endOptional: true });
    const st = await emu.done;
    assert.ok(st.disconnects >= 2, `disconnects ${st.disconnects}`);
    assert.ok((r.transport.reconnects as number) >= 2, 'the transport reconnected');
    assert.equal(new Set(r.seqs).size, r.seqs.length, 'no frame twice');
    assert.equal(r.counters.framesLost, missingSeqs(r.seqs).length);
    assert.ok(st.framesUnheard >= 1, 'frames went out while no client was connected');
    // Everything unheard shows up as lost — when the END arrived, i.e. no unheard frame trails the last one received.
    if (r.end) assert.ok(r.counters.framesLost >= st.framesUnheard, 'everything unheard shows up as lost');
  });

  it('runs on a worker thread (thread: true) with the same wire and final stats', async () => {
    const emu = await startEmulator({ transport: 'tcp', rate: 300_000, seed: 13, maxRecords: 30_000, thread: true });
    running.push(emu);
    const r = await receiveGemx(emu, { timeoutMs: 20_000 });
    const st = await emu.done;
    assert.equal(r.eventCount, 30_000);
    assert.equal(st.records, 30_000);
    assert.equal(r.end!.recordsSent, 30_000);
    assert.deepEqual(missingSeqs(r.seqs), []);
    assert.equal(st.running, false);
    await assert.rejects(startEmulator({ transport: 'usb', rate: 1000, thread: true }), /thread/);
  });

  it('rejects impossible options with a clear message', async () => {
    await assert.rejects(startEmulator({ transport: 'tcp', rate: 0 }), /rate/);
    await assert.rejects(startEmulator({ transport: 'udp', rate: 1000, level: 'events' }), /level hits/);
    await assert.rejects(startEmulator({ transport: 'tcp', rate: 1000, faults: { drop: 2 } }), /drop: a probability/);
    await assert.rejects(startEmulator({ transport: 'tcp', rate: 1000, listen: 'nowhere' }), /host:port/);
  });
});
