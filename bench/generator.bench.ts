// Event generator: events/s on one core for EventBatch generation (phantom-painting, 100x100, 4096 ADC
// channels, Poisson arrivals), next to two references measured in the same run:
//  - the same packed two-stage alias sampling (source = pixel x component, then channel) with xoshiro128**
//    uniforms, in C (gcc -O2, compiled into bench/.build/ at bench time) on the same tables: what the JS
//    loop could reach (the C loop takes its exponential from libm log());
//  - a naive JS generator drawing pixel, component and channel from CDFs by search (O(log n) per draw).
// Rates are in process CPU time (best of REPS, JS and C rounds alternating): the machine is shared.
//
// Hit generator: strip hits (HitGenerator.generate, default readout: 128 strips per plane, 0.15-0.7 strip
// clouds, 20 Hz/strip noise) of phantom-painting at 1 M events/s in 10 ms ticks, as the paced hits-level
// source calls it, next to the pre-optimisation generator (ReferenceHitGenerator, hits-reference.ts; same
// seed, bit-identical output) measured in alternating rounds, and the event generation alone.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allocEventBatch } from '../drivers/batches.js';
import { createRng } from '../physics/random.js';
import { EventGenerator } from '../simulator/generators/events.js';
import { HitGenerator } from '../simulator/generators/hits.js';
import { ReferenceHitGenerator } from '../simulator/generators/hits-reference.js';
import { brightness } from '../simulator/phantoms/index.js';

const EVENTS = 4_000_000, BATCH = 65_536, REPS = 3, ROUNDS = 2;
const build = join(dirname(fileURLToPath(import.meta.url)), '.build');

const C_SOURCE = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <math.h>
#include <time.h>
static double now(void) { struct timespec ts; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); return ts.tv_sec + ts.tv_nsec * 1e-9; }
static uint32_t s0, s1, s2, s3;
static inline uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
static inline double next(void) {
  uint32_t r = rotl(s1 * 5, 7) * 9, t = s1 << 9;
  s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11);
  return r * 2.3283064365386963e-10;
}
static void *readn(FILE *f, size_t n) { void *p = malloc(n); if (fread(p, 1, n, f) != n) exit(2); return p; }
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "rb"); int N = atoi(argv[2]), B = atoi(argv[3]), R = atoi(argv[4]);
  uint32_t dims[4]; if (fread(dims, 4, 4, f) != 4) return 2;
  uint32_t S = dims[0], K = dims[1], C = dims[2], W = dims[3];
  double *src = readn(f, 8 * (size_t)S), *chan = readn(f, 8 * (size_t)K * C);
  fclose(f);
  uint16_t *xs = malloc(2 * B), *ys = malloc(2 * B), *adcs = malloc(2 * B); double *ts = malloc(8 * B);
  double best = 1e99, mean = 1000.0; unsigned long long check = 0;
  for (int r = 0; r < R; r++) {
    s0 = 0x9e3779b9; s1 = 0x243f6a88; s2 = 0xb7e15162; s3 = 0x12345678;
    double t = 0, t0 = now(); check = 0;
    for (int done = 0; done < N; done += B) {
      int n = N - done < B ? N - done : B;
      for (int i = 0; i < n; i++) {
        double x = (next() + next() * 2.3283064365386963e-10) * S; uint32_t j = (uint32_t)x;
        double v = src[j]; uint32_t a = (uint32_t)v;
        uint32_t source = x - j < v - a ? j : a;
        uint32_t pix = source / K, comp = source - pix * K;
        x = next() * C; j = (uint32_t)x; v = chan[(size_t)comp * C + j]; a = (uint32_t)v;
        uint32_t y = pix / W;
        xs[i] = pix - y * W; ys[i] = y; adcs[i] = x - j < v - a ? j : a; ts[i] = t;
        t -= log(1 - next()) * mean;
      }
      check += adcs[n / 2] + xs[n - 1];
    }
    double dt = now() - t0; if (dt < best) best = dt;
  }
  printf("%.0f %llu\n", N / best, check);
  return 0;
}
`;

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function bestRate(run: () => void): number {
  let best = Infinity;
  for (let r = 0; r < REPS; r++) {
    const t0 = cpuSeconds();
    run();
    best = Math.min(best, cpuSeconds() - t0);
  }
  return EVENTS / best;
}

/** Naive reference: CDFs over pixels (by brightness), over each pixel's components and over each component's
 *  channels, with a binary search per draw (a linear scan for the few components). */
function naiveGenerator(g: EventGenerator): () => void {
  const P = g.width * g.height, K = g.components.length, C = g.channels;
  const pixelCdf = new Float64Array(P);
  const br = brightness(g.raster);
  for (let i = 0, s = 0; i < P; i++) pixelCdf[i] = s += br[i]!;
  const compCdf = new Float64Array(P * K);
  for (let p = 0; p < P; p++) for (let k = 0, s = 0; k < K; k++) compCdf[p * K + k] = s += g.pixelShares[p * K + k]!;
  const chanCdf = new Float64Array(K * C);
  g.components.forEach((r, k) => {
    for (let c = 0, s = 0; c < C; c++) chanCdf[k * C + c] = s += r[c]!;
  });
  const search = (cdf: Float64Array, lo: number, n: number, u: number): number => {
    let a = 0, b = n - 1;
    u *= cdf[lo + n - 1]!;
    while (a < b) {
      const m = (a + b) >> 1;
      if (cdf[lo + m]! < u) a = m + 1;
      else b = m;
    }
    return a;
  };
  const b = allocEventBatch(BATCH);
  return () => {
    const rng = createRng(1);
    let t = 0;
    for (let done = 0; done < EVENTS; done += BATCH) {
      const n = Math.min(BATCH, EVENTS - done);
      for (let i = 0; i < n; i++) {
        const pix = search(pixelCdf, 0, P, rng.next());
        const uc = rng.next() * compCdf[pix * K + K - 1]!;
        let comp = 0;
        while (comp < K - 1 && compCdf[pix * K + comp]! < uc) comp++;
        const adc = search(chanCdf, comp * C, C, rng.next());
        const y = (pix / g.width) | 0;
        b.x[i] = pix - y * g.width;
        b.y[i] = y;
        b.adc[i] = adc;
        b.t[i] = t;
        t -= Math.log(1 - rng.next()) * 1000;
      }
      b.n = n;
    }
  };
}

function runC(g: EventGenerator): number | string {
  try {
    mkdirSync(build, { recursive: true });
    writeFileSync(join(build, 'generator-ref.c'), C_SOURCE);
    execFileSync('gcc', ['-O2', '-o', join(build, 'generator-ref'), join(build, 'generator-ref.c'), '-lm']);
  } catch (e) {
    return `C reference unavailable (gcc: ${e instanceof Error ? e.message.split('\n')[0] : e})`;
  }
  const t = g.aliasTables;
  const data = join(build, 'generator-tables.bin');
  const buf = (a: Float64Array | Uint32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  writeFileSync(data, Buffer.concat([buf(new Uint32Array([t.source.length, g.components.length, g.channels, g.width])), buf(t.source), buf(t.channel)]));
  const out = execFileSync(join(build, 'generator-ref'), [data, EVENTS, BATCH, REPS].map(String), { encoding: 'utf8' });
  return Number(out.trim().split(' ')[0]);
}

export default async function (): Promise<void> {
  const t0 = performance.now();
  const make = (gainNonUniformity: number) => new EventGenerator({ phantom: 'phantom-painting', ratePerSecond: 1e6, seed: 1, gainNonUniformity });
  const g = make(0);
  const setupMs = performance.now() - t0;
  const gGain = make(0.1);
  const out = allocEventBatch(BATCH);
  const jsRun = (gen: EventGenerator) => () => {
    for (let done = 0; done < EVENTS; done += BATCH) gen.next(Math.min(BATCH, EVENTS - done), out);
  };
  let js = 0, jsGain = 0, naive = 0;
  let c: number | string = 0;
  const naiveRun = naiveGenerator(g);
  for (let round = 0; round < ROUNDS; round++) {
    js = Math.max(js, bestRate(jsRun(g)));
    jsGain = Math.max(jsGain, bestRate(jsRun(gGain)));
    naive = Math.max(naive, bestRate(naiveRun));
    const cr = runC(g);
    c = typeof cr === 'string' ? cr : Math.max(typeof c === 'number' ? c : 0, cr);
  }
  const m = (r: number) => `${(r / 1e6).toFixed(1)} M events/s`;
  console.log(`phantom-painting 100x100, ${g.components.length} components (source table ${(g.aliasTables.source.byteLength / 1e6).toFixed(2)} MB), ${g.channels} ADC channels; ${EVENTS / 1e6} M events in batches of ${BATCH}, CPU time, best of ${REPS}x${ROUNDS}`);
  console.log(`  EventGenerator (alias, JS)           ${m(js)}`);
  console.log(`  EventGenerator with 10% gain map     ${m(jsGain)}`);
  console.log(`  reference: same alias loop in C -O2  ${typeof c === 'number' ? `${m(c)}  (JS at ${((100 * js) / c).toFixed(0)}% of C)` : c}`);
  console.log(`  reference: naive CDF binary search   ${m(naive)}  (alias ${(js / naive).toFixed(1)}x faster)`);
  console.log(`  setup (render phantom, responses, tables): ${setupMs.toFixed(0)} ms`);
  hitsBench();
}

const HIT_TICK_NS = 10e6, HIT_TICKS = 25, HIT_RATE = 1e6, HIT_REPS = 3, HIT_ROUNDS = 3;

export function hitsBench(): void {
  const opts = { phantom: 'phantom-painting', ratePerSecond: HIT_RATE, seed: 1 };
  type Gen = { generate(ns: number): { hits: { n: number }; truth: { n: number } } };
  // One generator per kind, as a stream: each rep continues where the last one stopped.
  const kinds: Array<[string, Gen]> = [
    ['HitGenerator (fast)', new HitGenerator(opts)],
    ['reference (pre-optimisation)', new ReferenceHitGenerator(opts)],
    ['events alone (EventGenerator)', { generate: (ns) => { const b = ev.generate(ns); return { hits: { n: 0 }, truth: b }; } }],
  ];
  const ev = new EventGenerator(opts);
  const best = kinds.map(() => ({ s: Infinity, hits: 0, events: 0 }));
  for (let round = 0; round < HIT_ROUNDS; round++) {
    kinds.forEach(([, g], k) => {
      for (let r = 0; r < HIT_REPS; r++) {
        let hits = 0, events = 0;
        const t0 = cpuSeconds();
        for (let i = 0; i < HIT_TICKS; i++) {
          const b = g.generate(HIT_TICK_NS);
          hits += b.hits.n;
          events += b.truth.n;
        }
        const s = cpuSeconds() - t0;
        if (s < best[k]!.s) best[k] = { s, hits, events };
      }
    });
  }
  const secondsOfStream = (HIT_TICK_NS * HIT_TICKS) / 1e9;
  console.log(`\nhit generator: phantom-painting at ${HIT_RATE / 1e6} M events/s, default readout, ${HIT_TICKS} ticks of ${HIT_TICK_NS / 1e6} ms (${secondsOfStream} s of stream) per rep, CPU time, best of ${HIT_REPS}x${HIT_ROUNDS}`);
  kinds.forEach(([name], k) => {
    const b = best[k]!;
    const hitsPart = b.hits > 0 ? `${(b.hits / b.s / 1e6).toFixed(2).padStart(6)} M hits/s, ` : '';
    console.log(`  ${name.padEnd(30)} ${hitsPart}${(b.events / b.s / 1e6).toFixed(2)} M events/s (${((b.s / b.events) * 1e6).toFixed(2)} µs CPU/event, ${(b.s / secondsOfStream).toFixed(2)} s CPU per s of stream)`);
  });
  console.log(`  fast vs reference: ${(best[1]!.s / best[1]!.events / (best[0]!.s / best[0]!.events)).toFixed(2)}x per event`);
}
