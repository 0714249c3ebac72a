// Loopback: emulator -> TCP (127.0.0.1) -> tcp transport -> gemx decoder, sustained for LOOPBACK_SECONDS
// (default 30) at LOOPBACK_RATE events/s (default 2,000,000): the rate that actually arrived decoded, frames
// lost (decoder sequence gaps + emulator-side backpressure drops), and how far the emulator's clock lagged.
// Reference, same run, same process: the same frames' bytes pushed through a TCP socket as fast as it takes
// them, without generating or decoding (the ceiling the loopback link itself puts on this machine).
// Both sides share one Node process (one event loop), as the daemon does with its in-process simulator.
import net from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { decodeGemx, zeroGemxCounters } from '../drivers/codecs/index.js';
import { encodeEventsFrames } from '../drivers/codecs/gemx-encode.js';
import { openTransport } from '../drivers/open-transport.js';
import '../drivers/transports/index.js';
import { EventGenerator } from '../simulator/generators/events.js';
import { startEmulator } from '../simulator/emulators/index.js';

const SECONDS = Number(process.env.LOOPBACK_SECONDS ?? 30);
const RATE = Number(process.env.LOOPBACK_RATE ?? 2_000_000);
const FRAME_RECORDS = 8192;
const REF_SECONDS = Math.min(5, SECONDS);
// The emulator on its own worker thread (default), or on the receiver's thread (LOOPBACK_THREAD=0).
const THREAD = process.env.LOOPBACK_THREAD !== '0';

async function rawTcpReference(frames: Uint8Array[], eventsPerFrame: number): Promise<{ eventsPerSec: number; mbPerSec: number }> {
  let received = 0;
  const server = net.createServer((s) => s.on('data', (c: Buffer) => (received += c.length)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise<void>((r) => client.once('connect', () => r()));
  const bytesPerFrame = frames.reduce((a, f) => a + f.length, 0) / frames.length;
  const t0 = performance.now();
  let sent = 0;
  let i = 0;
  // Keep ~4 MiB queued so the socket never idles, yielding to the event loop so the server side reads.
  while (performance.now() - t0 < REF_SECONDS * 1000) {
    while (client.writableLength < 4 * 1024 * 1024) {
      const f = frames[i++ % frames.length]!;
      client.write(f);
      sent += f.length;
    }
    await new Promise((r) => setImmediate(r));
  }
  const target = sent;
  while (received < target) await new Promise((r) => setImmediate(r));
  const secs = (performance.now() - t0) / 1000;
  client.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  return { eventsPerSec: (received / bytesPerFrame) * eventsPerFrame / secs, mbPerSec: received / secs / 1e6 };
}

export default async function loopback(): Promise<void> {
  console.log(`emulator -> tcp -> decoder at ${RATE.toLocaleString('en')} events/s for ${SECONDS} s (LOOPBACK_RATE, LOOPBACK_SECONDS), ${FRAME_RECORDS} events/frame, 5 ms ticks, emulator ${THREAD ? "on a worker thread" : "on the receiver thread"} (LOOPBACK_THREAD)`);

  // Reference: real frames (same generator, same frame size), no generation or decoding in the loop.
  const batch = new EventGenerator({ phantom: 'phantom-painting', ratePerSecond: RATE, seed: 1 }).next(FRAME_RECORDS * 32);
  const frames = encodeEventsFrames(0, batch, FRAME_RECORDS);
  const ref = await rawTcpReference(frames, FRAME_RECORDS);

  const cpu0 = process.cpuUsage();
  const emu = await startEmulator({ transport: 'tcp', rate: RATE, seed: 1, durationSec: SECONDS, maxRecordsPerFrame: FRAME_RECORDS, thread: THREAD });
  const t = openTransport(`${emu.address}?reconnect=false`);
  const counters = zeroGemxCounters();
  let events = 0;
  let firstAt = 0;
  let lastAt = 0;
  await new Promise<void>((resolve) => {
    const sub = t
      .open()
      .pipe(decodeGemx(counters))
      .subscribe({
        next: (it) => {
          if (it.kind === 'events') {
            if (!firstAt) firstAt = performance.now();
            lastAt = performance.now();
            events += it.n;
          } else if (it.kind === 'end') {
            sub.unsubscribe();
            resolve();
          }
        },
        complete: () => resolve(),
      });
  });
  const st = await emu.done;
  await t.close();
  const cpu = process.cpuUsage(cpu0);
  // CPU of the whole process (both threads: generate, frame, send, receive, decode) per event: a figure the
  // other jobs on a shared machine do not change much, unlike the sustained rate.
  const cpuNsPerEvent = ((cpu.user + cpu.system) * 1000) / Math.max(1, events);
  const backpressure = Number(st.endpoint.backpressureDrops ?? 0);
  const lost = counters.framesLost + backpressure;
  const rate = events / st.elapsedSec;
  console.log(`loopback     ${(rate / 1e6).toFixed(2)} M events/s sustained over ${st.elapsedSec.toFixed(1)} s (${events.toLocaleString('en')} events decoded of ${st.records.toLocaleString('en')} sent; requested ${(RATE / 1e6).toFixed(2)} M/s)`);
  console.log(`             lost frames ${lost} (decoder gaps ${counters.framesLost}, CRC errors ${counters.crcErrors}, emulator backpressure drops ${backpressure}); emulator max tick delay ${st.maxTickLagMs.toFixed(1)} ms, ${st.cappedTicks} of ${st.ticks} ticks could not keep up; ${(st.bytesSent / st.elapsedSec / 1e6).toFixed(1)} MB/s on the wire; decode span ${((lastAt - firstAt) / 1000).toFixed(1)} s`);
  console.log(`             process CPU ${cpuNsPerEvent.toFixed(0)} ns per event end to end (${((cpu.user + cpu.system) / 1e6).toFixed(1)} CPU-s for ${st.elapsedSec.toFixed(1)} s; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores)`);
  console.log(`reference    ${(ref.eventsPerSec / 1e6).toFixed(2)} M events/s raw TCP throughput of the same frames without generating or decoding (${ref.mbPerSec.toFixed(0)} MB/s, ${REF_SECONDS} s)`);
}
