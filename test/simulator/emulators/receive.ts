// Test helper: open a receiving transport on an emulator, decode gemx until the END frame (bounded), and
// hand back everything the decoder saw.
import type { EventBatch, HitBatch } from '../../../drivers/batches.js';
import { GemxDecoder, zeroGemxCounters, type GemxCounters } from '../../../drivers/codecs/gemx-decode.js';
import type { GemxEnd } from '../../../drivers/codecs/gemx-format.js';
import type { TransportStatus } from '../../../drivers/transport.js';
import type { RunningEmulator } from '../../../simulator/emulators/index.js';

export interface GemxReceived {
  seqs: number[];
  events: { x: number[]; y: number[]; adc: number[]; t: number[] };
  hits: number;
  eventCount: number;
  statusFrames: number;
  end: GemxEnd | undefined;
  counters: GemxCounters;
  transport: TransportStatus;
}

export async function receiveGemx(
  emu: RunningEmulator,
  opts: {
    params?: Record<string, string | number | boolean>;
    timeoutMs?: number;
    keepEvents?: boolean;
    onOpen?: () => void;
    /** Also finish when the emulator is done and nothing arrived for 300 ms (the END may fall into an unplug). */
    endOptional?: boolean;
  } = {},
): Promise<GemxReceived> {
  const t = emu.openReceiver({ reconnectMinMs: 10, reconnectMaxMs: 50, ...opts.params });
  const counters = zeroGemxCounters();
  const dec = new GemxDecoder({ counters });
  const r: GemxReceived = { seqs: [], events: { x: [], y: [], adc: [], t: [] }, hits: 0, eventCount: 0, statusFrames: 0, end: undefined, counters, transport: t.status() };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`no END within ${opts.timeoutMs ?? 10000} ms: ${JSON.stringify({ frames: r.seqs.length, counters, emulator: emu.stats() })}`));
    }, opts.timeoutMs ?? 10000);
    const sub = t.open().subscribe({
      next: (chunk) => {
        for (const f of dec.push(chunk)) {
          if (f.order === 'duplicate') continue;
          r.seqs.push(f.seq);
          const it = f.item;
          if (!it) continue;
          if (it.kind === 'events') {
            const b = it as EventBatch;
            r.eventCount += b.n;
            if (opts.keepEvents)
              for (let i = 0; i < b.n; i++) {
                r.events.x.push(b.x[i]!);
                r.events.y.push(b.y[i]!);
                r.events.adc.push(b.adc[i]!);
                r.events.t.push(b.t[i]!);
              }
          } else if (it.kind === 'hits') r.hits += (it as HitBatch).n;
          else if (it.kind === 'status') r.statusFrames++;
          else if (it.kind === 'end') {
            r.end = it;
            clearTimeout(timer);
            sub.unsubscribe();
            resolve();
          }
        }
      },
      error: reject,
    });
    opts.onOpen?.();
    if (opts.endOptional)
      void emu.done.then(async () => {
        let last = -1;
        while (!r.end && counters.bytesIn !== last) {
          last = counters.bytesIn;
          await new Promise((w) => setTimeout(w, 300));
        }
        clearTimeout(timer);
        sub.unsubscribe();
        resolve();
      });
  });
  r.transport = t.status();
  await t.close();
  return r;
}

/** Sequence numbers 0..last that are not in `seen`. */
export function missingSeqs(seen: readonly number[]): number[] {
  const set = new Set(seen);
  const last = Math.max(...seen);
  const out: number[] = [];
  for (let s = 0; s <= last; s++) if (!set.has(s)) out.push(s);
  return out;
}
