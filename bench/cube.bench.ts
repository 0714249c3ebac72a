// events -> cube: Cube.addEvents (calibration + histogramming) in events/s on one core, next to the same loop
// in C (gcc -O2, compiled into bench/.build/ at bench time) on the same events.
// Two cases: uniform gain (channel from the adc table) and a per-pixel gain map (divide + polynomial).
// Both sides are timed in process CPU time (best of REPS), alternating JS and C rounds, because the bench
// machine is shared: wall time there mostly measures the other jobs.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allocEventBatch, type EventBatch } from '../drivers/batches.js';
import { Calibration } from '../pipelines/calibration/calibration.js';
import { Cube } from '../pipelines/cube/cube.js';

const W = 100, H = 100, C = 256, ADC_MAX = 4096;
const EVENTS = 4_000_000, BATCH = 8192, REPS = 2, ROUNDS = 6;
const build = join(dirname(fileURLToPath(import.meta.url)), '.build');

const C_SOURCE = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <time.h>
static double now(void) { struct timespec ts; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); return ts.tv_sec + ts.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
  int W = atoi(argv[2]), H = atoi(argv[3]), C = atoi(argv[4]), N = atoi(argv[5]), B = atoi(argv[6]), R = atoi(argv[7]);
  double c0 = atof(argv[8]), c1 = atof(argv[9]), c2 = atof(argv[10]);
  FILE *f = fopen(argv[1], "rb");
  uint16_t *x = malloc(N * 2), *y = malloc(N * 2), *adc = malloc(N * 2);
  double *gain = malloc(sizeof(double) * W * H);
  if (fread(x, 2, N, f) != (size_t)N || fread(y, 2, N, f) != (size_t)N || fread(adc, 2, N, f) != (size_t)N) return 1;
  float g32; for (int i = 0; i < W * H; i++) { if (fread(&g32, 4, 1, f) != 1) return 1; gain[i] = g32; }
  fclose(f);
  int16_t lut[65536];
  for (int a = 0; a < 65536; a++) { double v = c0 + a * (c1 + c2 * a); lut[a] = (v >= 0 && v < C) ? (int16_t)floor(v) : -1; }
  uint32_t *counts = calloc((size_t)W * H * C, 4), *totals = calloc(W * H, 4);
  double *sum = calloc(C, 8);
  for (int mode = 0; mode < 2; mode++) {
    double best = 1e99; long long dropped = 0;
    for (int r = 0; r < R; r++) {
      memset(counts, 0, (size_t)W * H * C * 4); memset(totals, 0, W * H * 4); memset(sum, 0, C * 8);
      double t0 = now(); dropped = 0;
      for (int b0 = 0; b0 < N; b0 += B) {
        int b1 = b0 + B < N ? b0 + B : N;
        for (int i = b0; i < b1; i++) {
          unsigned xi = x[i], yi = y[i];
          if (xi >= (unsigned)W || yi >= (unsigned)H) { dropped++; continue; }
          unsigned p = yi * W + xi; int ch;
          if (mode == 0) { ch = lut[adc[i]]; if (ch < 0) { dropped++; continue; } }
          else { double a = adc[i] / gain[p]; double v = c0 + a * (c1 + c2 * a); if (!(v >= 0 && v < C)) { dropped++; continue; } ch = (int)v; }
          counts[(size_t)p * C + ch]++; totals[p]++; sum[ch]++;
        }
      }
      double dt = now() - t0; if (dt < best) best = dt;
    }
    printf("%s %.0f %lld %u\n", mode == 0 ? "lut" : "gainmap", N / best, dropped, counts[(size_t)(37 * W + 42) * C + 100]);
  }
  return 0;
}
`;

function makeEvents(): { batches: EventBatch[]; gain: Float32Array } {
  // xorshift32: the same deterministic events for JS and C; ~2% off the energy range, none off the grid.
  let s = 12345;
  const next = () => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), s >>> 0);
  const batches: EventBatch[] = [];
  for (let done = 0; done < EVENTS; done += BATCH) {
    const n = Math.min(BATCH, EVENTS - done);
    const b = allocEventBatch(n);
    for (let i = 0; i < n; i++) {
      b.x[i] = next() % W;
      b.y[i] = next() % H;
      b.adc[i] = next() % ADC_MAX;
    }
    b.n = n;
    batches.push(b);
  }
  const gain = new Float32Array(W * H);
  for (let i = 0; i < gain.length; i++) gain[i] = 0.9 + 0.2 * ((next() % 1000) / 1000);
  return { batches, gain };
}

/** CPU time of this process (s): on a shared, loaded machine wall time mostly measures the other jobs. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function timeJs(cube: Cube, batches: EventBatch[], cal: Calibration): number {
  let best = Infinity;
  for (let r = 0; r < REPS; r++) {
    cube.reset();
    const t0 = cpuSeconds();
    for (const b of batches) cube.addEvents(b, cal);
    const dt = cpuSeconds() - t0;
    best = Math.min(best, dt);
  }
  return EVENTS / best;
}

function runC(batches: EventBatch[], gain: Float32Array, cal: Calibration): Map<string, { rate: number; probe: number }> | string {
  try {
    mkdirSync(build, { recursive: true });
    writeFileSync(join(build, 'cube-ref.c'), C_SOURCE);
    execFileSync('gcc', ['-O2', '-o', join(build, 'cube-ref'), join(build, 'cube-ref.c'), '-lm']);
  } catch (e) {
    return `C reference unavailable (gcc: ${e instanceof Error ? e.message.split('\n')[0] : e})`;
  }
  const data = join(build, 'cube-events.bin');
  const cat = (k: 'x' | 'y' | 'adc') => Buffer.concat(batches.map((b) => Buffer.from(b[k].buffer, b[k].byteOffset, b.n * 2)));
  writeFileSync(data, Buffer.concat([cat('x'), cat('y'), cat('adc'), Buffer.from(gain.buffer)]));
  const out = execFileSync(join(build, 'cube-ref'), [data, W, H, C, EVENTS, BATCH, REPS, cal.c0, cal.c1, cal.c2].map(String), { encoding: 'utf8' });
  const res = new Map<string, { rate: number; probe: number }>();
  for (const line of out.trim().split('\n')) {
    const [mode, rate, , probe] = line.split(' ');
    res.set(mode!, { rate: Number(rate), probe: Number(probe) });
  }
  return res;
}

export default async function (): Promise<void> {
  const { batches, gain } = makeEvents();
  const config = {
    detector: { width: W, height: H },
    calibration: { gainKeVPerAdc: 0.005, offsetKeV: 0, quadraticKeVPerAdc2: 0, gainMapFile: null },
    histogram: { channels: C, eMinKeV: 0, eMaxKeV: 20.0 },
  };
  const cube = Cube.fromConfig(config);
  const cases: Array<[string, Calibration]> = [['lut', new Calibration(config)], ['gainmap', new Calibration(config, gain)]];
  const js = new Map<string, { rate: number; probe: number }>();
  let c: ReturnType<typeof runC> = new Map();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, cal] of cases) {
      const rate = timeJs(cube, batches, cal);
      if (rate > (js.get(name)?.rate ?? 0)) js.set(name, { rate, probe: cube.counts[(37 * W + 42) * C + 100]! });
    }
    const cr = runC(batches, gain, cases[0]![1]);
    if (typeof cr === 'string') c = cr;
    else if (typeof c !== 'string') for (const [k, v] of cr) if (v.rate > (c.get(k)?.rate ?? 0)) c.set(k, v);
  }
  console.log(`events -> cube, ${W}x${H}x${C} cube, ${(EVENTS / 1e6).toFixed(0)} M events in batches of ${BATCH}, best of ${REPS * ROUNDS} (CPU time)`);
  for (const [name] of cases) {
    const j = js.get(name)!;
    if (typeof c === 'string') {
      console.log(`  ${name.padEnd(8)} js ${(j.rate / 1e6).toFixed(1)} M events/s   ${c}`);
      continue;
    }
    const r = c.get(name)!;
    const same = r.probe === j.probe ? 'same counts' : `COUNTS DIFFER (js ${j.probe}, c ${r.probe})`;
    console.log(`  ${name.padEnd(8)} js ${(j.rate / 1e6).toFixed(1)} M events/s   C -O2 ${(r.rate / 1e6).toFixed(1)} M events/s   js/C ${(j.rate / r.rate).toFixed(2)}   (${same})`);
  }
}
