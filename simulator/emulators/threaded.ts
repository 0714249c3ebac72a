// startEmulator({ thread: true }): the emulator on a worker thread, so generating millions of events per
// second does not take the event loop of the process that also receives them (the daemon's decoder and
// cube, or a benchmark). The wire is the same real socket / pty; only the device side moves.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { openTransport } from '../../drivers/open-transport.js';
import '../../drivers/transports/index.js';
import type { EmulatorStats } from './frame-pump.js';
import type { EmulatorOptions, RunningEmulator } from './start-emulator.js';
import type { FromWorker, ToWorker } from './emulator-worker.js';

function workerEntry(): { url: URL; entry: string | undefined } {
  const js = new URL('./emulator-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { url: js, entry: undefined };
  return { url: new URL('./worker-from-source.mjs', import.meta.url), entry: new URL('./emulator-worker.ts', import.meta.url).href };
}

export async function startEmulatorThread(o: EmulatorOptions): Promise<RunningEmulator> {
  if (o.source) throw new Error('thread: a custom source cannot cross to a worker thread; use phantom/seed');
  if (o.transport === 'usb') throw new Error('thread: the fake USB device must live on the thread that opens it; use thread: false');
  const { source: _s, thread: _t, ...options } = o;
  const entry = workerEntry();
  const worker = new Worker(entry.url, { workerData: { options, entry: entry.entry } });
  let latest: EmulatorStats | undefined;
  let resolveDone!: (s: EmulatorStats) => void;
  const done = new Promise<EmulatorStats>((r) => (resolveDone = r));
  const started = new Promise<{ address: string }>((resolve, reject) => {
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'started') resolve(m);
      else if (m.type === 'stats') latest = m.stats;
      else if (m.type === 'done') {
        latest = m.stats;
        resolveDone(m.stats);
      } else if (m.type === 'error') reject(new Error(m.message));
    });
    worker.once('error', (err) => reject(err));
    worker.once('exit', (code) => {
      reject(new Error(`emulator thread exited (${code}) before starting`));
      // A thread that dies without 'done' still ends the emulator for whoever awaits it.
      if (latest) resolveDone({ ...latest, running: false });
    });
  });
  const { address } = await started;
  const send = (m: ToWorker): void => worker.postMessage(m);
  const empty = (): EmulatorStats => ({
    running: false, elapsedSec: 0, ticks: 0, framesGenerated: 0, framesSent: 0, framesDropped: 0, framesCorrupted: 0, framesUnheard: 0,
    statusFrames: 0, endFrames: 0, records: 0, recordsDropped: 0, recordsCorrupted: 0, recordsUnheard: 0, bytesSent: 0, garbageBytes: 0,
    garbageChunks: 0, disconnects: 0, achievedRate: 0, maxTickLagMs: 0, cappedTicks: 0, droppedUnits: [], corruptedUnits: [], endpoint: {},
  });
  return {
    address,
    transport: o.transport,
    openReceiver: (params = {}) => {
      const url = new URL(address);
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
      return openTransport(url.toString());
    },
    /** The latest snapshot from the thread (at most ~100 ms old; final once done). */
    stats: () => latest ?? empty(),
    begin: () => send({ type: 'begin' }),
    stop: async () => {
      send({ type: 'stop' });
      const s = await Promise.race([done, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
      if (s === null) await worker.terminate();
      return latest ?? empty();
    },
    done,
  };
}
