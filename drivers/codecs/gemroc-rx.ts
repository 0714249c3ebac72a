// RxJS wiring for gemroc-udp: one datagram in, one HitBatch out (rejected and duplicate packets emit nothing).
import { Observable, type OperatorFunction } from 'rxjs';
import type { ChannelMapEntry } from '../../config/index.js';
import type { HitBatch } from '../batches.js';
import { GemrocDecoder, zeroGemrocCounters, type GemrocCounters, type GemrocDecoderOptions } from './gemroc-decode.js';

export function decodeGemroc(channelMap: readonly ChannelMapEntry[], counters: GemrocCounters = zeroGemrocCounters(), opts: Omit<GemrocDecoderOptions, 'counters'> = {}): OperatorFunction<Uint8Array, HitBatch> {
  return (source) =>
    new Observable<HitBatch>((sub) => {
      const decoder = new GemrocDecoder(channelMap, { ...opts, counters });
      return source.subscribe({
        next: (datagram) => {
          const batch = decoder.decode(datagram);
          if (batch && batch.n > 0) sub.next(batch);
        },
        error: (e: unknown) => sub.error(e),
        complete: () => sub.complete(),
      });
    });
}
