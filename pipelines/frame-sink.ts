// What a decoded frame does to the cube: FrameEvents (the one path from items to event batches) plus the
// calibrated histogram, and the stream offset a checkpoint taken now would cover. The live scan, crash
// recovery and exports all go through this one class, so a cube rebuilt from a checkpoint plus the
// recording's tail is filled by exactly the same steps. A pipeline stage: nothing in it is daemon-specific.
import type { GemxrfConfig } from '../config/index.js';
import type { DecodedFrame } from '../drivers/codecs/gemx-decode.js';
import type { GemrocCounters } from '../drivers/codecs/gemroc-decode.js';
import { Calibration } from './calibration/calibration.js';
import type { Cube } from './cube/cube.js';
import type { FormationCounters } from './formation/event-former.js';
import { FrameEvents, type FrameEventsState } from './frame-events.js';

export class FrameSink {
  readonly calibration: Calibration;
  private readonly events: FrameEvents;
  /** Stream offset just after the last whole frame seen: a checkpoint taken now covers the recording up to here. */
  frameEnd: number;

  constructor(readonly cube: Cube, config: GemxrfConfig, startOffset: number) {
    this.calibration = Calibration.fromConfig(config);
    this.events = new FrameEvents(config);
    this.frameEnd = startOffset;
  }

  accept(f: DecodedFrame): void {
    this.frameEnd = f.offset + f.length;
    const ev = this.events.accept(f.item);
    if (ev) this.cube.addEvents(ev, this.calibration);
  }

  get statusFrames(): number {
    return this.events.statusFrames;
  }

  /** gemroc-udp streams (DATAGRAM frames): the decoder's packet accounting, per board included; else null. */
  get gemroc(): GemrocCounters | null {
    return this.events.gemroc;
  }

  /** Event formation's counters once hits arrived (HITS frames, gemroc datagrams); null for events-level streams. */
  get formation(): FormationCounters | null {
    return this.events.formation;
  }

  get endSeen(): boolean {
    return this.events.endSeen;
  }

  /** True once event formation exists: clusters waiting for their partner plane may be pending, which only
   *  the formation state (formationState()) carries across a checkpoint. */
  get formsEvents(): boolean {
    return this.events.formsEvents;
  }

  /** The formation/decoder state a checkpoint taken now must carry with the cube (null: events-level, none). */
  formationState(): FrameEventsState | null {
    return this.events.snapshot();
  }

  /** Resumes from a checkpoint's formation state (before the first frame of the recording's tail). */
  restoreFormation(s: FrameEventsState): void {
    this.events.restore(s);
  }

  /** End of stream: release the clusters still waiting in event formation. */
  flush(): void {
    const ev = this.events.flush();
    if (ev) this.cube.addEvents(ev, this.calibration);
  }
}
