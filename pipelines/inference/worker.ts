// The inference worker_thread: loads the model (card checked against the graph), attaches to the cube's and
// the maps' SharedArrayBuffers, and runs cycles — on its own (auto) or when the main thread asks. Every piece
// of work goes through one promise chain, so a cycle, the final pass and a stop never overlap.
// Every job and every onnxruntime call is marked in the shared control words (native-gate.ts), which the main
// thread watches to end a worker that hangs (inference.workerTimeoutSeconds).
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Cube } from '../cube/cube.js';
import { BEAT, BUSY, nativeGuard } from './native-gate.js';
import { OnnxModel } from './onnx-model.js';
import type { FromWorker, ProbeInit, ToWorker, WorkerInit } from './protocol.js';
import { IncrementalRunner } from './runner.js';
import { SharedMaps } from './shared-maps.js';

if (!parentPort) throw new Error('pipelines/inference/worker must run as a worker_thread');
const port: MessagePort = parentPort;
const init = workerData as WorkerInit | ProbeInit;
const send = (m: FromWorker): void => port.postMessage(m);
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const control = new Int32Array(init.control);
// Abandoned inside onnxruntime (the main thread's deadline passed): end this thread as soon as the call returns.
const guard = nativeGuard(control, () => process.exit(0));

/** Runs a piece of work marked busy (the main thread's deadline watches busy work for heartbeats). */
async function busy<T>(job: () => Promise<T>): Promise<T> {
  Atomics.store(control, BUSY, 1);
  Atomics.add(control, BEAT, 1);
  try {
    return await job();
  } finally {
    Atomics.add(control, BEAT, 1);
    Atomics.store(control, BUSY, 0);
  }
}

let loaded: OnnxModel | null = null;
send({ type: 'loading' });
try {
  loaded = await busy(() => OnnxModel.load(init.modelPath, { threads: init.threads, guard }));
} catch (err) {
  // The main thread terminates the worker when it reads this (exiting here could drop the message).
  const e = err as Error;
  send({ type: 'failed', name: e.name, message: e.message });
}
if (loaded && init.probe) {
  // model/select's check: the graph loads and matches its card; nothing to serve.
  const model = loaded;
  await busy(() => model.release());
  send({ type: 'ready', card: model.card, modelPath: model.path });
} else if (loaded && !init.probe) serve(loaded, init);

function serve(model: OnnxModel, init: WorkerInit): void {
  const runner = new IncrementalRunner(model, Cube.fromShared(init.cube), new SharedMaps(init.maps), {
    tuning: init.tuning, minCounts: init.minCounts, blockSizes: init.blockSizes, batchSize: init.batchSize,
  });
  let chain: Promise<void> = Promise.resolve();
  let auto = init.auto;
  let stopping = false;
  let timer: NodeJS.Timeout | null = null;

  const enqueue = (job: () => Promise<void>): void => {
    const marked = () => busy(job);
    chain = chain.then(marked, marked);
  };

  const work = (final: boolean, id: number | null): Promise<void> =>
    (final ? runner.finalPass() : runner.cycle()).then(
      (report) => send({ type: 'report', id, report }),
      (err: unknown) => send({ type: 'error', id, message: message(err) }),
    );

  // Auto mode: cycles back to back while there is work; a pause of idleMs after a cycle that found nothing.
  const scheduleAuto = (delayMs: number): void => {
    if (!auto || stopping || timer) return;
    timer = setTimeout(() => {
      timer = null;
      enqueue(async () => {
        if (!auto || stopping) return;
        let busy = false;
        try {
          const report = await runner.cycle();
          busy = report.spectra > 0 || report.pixels > 0;
          send({ type: 'report', id: null, report });
        } catch (err) {
          send({ type: 'error', id: null, message: message(err) });
        }
        scheduleAuto(busy ? 0 : init.idleMs);
      });
    }, delayMs);
  };

  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'cycle':
        enqueue(() => work(false, m.id));
        break;
      case 'final':
        enqueue(() => work(true, m.id));
        break;
      case 'tune':
        enqueue(async () => runner.tune(m.tuning));
        break;
      case 'auto':
        auto = m.on;
        if (auto) scheduleAuto(0);
        break;
      case 'stop':
        stopping = true;
        if (timer) clearTimeout(timer);
        enqueue(async () => {
          await model.release();
          send({ type: 'stopped' });
        });
        break;
    }
  });

  send({ type: 'ready', card: model.card, modelPath: model.path });
  scheduleAuto(0);
}
