// emulator (hits, gemroc-udp, two boards) -> udp transport -> gemroc decoder: packets, hits and each board's
// packet numbers arrive as sent; with drops the per-board loss counters match the dropped packet numbers.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import type { HitBatch } from '../../../drivers/batches.js';
import { decodeGemroc } from '../../../drivers/codecs/gemroc-rx.js';
import { zeroGemrocCounters } from '../../../drivers/codecs/gemroc-decode.js';
import { openTransport } from '../../../drivers/open-transport.js';
import type { Transport } from '../../../drivers/transport.js';
import type { UdpStreamCounters } from '../../../drivers/transports/udp.js';
import '../../../drivers/transports/index.js';
import { defaultChannelMap, startEmulator, type EmulatorStats, type RunningEmulator } from '../../../simulator/emulators/index.js';
import { waitFor } from '../../drivers/transports/wait.js';
import { UdpSenderEndpoint } from '../../../simulator/emulators/udp-sender.js';

describe('emulator: udp (gemroc)', () => {
  const cleanup: Array<() => Promise<unknown> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function run(opts: { maxRecords: number; faults?: { drop?: number; garbage?: number; disconnectEverySec?: number } }) {
    const t: Transport = openTransport('udp://127.0.0.1:0?format=gemroc');
    cleanup.push(() => t.close());
    const counters = zeroGemrocCounters();
    let hits = 0;
    const planes = [0, 0];
    const sub = t.open().pipe(decodeGemroc(defaultChannelMap(), counters)).subscribe((b: HitBatch) => {
      hits += b.n;
      for (let i = 0; i < b.n; i++) planes[b.plane[i]!]!++;
    });
    cleanup.push(() => sub.unsubscribe());
    await waitFor(() => t.status().state === 'open', 'bound');
    const emu: RunningEmulator = await startEmulator({
      transport: 'udp', level: 'hits', rate: 20_000, seed: 12, target: `127.0.0.1:${t.status().port as number}`, maxRecords: opts.maxRecords,
      ...(opts.faults ? { faults: opts.faults } : {}),
    });
    cleanup.push(() => emu.stop());
    const st: EmulatorStats = await emu.done;
    const arrived = st.framesSent + st.garbageChunks; // framesSent excludes the dropped ones
    await waitFor(() => counters.datagrams === arrived, `all ${arrived} datagrams`, 5000);
    return { t, counters, hits, planes, st };
  }

  it('close() with sends in flight leaves no timer behind (the drain timeout is cleared once drained)', async () => {
    const ep = await UdpSenderEndpoint.open({ target: '127.0.0.1:9', boards: 2 });
    const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timeouts();
    ep.write([new Uint8Array(1458), new Uint8Array(10)]); // send callbacks still pending when close() starts
    await ep.close();
    assert.equal(timeouts(), before, 'the 2 s drain timeout is not left running after the sends drained');
  });

  it('a board socket that fails to bind: open() rejects and the sockets already created are closed', async () => {
    const created: dgram.Socket[] = [];
    const real = dgram.createSocket;
    (dgram as { createSocket: unknown }).createSocket = (...args: Parameters<typeof dgram.createSocket>): dgram.Socket => {
      const s = real(...args);
      if (created.push(s) === 2) {
        // board 1's source port is taken
        s.bind = ((..._a: unknown[]) => {
          process.nextTick(() => s.emit('error', Object.assign(new Error('bind EADDRINUSE (injected)'), { code: 'EADDRINUSE' })));
          return s;
        }) as typeof s.bind;
      }
      return s;
    };
    try {
      await assert.rejects(UdpSenderEndpoint.open({ target: '127.0.0.1:9', boards: 3 }), /EADDRINUSE/);
    } finally {
      (dgram as { createSocket: unknown }).createSocket = real;
    }
    assert.equal(created.length, 3);
    for (const [i, s] of created.entries()) {
      assert.throws(() => s.address(), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' }, `socket ${i} still open`);
    }
  });

  it('two boards, own packet counters: every packet and hit arrives, no loss', async () => {
    const { t, counters, hits, planes, st } = await run({ maxRecords: 20_000 });
    assert.ok(st.records >= 20_000);
    assert.equal(hits, st.records);
    assert.equal(counters.packetsOk, st.framesSent);
    assert.ok(planes[0]! > 0 && planes[1]! > 0, 'hits on both planes (board 0 reads X, board 1 reads Y)');
    assert.ok(counters.packetsByBoard[0]! > 0 && counters.packetsByBoard[1]! > 0);
    assert.equal(counters.framesLost, 0);
    const streams = t.status().streams as UdpStreamCounters[];
    assert.deepEqual(streams.map((s) => s.board).sort(), [0, 1]);
    for (const s of streams) assert.equal(s.sequence!.framesLost, 0);
    assert.equal(t.status().packetsLost, 0);
  });

  it('with drops and garbage datagrams: per-board losses equal the dropped packet numbers', async () => {
    const { t, counters, hits, st } = await run({ maxRecords: 30_000, faults: { drop: 0.1, garbage: 0.1 } });
    assert.ok(st.framesDropped > 3 && st.garbageChunks > 3, JSON.stringify(st));
    const streams = t.status().streams as UdpStreamCounters[];
    for (const s of streams) {
      // A drop shows as a gap only between the board's first and latest received packet numbers.
      const expected = st.droppedUnits.filter((u) => u.stream === s.board && u.seq > s.firstPacketNumber! && u.seq < s.lastPacketNumber!).length;
      assert.equal(s.sequence!.framesLost, expected, `board ${s.board}`);
    }
    assert.equal(counters.framesLost, streams.reduce((a, s) => a + s.sequence!.framesLost, 0), 'decoder and transport agree');
    assert.equal(counters.badLength, st.garbageChunks);
    assert.equal(t.status().notGemroc, st.garbageChunks);
    assert.equal(hits, st.records - st.recordsDropped);
  });

  it('disconnect-every: the boards come back on new source ports; their packet counters carry on, nothing lost', async () => {
    const { t, counters, hits, st } = await run({ maxRecords: 100_000, faults: { disconnectEverySec: 0.25 } });
    assert.ok(st.disconnects >= 1, JSON.stringify(st));
    assert.equal(hits, st.records);
    assert.equal(counters.framesLost, 0);
    assert.equal(counters.seqResets, 0);
    assert.equal(t.status().packetsLost, 0);
  });
});
