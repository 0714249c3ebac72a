// What an emulator needs from a generator: "everything that arrived in the next durationNs". The event
// generator (simulator/generators/events.ts) already has this shape; the strip-hit generator is adapted in
// sources.ts. Times are ns on the simulated device clock, which the emulator keeps in step with wall time.
import type { EventBatch, HitBatch } from '../../drivers/batches.js';

export interface PacedSource<B extends EventBatch | HitBatch = EventBatch | HitBatch> {
  readonly level: B['kind'];
  /**
   * Records arriving in the next durationNs, at most maxRecords (the rest follow in the next call). The
   * returned batch may be reused by the next call: encode it before asking again.
   */
  generate(durationNs: number, maxRecords: number): B;
  /** Change the mean record rate (per second) from now on. */
  setRate?(ratePerSecond: number): void;
}
