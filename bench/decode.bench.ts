// gemx decode throughput: GemxDecoder (sync + header CRC + frame CRC-32 + unpack into EventBatch arrays)
// in events/s and MB/s on one core, next to a C decoder (gcc -O2, built into bench/.build/ at bench time)
// doing the same work on the same bytes: once with zlib's crc32 (what node's zlib.crc32 wraps) and once
// with a slice-by-8 table CRC.
// gemroc-udp decode throughput: GemrocDecoder.decode (header, per-board packet counter, 31-bit timestamp unwrap
// and restart check, channel map, HitBatch per packet) on packets made by GemrocEncoder, in hits/s and MB/s,
// next to two references measured in the same run on the same hits: a plain JS loop over the same packet
// bytes (the hit words read with a DataView and unpacked into typed arrays: no channel map, no unwrap, no
// per-packet allocation), and the gemx decoder on the same hits as HITS frames of 8192.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../config/schema.js';
import { allocEventBatch, allocHitBatch, type EventBatch, type HitBatch } from '../drivers/batches.js';
import { crc32IsNative } from '../drivers/codecs/crc32.js';
import { GemxDecoder } from '../drivers/codecs/gemx-decode.js';
import { encodeEventsFrame, encodeHitsFrames } from '../drivers/codecs/gemx-encode.js';
import { GemrocDecoder } from '../drivers/codecs/gemroc-decode.js';
import { GemrocEncoder } from '../drivers/codecs/gemroc-encode.js';
import { GEMROC_HITS_AT, GEMROC_PACKET_BYTES, GEMROC_TRAILER_AT } from '../drivers/codecs/gemroc-format.js';

const EVENTS = 4_000_000, PER_FRAME = 8192, REPS = 8;
const build = join(dirname(fileURLToPath(import.meta.url)), '.build');

const C_SOURCE = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec * 1e-9; }
static uint32_t T[8][256];
static void init(void) {
  for (uint32_t n = 0; n < 256; n++) { uint32_t c = n; for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1; T[0][n] = c; }
  for (uint32_t n = 0; n < 256; n++) { uint32_t c = T[0][n]; for (int k = 1; k < 8; k++) { c = T[0][c & 0xff] ^ (c >> 8); T[k][n] = c; } }
}
static uint32_t crc_s8(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  while (n >= 8) {
    uint32_t a; memcpy(&a, p, 4); a ^= c;
    c = T[7][a & 0xff] ^ T[6][(a >> 8) & 0xff] ^ T[5][(a >> 16) & 0xff] ^ T[4][a >> 24] ^ T[3][p[4]] ^ T[2][p[5]] ^ T[1][p[6]] ^ T[0][p[7]];
    p += 8; n -= 8;
  }
  while (n--) c = T[0][(c ^ *p++) & 0xff] ^ (c >> 8);
  return ~c;
}
static uint32_t crc_z(const uint8_t *p, size_t n) { return (uint32_t)crc32(0L, p, (uInt)n); }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
int main(int argc, char **argv) {
  int R = atoi(argv[2]); long N = atol(argv[3]);
  FILE *f = fopen(argv[1], "rb"); fseek(f, 0, SEEK_END); long L = ftell(f); fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(L); if (fread(buf, 1, L, f) != (size_t)L) return 1; fclose(f);
  init();
  uint16_t *x = malloc(N * 2), *y = malloc(N * 2), *adc = malloc(N * 2); double *t = malloc(N * 8);
  for (int mode = 0; mode < 2; mode++) {
    uint32_t (*crc)(const uint8_t *, size_t) = mode == 0 ? crc_z : crc_s8;
    double best = 1e99; long events = 0, bad = 0; double probe = 0;
    for (int r = 0; r < R; r++) {
      double t0 = now(); events = 0; bad = 0;
      long p = 0;
      while (p + 36 <= L) {
        const uint8_t *h = buf + p;
        if (rd32(h) != 0x584D4547u || crc(h, 28) != rd32(h + 28)) { p++; bad++; continue; }
        uint32_t n = rd32(h + 12), len = rd32(h + 24);
        if (p + 36 + len > L) break;
        if (crc(h, 32 + len) != rd32(h + 32 + len)) { p++; bad++; continue; }
        double base = rd32(h + 16) + rd32(h + 20) * 4294967296.0;
        const uint8_t *pl = h + 32;
        for (uint32_t i = 0; i < n; i++) { uint32_t d; memcpy(&d, pl + 4 * i, 4); t[events + i] = base + d; }
        memcpy(x + events, pl + 4 * n, 2 * n); memcpy(y + events, pl + 6 * n, 2 * n); memcpy(adc + events, pl + 8 * n, 2 * n);
        events += n; p += 36 + len;
      }
      double dt = now() - t0; if (dt < best) best = dt;
    }
    for (long i = 0; i < events; i += 997) probe += x[i] + y[i] + adc[i] + t[i];
    printf("%s %.0f %ld %ld %.0f\n", mode == 0 ? "zlib" : "slice8", events / best, events, bad, probe);
  }
  return 0;
}
`;

function makeStream(): Uint8Array {
  let s = 987654321;
  const next = () => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), s >>> 0);
  const frames: Uint8Array[] = [];
  let t = 1_000_000;
  for (let done = 0, seq = 0; done < EVENTS; done += PER_FRAME, seq++) {
    const n = Math.min(PER_FRAME, EVENTS - done);
    const b: EventBatch = allocEventBatch(n);
    const base = t;
    for (let i = 0; i < n; i++) {
      b.x[i] = next() % 100;
      b.y[i] = next() % 100;
      b.adc[i] = next() % 4096;
      t += next() % 2000; // ~1 M events/s of device time
      b.t[i] = t;
    }
    b.n = n;
    frames.push(encodeEventsFrame(seq, base, b));
  }
  const out = new Uint8Array(frames.reduce((a, f) => a + f.length, 0));
  let o = 0;
  for (const f of frames) { out.set(f, o); o += f.length; }
  return out;
}

function timeJs(stream: Uint8Array, chunk: number): { rate: number; probe: number } {
  let best = Infinity;
  let probe = 0;
  for (let r = 0; r < REPS; r++) {
    const d = new GemxDecoder();
    let events = 0;
    const keep: EventBatch[] = [];
    const t0 = process.hrtime.bigint();
    for (let p = 0; p < stream.length; p += chunk) {
      for (const f of d.push(stream.subarray(p, p + chunk))) {
        const b = f.item as EventBatch;
        events += b.n;
        if (r === 0) keep.push(b); // kept for the value probe only; later reps let batches go, as the cube does
      }
    }
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (events !== EVENTS || d.counters.bytesSkipped !== 0) throw new Error(`decode bench: got ${events} events, ${d.counters.bytesSkipped} bytes skipped`);
    best = Math.min(best, dt);
    if (r === 0) {
      // same probe as the C side: every 997th event over the concatenated arrays
      let i = 0;
      for (const b of keep) {
        for (let k = (997 - (i % 997)) % 997; k < b.n; k += 997) probe += b.x[k]! + b.y[k]! + b.adc[k]! + b.t[k]!;
        i += b.n;
      }
    }
  }
  return { rate: EVENTS / best, probe };
}

function runC(stream: Uint8Array): Map<string, { rate: number; probe: number }> | string {
  try {
    mkdirSync(build, { recursive: true });
    writeFileSync(join(build, 'decode-ref.c'), C_SOURCE);
    execFileSync('gcc', ['-O2', '-o', join(build, 'decode-ref'), join(build, 'decode-ref.c'), '-lz']);
  } catch (e) {
    return `C reference unavailable (gcc/zlib: ${e instanceof Error ? e.message.split('\n')[0] : e})`;
  }
  const data = join(build, 'decode-stream.bin');
  writeFileSync(data, stream);
  const out = execFileSync(join(build, 'decode-ref'), [data, String(REPS), String(EVENTS)], { encoding: 'utf8' });
  const res = new Map<string, { rate: number; probe: number }>();
  for (const line of out.trim().split('\n')) {
    const [mode, rate, events, , probe] = line.split(' ');
    if (Number(events) !== EVENTS) throw new Error(`C reference decoded ${events} events`);
    res.set(mode!, { rate: Number(rate), probe: Number(probe) });
  }
  return res;
}

const HITS = 2_000_000;

/** HITS hits on the default two-board wiring (board b reads plane b, 128 strips), ~2 M hits/s of device time,
 *  as gemroc packets (GemrocEncoder, chunks of 360 hits so the boards' packets interleave as on the wire)
 *  and as gemx HITS frames. */
function makeHits(): { hits: HitBatch; packets: Uint8Array[]; frames: Uint8Array } {
  let s = 123456789;
  const next = () => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), s >>> 0);
  const hits = allocHitBatch(HITS);
  let t = 5_000_000;
  for (let i = 0; i < HITS; i++) {
    hits.plane[i] = next() & 1;
    hits.strip[i] = next() % 128;
    hits.adc[i] = next() % 4096;
    t += 4 * (next() % 250); // on the 4 ns ASIC grid: the packets carry these times exactly
    hits.t[i] = t;
  }
  hits.n = HITS;
  const enc = new GemrocEncoder(configSchema.parse({}).detector.channelMap);
  const packets: Uint8Array[] = [];
  for (let i = 0; i < HITS; i += 360) packets.push(...enc.encode(hits, i, Math.min(HITS, i + 360)));
  if (enc.unmappable !== 0) throw new Error('decode bench: unmappable hits');
  const fs = encodeHitsFrames(0, hits);
  const frames = new Uint8Array(fs.reduce((a, f) => a + f.length, 0));
  let o = 0;
  for (const f of fs) (frames.set(f, o), (o += f.length));
  return { hits, packets, frames };
}

/** Best of REPS seconds for run(); run returns the hits it produced and a probe of their values. */
function best(run: () => { n: number; probe: number }): { s: number; probe: number } {
  let b = Infinity;
  let probe = 0;
  for (let r = 0; r < REPS; r++) {
    const t0 = process.hrtime.bigint();
    const out = run();
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (out.n !== HITS) throw new Error(`decode bench: ${out.n} hits, expected ${HITS}`);
    b = Math.min(b, dt);
    probe = out.probe;
  }
  return { s: b, probe };
}

function gemrocBench(): void {
  const { hits, packets, frames } = makeHits();
  const map = configSchema.parse({}).detector.channelMap;
  const packetBytes = packets.length * GEMROC_PACKET_BYTES;
  // the same probe everywhere: plane + strip + adc of every hit, and the sum of their times (as decoded)
  let want = 0;
  for (let i = 0; i < HITS; i++) want += hits.plane[i]! + hits.strip[i]! + hits.adc[i]! + hits.t[i]! * 1e-9;
  const decoder = best(() => {
    const d = new GemrocDecoder(map);
    let n = 0;
    let probe = 0;
    for (const p of packets) {
      const b = d.decode(p)!;
      for (let i = 0; i < b.n; i++) probe += b.plane[i]! + b.strip[i]! + b.adc[i]! + b.t[i]! * 1e-9;
      n += b.n;
    }
    if (d.counters.boardRestarts !== 0 || d.counters.framesLost !== 0) throw new Error('decode bench: restarts or losses');
    return { n, probe };
  });
  // Reference 1: the bytes alone. One pair of arrays per packet, like the decoder's batch, but no channel map,
  // unwrap or counters (the raw fields: board as plane, channel + 32 * asic as strip, adc, fpga/asic time).
  const plain = best(() => {
    let n = 0;
    let probe = 0;
    for (const p of packets) {
      const dv = new DataView(p.buffer, p.byteOffset, p.length);
      const k = dv.getUint16(GEMROC_TRAILER_AT, true) >>> 3;
      const board = dv.getUint32(8, true) & 0xf;
      const strip = new Uint16Array(k);
      const adc = new Uint16Array(k);
      const t = new Float64Array(k);
      for (let i = 0; i < k; i++) {
        const lo = dv.getUint32(GEMROC_HITS_AT + 8 * i, true);
        const hi = dv.getUint32(GEMROC_HITS_AT + 8 * i + 4, true);
        strip[i] = ((lo >>> 2) & 0x3) * 32 + ((lo >>> 4) & 0x1f);
        adc[i] = hi >>> 20;
        t[i] = ((hi & 0xfffff) * 2048 + (lo >>> 21)) * 16384 + ((lo >>> 9) & 0xfff) * 4;
      }
      for (let i = 0; i < k; i++) probe += board + strip[i]! + adc[i]! + t[i]! * 1e-9;
      n += k;
    }
    return { n, probe };
  });
  // Reference 2: the gemx decoder on the same hits (HITS frames, CRC-checked).
  const gemx = best(() => {
    const d = new GemxDecoder();
    let n = 0;
    let probe = 0;
    for (let p = 0; p < frames.length; p += 1 << 20) {
      for (const f of d.push(frames.subarray(p, p + (1 << 20)))) {
        const b = f.item as HitBatch;
        for (let i = 0; i < b.n; i++) probe += b.plane[i]! + b.strip[i]! + b.adc[i]! + b.t[i]! * 1e-9;
        n += b.n;
      }
    }
    return { n, probe };
  });
  const same = (p: number) => (Math.abs(p - want) < 1e-9 * Math.abs(want) ? 'same values' : `VALUES DIFFER (${p} vs ${want})`);
  const line = (label: string, r: { s: number; probe: number }, bytes: number) =>
    `  ${label.padEnd(34)} ${(HITS / r.s / 1e6).toFixed(1)} M hits/s (${(bytes / r.s / 1e6).toFixed(0)} MB/s)   ${same(r.probe)}`;
  console.log(`\ngemroc-udp decode, ${(HITS / 1e6).toFixed(0)} M hits on 2 boards in ${packets.length} packets of ${GEMROC_PACKET_BYTES} bytes (${(packetBytes / 1e6).toFixed(1)} MB), best of ${REPS} (values summed in every loop alike)`);
  console.log(line('GemrocDecoder.decode', decoder, packetBytes));
  console.log(line('plain loop over the same bytes', plain, packetBytes) + `   decoder/plain ${(plain.s / decoder.s).toFixed(2)}`);
  console.log(line('gemx HITS decode, same hits', gemx, frames.length) + `   gemroc/gemx ${(gemx.s / decoder.s).toFixed(2)} (${(frames.length / 1e6).toFixed(1)} MB)`);
}

export default async function (): Promise<void> {
  const stream = makeStream();
  const bytesPerEvent = stream.length / EVENTS;
  const mbps = (rate: number) => ((rate * bytesPerEvent) / 1e6).toFixed(0);
  console.log(`gemx EVENTS decode, ${(EVENTS / 1e6).toFixed(0)} M events in frames of ${PER_FRAME} (${(stream.length / 1e6).toFixed(1)} MB), best of ${REPS}, CRC ${crc32IsNative ? 'zlib.crc32 (native)' : 'slice-by-8 JS'}`);
  const c = runC(stream);
  for (const [label, chunk] of [['js, 64 KiB chunks', 64 << 10], ['js, 1 MiB chunks', 1 << 20]] as const) {
    const j = timeJs(stream, chunk);
    let ref = '';
    if (typeof c === 'string') ref = c;
    else {
      const z = c.get('zlib')!;
      const same = Math.abs(z.probe - j.probe) < 1e-6 * Math.abs(z.probe) ? 'same values' : `VALUES DIFFER (js ${j.probe}, c ${z.probe})`;
      ref = `C -O2 zlib crc ${(z.rate / 1e6).toFixed(1)} M events/s (${mbps(z.rate)} MB/s)   js/C ${(j.rate / z.rate).toFixed(2)}   (${same})`;
    }
    console.log(`  ${label.padEnd(18)} ${(j.rate / 1e6).toFixed(1)} M events/s (${mbps(j.rate)} MB/s)   ${ref}`);
  }
  if (typeof c !== 'string') {
    const s8 = c.get('slice8')!;
    console.log(`  C -O2 slice-by-8 crc   ${(s8.rate / 1e6).toFixed(1)} M events/s (${mbps(s8.rate)} MB/s)`);
  }
  gemrocBench();
}
