// gemroc-udp framing for the UDP emulator: strip hits -> each board's 1458-byte packets through the
// configuration's channel map (the codecs' GemrocEncoder), each board counting its own packet numbers.
// gemroc has no STATUS or END packets and no CRC.
import type { ChannelMapEntry } from '../../config/index.js';
import type { EventBatch, HitBatch } from '../../drivers/batches.js';
import { readGemrocHeader } from '../../drivers/codecs/gemroc-decode.js';
import { GemrocEncoder } from '../../drivers/codecs/gemroc-encode.js';
import type { Framer, WireUnit } from './framer.js';

export class GemrocFramer implements Framer {
  private readonly encoder: GemrocEncoder;

  constructor(channelMap: readonly ChannelMapEntry[]) {
    this.encoder = new GemrocEncoder(channelMap);
  }

  /** Hits on strips no board reads (skipped). */
  get unmappable(): number {
    return this.encoder.unmappable;
  }

  frames(batch: EventBatch | HitBatch): WireUnit[] {
    if (batch.kind !== 'hits') throw new Error('gemroc-udp carries strip hits only (use level hits)');
    if (batch.n === 0) return [];
    return this.encoder.encode(batch).map((bytes) => {
      const h = readGemrocHeader(bytes)!;
      return { bytes, records: h.hitCount, seq: h.packetNumber, stream: h.board, kind: 'data' as const };
    });
  }

  status(): null {
    return null;
  }

  end(): null {
    return null;
  }
}
