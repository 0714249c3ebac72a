// gemx framing for the emulators: EVENTS or HITS frames of at most maxPerFrame records, one STATUS frame
// now and then, an END frame at the end; one u32 sequence counter over all of them, as the device has.
import type { EventBatch, HitBatch } from '../../drivers/batches.js';
import { encodeEndFrame, encodeEventsFrames, encodeHitsFrames, encodeStatusFrame } from '../../drivers/codecs/gemx-encode.js';
import { H, StatusFlag } from '../../drivers/codecs/gemx-format.js';
import type { DeviceTelemetry, Framer, WireUnit } from './framer.js';

const U32 = 0x1_0000_0000;

export class GemxFramer implements Framer {
  private seq = 0;

  constructor(private readonly maxPerFrame = 8192, private readonly thresholds: number[] = [40, 40, 40, 40, 40, 40, 40, 40]) {}

  /** The sequence number the next frame will carry. */
  get nextSeq(): number {
    return this.seq;
  }

  frames(batch: EventBatch | HitBatch): WireUnit[] {
    if (batch.n === 0) return [];
    const frames = batch.kind === 'events' ? encodeEventsFrames(this.seq, batch, this.maxPerFrame) : encodeHitsFrames(this.seq, batch, this.maxPerFrame);
    const units = frames.map((bytes, i): WireUnit => ({
      bytes,
      records: new DataView(bytes.buffer, bytes.byteOffset).getUint32(H.count, true),
      seq: (this.seq + i) % U32,
      stream: 0,
      kind: 'data',
    }));
    this.seq = (this.seq + frames.length) % U32;
    return units;
  }

  status(timeNs: number, t: DeviceTelemetry): WireUnit {
    const seq = this.take();
    const bytes = encodeStatusFrame(seq, Math.round(timeNs), {
      flags: StatusFlag.HV_ON | StatusFlag.ACQUIRING,
      eventRateHz: t.eventRateHz,
      hitRateHz: t.hitRateHz,
      hvVolts: 3900,
      hvCurrentUa: 1.2,
      temperatureC: 24.5,
      deviceDropped: t.deviceDropped,
      thresholds: this.thresholds,
    });
    return { bytes, records: 0, seq, stream: 0, kind: 'status' };
  }

  end(timeNs: number, framesSent: number, recordsSent: number): WireUnit {
    const seq = this.take();
    return { bytes: encodeEndFrame(seq, Math.round(timeNs), framesSent, recordsSent), records: 0, seq, stream: 0, kind: 'end' };
  }

  private take(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) % U32;
    return s;
  }
}
