// Worker-thread side of startEmulator({ thread: true }): runs the whole emulator (generator, framing,
// endpoint sockets) on its own thread and reports to the parent: 'started' (address), 'stats' every
// 100 ms, 'done' (final stats) or 'error'. The parent sends 'begin' and 'stop'.
import { parentPort, workerData } from 'node:worker_threads';
import type { EmulatorOptions } from './start-emulator.js';
import type { EmulatorStats } from './frame-pump.js';

export type ToWorker = { type: 'begin' } | { type: 'stop' };
export type FromWorker =
  | { type: 'started'; address: string; hostPath?: string }
  | { type: 'stats'; stats: EmulatorStats }
  | { type: 'done'; stats: EmulatorStats }
  | { type: 'error'; message: string };

const port = parentPort!;
const post = (m: FromWorker): void => port.postMessage(m);
const options = (workerData as { options: EmulatorOptions }).options;

try {
  const { startEmulator } = await import('./start-emulator.js');
  const emu = await startEmulator({ ...options, thread: false });
  post({ type: 'started', address: emu.address, ...(emu.serialEndpoint ? { hostPath: emu.serialEndpoint.hostPath } : {}) });
  const ticker = setInterval(() => post({ type: 'stats', stats: emu.stats() }), 100);
  port.on('message', (m: ToWorker) => {
    if (m.type === 'begin') emu.begin();
    else if (m.type === 'stop') void emu.stop();
  });
  const final = await emu.done;
  clearInterval(ticker);
  post({ type: 'done', stats: final });
  port.close();
} catch (err) {
  post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  port.close();
}
