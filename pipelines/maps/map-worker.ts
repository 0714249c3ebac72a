// A classical-map worker_thread (roi or fit): attaches to the cube's SharedArrayBuffers once, builds the roi plan
// or the LinearFitter once (the fitter's components are the slow part), then computes the whole cube's maps on
// each request and transfers the map buffer back. The main thread never sends a request while one is running
// (MapThread), so there is no queue here; the cube may grow while a computation reads it (see cube.ts: every
// value read is one that was written).
import { parentPort, threadId, workerData, type MessagePort } from 'node:worker_threads';
import { Cube } from '../cube/cube.js';
import { cubeGrid } from './build.js';
import { LinearFitter } from './fit.js';
import type { FromMapWorker, MapWorkerInit, ToMapWorker } from './map-thread-protocol.js';
import { planRoi, roiMaps } from './roi.js';
import type { MapSet } from './types.js';

if (!parentPort) throw new Error('pipelines/maps/map-worker must run as a worker_thread');
const port: MessagePort = parentPort;
const init = workerData as MapWorkerInit;
const send = (m: FromMapWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function prepare(): () => MapSet {
  const cube = Cube.fromShared(init.cube);
  const grid = cubeGrid(cube);
  if (init.method === 'roi') {
    const plan = planRoi(grid, init.elements, { ...init.roi, detector: init.detector });
    return () => roiMaps(plan, cube);
  }
  const fitter = new LinearFitter(grid, init.elements, { detector: init.detector });
  return () => fitter.fitCube(cube, { background: init.background }).maps;
}

let compute: (() => MapSet) | null = null;
try {
  compute = prepare();
} catch (err) {
  // No listener is left: the worker ends on its own once this is delivered (the main thread terminates it too).
  send({ type: 'failed', message: message(err) });
}
if (compute) serve(compute);

function serve(compute: () => MapSet): void {
  port.on('message', (m: ToMapWorker) => {
    if (m.type !== 'compute') return;
    const t0 = performance.now();
    let maps: MapSet;
    try {
      maps = compute();
    } catch (err) {
      send({ type: 'error', id: m.id, message: message(err) });
      return;
    }
    send({ type: 'maps', id: m.id, maps, ms: performance.now() - t0 }, [maps.data.buffer as ArrayBuffer]);
  });
  send({ type: 'ready', threadId });
}
