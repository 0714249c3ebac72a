// Messages between the main thread (InferenceEngine) and the inference worker. Small and per cycle: spectra
// and maps travel through SharedArrayBuffers, never through these messages.
import type { SharedCube } from '../cube/cube.js';
import type { SharedMapBuffers } from './shared-maps.js';

export interface Tuning {
  relativeThreshold: number;
  absoluteThreshold: number;
  cycleBudgetMs: number;
}

export interface WorkerInit {
  cube: SharedCube;
  maps: SharedMapBuffers;
  modelPath: string;
  threads: number;
  tuning: Tuning;
  minCounts: number;
  blockSizes: number[];
  batchSize: number;
  /** Pause between cycles that found nothing to do (ms). */
  idleMs: number;
  /** Run cycles on its own (true) or only when asked (tests, benchmarks). */
  auto: boolean;
  /** native-gate.ts: the worker's state, busy flag and heartbeat, watched by the main thread's deadline. */
  control: SharedArrayBuffer;
  probe?: false;
}

/** A worker that only loads the graph (checked against its card), releases it and reports ready:
 *  model/select's check. */
export interface ProbeInit {
  modelPath: string;
  threads: number;
  control: SharedArrayBuffer;
  probe: true;
}

/** What one cycle did (also the final pass, with final: true). */
export interface CycleReport {
  /** Worker thread id: proves the work ran off the main thread. */
  threadId: number;
  final: boolean;
  /** Wall time of the cycle (ms), planning included. */
  ms: number;
  /** Time inside session.run (ms). */
  modelMs: number;
  /** Spectra run through the model (one per unit: a block or a pixel). */
  spectra: number;
  /** Pixels whose maps were written. */
  pixels: number;
  /** Units due but left for the next cycle (time budget), and the pixels they cover. */
  backlogUnits: number;
  backlogPixels: number;
  /** Coarsest and finest block size inferred in this cycle (0 when nothing ran). */
  coarsestLevel: number;
  finestLevel: number;
  /** Pixels per block size after the cycle: { '0': never inferred, '1': full resolution, '2': ..., '4': ... }. */
  levelPixels: Record<string, number>;
  /** The cube generation the cycle saw (a reset clears the maps). */
  generation: number;
}

export type ToWorker =
  | { type: 'cycle'; id: number }
  | { type: 'final'; id: number }
  | { type: 'tune'; tuning: Partial<Tuning> }
  | { type: 'auto'; on: boolean }
  | { type: 'stop' };

export type FromWorker =
  /** The worker's modules are loaded; the graph load (under the deadline) starts now. */
  | { type: 'loading' }
  | { type: 'ready'; card: unknown; modelPath: string }
  | { type: 'failed'; name: string; message: string }
  | { type: 'report'; id: number | null; report: CycleReport }
  | { type: 'error'; id: number | null; message: string }
  | { type: 'stopped' };
