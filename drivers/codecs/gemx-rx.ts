// RxJS wiring for the gemx decoder: chunks in, one item per frame out (never one per event).
import { Observable, type OperatorFunction } from 'rxjs';
import { GemxDecoder, zeroGemxCounters, type DecodedFrame, type GemxCounters, type GemxDecoderOptions, type GemxItem } from './gemx-decode.js';

/**
 * Decodes a byte stream into batches (EventBatch / HitBatch), status and end records, and datagrams.
 * Pass `counters` to watch them live; duplicates are dropped, everything else is delivered in arrival order.
 */
export function decodeGemx(counters: GemxCounters = zeroGemxCounters(), opts: Omit<GemxDecoderOptions, 'counters'> = {}): OperatorFunction<Uint8Array, GemxItem> {
  return (source) =>
    decodeGemxFrames(counters, { ...opts, decodePayload: true })(source).pipe((frames) =>
      new Observable<GemxItem>((sub) =>
        frames.subscribe({
          next: (f) => { if (f.item) sub.next(f.item); },
          error: (e: unknown) => sub.error(e),
          complete: () => sub.complete(),
        }),
      ),
    );
}

/** Like decodeGemx but emits whole DecodedFrame objects (seq, offset, order, raw bytes with keepRaw). */
export function decodeGemxFrames(counters: GemxCounters = zeroGemxCounters(), opts: Omit<GemxDecoderOptions, 'counters'> = {}): OperatorFunction<Uint8Array, DecodedFrame> {
  return (source) =>
    new Observable<DecodedFrame>((sub) => {
      const decoder = new GemxDecoder({ ...opts, counters });
      return source.subscribe({
        next: (chunk) => {
          for (const f of decoder.push(chunk)) sub.next(f);
        },
        error: (e: unknown) => sub.error(e),
        complete: () => {
          for (const f of decoder.end()) sub.next(f);
          sub.complete();
        },
      });
    });
}
