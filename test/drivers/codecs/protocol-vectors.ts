// The test vectors in docs/protocol.md: built here with the encoders, printed into the doc
// (`npx tsx test/drivers/codecs/protocol-vectors.ts`), and checked by protocol-doc.test.ts in both directions.
import { pathToFileURL } from 'node:url';
import { encodeEndFrame, encodeEventsFrame, encodeHitsFrame, encodeStatusFrame } from '../../../drivers/codecs/gemx-encode.js';
import { encodeGemrocPacket } from '../../../drivers/codecs/gemroc-encode.js';
import { packHitWord } from '../../../drivers/codecs/gemroc-format.js';
import { encodeRecordingHeader } from '../../../drivers/codecs/recording-header.js';
import { eventBatch, hitBatch } from './helpers.js';

const B = 1_000_000_000;
export const vectors: Record<string, () => Uint8Array> = {
  'events-frame': () => encodeEventsFrame(7, B, eventBatch([[10, 20, 1234, B], [11, 21, 2345, B + 100], [65535, 0, 4095, B + 4294967295]])),
  'hits-frame': () => encodeHitsFrame(8, 5000, hitBatch([[0, 5, 300, 5016], [1, 127, 4000, 5020]])),
  'status-frame': () => encodeStatusFrame(9, 2 * B, { flags: 3, eventRateHz: 125000, hitRateHz: 250000, hvVolts: 3900.5, hvCurrentUa: 1.25, temperatureC: 23.5, deviceDropped: 17, thresholds: [100, 101, 102, 103, 104, 105, 106, 107] }),
  'end-frame': () => encodeEndFrame(10, 3 * B, 10, 5),
  'recording-header': () => encodeRecordingHeader({ startTimeNs: 1_767_225_600_000_000_000n, instrumentId: 'gemxrf-1', meta: { source: 'tcp://127.0.0.1:48300' } }),
};

/** The gemroc packet vector: two hits on board 1; only the non-zero parts are printed in the doc. */
export function gemrocVector(): Uint8Array {
  const w1 = packHitWord({ adc: 0xabc, fpgaTs: 123456, asicTs: 1000, channel: 17, asic: 2, pileup: false, overflow: false });
  const w2 = packHitWord({ adc: 5, fpgaTs: 0x7fffffff, asicTs: 4095, channel: 31, asic: 3, pileup: true, overflow: true });
  return encodeGemrocPacket(42, 1, [w1[0], w2[0]], [w1[1], w2[1]]);
}

export function hexDump(b: Uint8Array, from = 0, to = b.length): string {
  const lines: string[] = [];
  for (let o = from; o < to; o += 16) {
    const row = Array.from(b.subarray(o, Math.min(o + 16, to)), (v) => v.toString(16).padStart(2, '0')).join(' ');
    lines.push(`${o.toString(16).padStart(4, '0')}: ${row}`);
  }
  return lines.join('\n');
}

/** Parses the doc's dump format back into bytes (offsets are checked, so a dump cannot be misread). */
export function parseHexDump(text: string): { bytes: Map<number, number>; length: number } {
  const bytes = new Map<number, number>();
  let length = 0;
  for (const line of text.trim().split('\n')) {
    const m = /^([0-9a-f]{4,}):((?: [0-9a-f]{2})+)\s*$/.exec(line.trim());
    if (!m) throw new Error(`bad hex dump line: '${line}'`);
    const at = parseInt(m[1]!, 16);
    m[2]!.trim().split(' ').forEach((h, i) => bytes.set(at + i, parseInt(h, 16)));
    length = Math.max(length, at + m[2]!.trim().split(' ').length);
  }
  return { bytes, length };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const [name, make] of Object.entries(vectors)) console.log(`\n${name}\n\`\`\`hex\n${hexDump(make())}\n\`\`\``);
  const g = gemrocVector();
  console.log(`\ngemroc-packet (bytes 0x0000-0x002f and the trailer; all others zero)\n\`\`\`hex\n${hexDump(g, 0, 48)}\n${hexDump(g, 1456, 1458)}\n\`\`\``);
}
