// What a decoded frame does to the cube. The live scan and crash recovery both go through this one class,
// so a cube rebuilt from a checkpoint plus the recording's tail is filled by exactly the same steps.
import type { DecodedFrame } from '../../drivers/codecs/gemx-decode.js';
import type { GemxrfConfig } from '../../config/index.js';
import { Calibration } from '../../pipelines/calibration/calibration.js';
import type { Cube } from '../../pipelines/cube/cube.js';
import { EventFormer } from '../../pipelines/formation/event-former.js';

export class FrameSink {
  readonly calibration: Calibration;
  private former: EventFormer | null = null;
  /** Stream offset just after the last whole frame seen: a checkpoint taken now covers the recording up to here. */
  frameEnd: number;
  statusFrames = 0;
  endSeen = false;

  constructor(readonly cube: Cube, private readonly config: GemxrfConfig, startOffset: number) {
    this.calibration = Calibration.fromConfig(config);
    this.frameEnd = startOffset;
  }

  accept(f: DecodedFrame): void {
    this.frameEnd = f.offset + f.length;
    const item = f.item;
    if (!item) return;
    switch (item.kind) {
      case 'events':
        this.cube.addEvents(item, this.calibration);
        break;
      case 'hits': {
        this.former ??= new EventFormer(this.config.formation, this.config.detector);
        const ev = this.former.push(item);
        if (ev.n > 0) this.cube.addEvents(ev, this.calibration);
        break;
      }
      case 'status':
        this.statusFrames++;
        break;
      case 'end':
        this.endSeen = true;
        break;
      default:
        break;
    }
  }

  /** True when state that a checkpoint cannot hold (clusters waiting for their partner plane) is pending. */
  get formsEvents(): boolean {
    return this.former !== null;
  }

  /** End of stream: release the clusters still waiting in event formation. */
  flush(): void {
    if (!this.former) return;
    const ev = this.former.flush();
    if (ev.n > 0) this.cube.addEvents(ev, this.calibration);
  }
}
