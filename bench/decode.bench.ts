// gemx decode throughput: GemxDecoder (sync + header CRC + frame CRC-32 + unpack into EventBatch arrays)
// in events/s and MB/s on one core, next to a C decoder (gcc -O2, built into bench/.build/ at bench time)
// doing the same work on the same bytes: once with zlib's crc32 (what node's zlib.crc32 wraps) and once
// with a slice-by-8 table CRC.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allocEventBatch, type EventBatch } from '../drivers/batches.js';
import { crc32IsNative } from '../drivers/codecs/crc32.js';
import { GemxDecoder } from '../drivers/codecs/gemx-decode.js';
import { encodeEventsFrame } from '../drivers/codecs/gemx-encode.js';

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
}
