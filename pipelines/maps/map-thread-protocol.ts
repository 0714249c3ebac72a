// Messages between the main thread (MapThread) and a classical-map worker (map-worker.ts). The cube travels
// once, as SharedArrayBuffers in workerData; each computation is one small request and one reply whose map
// buffer is transferred, never copied, and never a message per pixel.
import type { DetectorParams } from '../../physics/index.js';
import type { SharedCube } from '../cube/cube.js';
import type { ClassicalMethod } from './build.js';
import type { RoiBackgroundOptions } from './roi.js';
import type { MapSet } from './types.js';

export interface MapWorkerInit {
  cube: SharedCube;
  method: ClassicalMethod;
  elements: string[];
  detector: DetectorParams;
  /** fit only: LinearFitter.fitCube's background mode. */
  background: 'shared' | 'free';
  /** roi only: the continuum under the windows (planRoi's background and snip; default snip). */
  roi: RoiBackgroundOptions;
}

export type ToMapWorker = { type: 'compute'; id: number };

export type FromMapWorker =
  /** The roi plan or the fitter is built: requests are served from now on. */
  | { type: 'ready'; threadId: number }
  /** The plan or fitter could not be built (e.g. an element with no line on the cube's energy grid). */
  | { type: 'failed'; message: string }
  /** maps.data's buffer is transferred. ms: the computation's wall time in the worker. */
  | { type: 'maps'; id: number; maps: MapSet; ms: number }
  | { type: 'error'; id: number; message: string };
