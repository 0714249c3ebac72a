// What event formation holds between batches, as plain typed arrays: enough to restore an EventFormer that
// goes on exactly as the original would (crash-recovery checkpoints, daemon/scan/checkpoint-files.ts).
// Scratch buffers (sort keys, the output batch) are not state: they are rewritten before they are read.
import type { FormationCounters } from './event-former.js';

/** One plane's pending hits, in buffer order (partly time-sorted; a stable sort makes the order matter). */
export interface PlaneHitsState {
  t: Float64Array;
  strip: Uint16Array;
  adc: Uint16Array;
}

export interface PlaneClustererState {
  hits: PlaneHitsState;
  forcedCuts: number;
  clusters: number;
}

/** The live part of a cluster queue (from its head), matched ones flagged in `used`. */
export interface ClusterQueueState {
  tStart: Float64Array;
  tEnd: Float64Array;
  centroid: Float64Array;
  charge: Float64Array;
  span: Int32Array;
  hits: Int32Array;
  used: Uint8Array;
}

export interface EventFormerState {
  /** [clock X, clock Y, settled]: -Infinity before the first hit, hence a typed array rather than JSON numbers. */
  times: Float64Array;
  counters: FormationCounters;
  planes: [PlaneClustererState, PlaneClustererState];
  queues: [ClusterQueueState, ClusterQueueState];
}

/** Hits waiting in plane buffers plus clusters waiting to be matched: what a cut would lose without the state. */
export function pendingInFormerState(s: EventFormerState): { hits: number; clusters: number } {
  let clusters = 0;
  for (const q of s.queues) for (const u of q.used) if (u === 0) clusters++;
  return { hits: s.planes[0].hits.t.length + s.planes[1].hits.t.length, clusters };
}
