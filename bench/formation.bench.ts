// hits -> events: EventFormer (gap clusterer per plane + X/Y matcher, incremental release) in hits/s on one
// core, on the stream in generation order and time-sorted (as the simulator sends it), next to the
// implementation it replaced (test/pipelines/formation/helpers/reference/, the differential test's reference:
// same events) and the same algorithm in C (gcc -O2, compiled into bench/.build/ at bench time) run over the whole
// stream at once (no batching, no release bookkeeping: an upper bound for the algorithm). Both are timed in
// process CPU time, best of several alternating rounds, because the bench machine is shared.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allocHitBatch, type HitBatch } from '../drivers/batches.js';
import { configSchema } from '../config/schema.js';
import { EventFormer } from '../pipelines/formation/event-former.js';
import { EventFormer as ReferenceFormer } from '../test/pipelines/formation/helpers/reference/event-former.js';

const PHOTONS = 400_000, RATE = 1e6, STRIPS = 128, BATCH = 4096, ROUNDS = 6;
const build = join(dirname(fileURLToPath(import.meta.url)), '.build');
const params = configSchema.parse({}).formation;
const detector = { stripsPerPlane: STRIPS, width: 100, height: 100 };

const C_SOURCE = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <math.h>
#include <time.h>
static double now(void) { struct timespec ts; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); return ts.tv_sec + ts.tv_nsec * 1e-9; }
typedef struct { double t0, t1, cen, q; int span; int used; } Cl;
static double gap, win, maxSpanNs, rmin, rmax; static int sgap, maxStrips;
static int cluster_plane(int n, double *t, uint16_t *s, uint16_t *a, Cl *out, int *idx, Cl *sub) {
  for (int i = 1; i < n; i++) { /* stable insertion sort by time (input is nearly sorted) */
    double tv = t[i]; uint16_t sv = s[i], av = a[i]; int j = i;
    while (j > 0 && t[j - 1] > tv) { t[j] = t[j - 1]; s[j] = s[j - 1]; a[j] = a[j - 1]; j--; }
    t[j] = tv; s[j] = sv; a[j] = av;
  }
  int nc = 0, i = 0;
  while (i < n) {
    int j = i + 1;
    while (j < n && t[j] - t[j - 1] <= gap) j++;
    int m = j - i;
    for (int k = 0; k < m; k++) { int h = i + k, p = k; while (p > 0 && s[idx[p - 1]] > s[h]) { idx[p] = idx[p - 1]; p--; } idx[p] = h; }
    int ns = 0, k = 0;
    while (k < m) {
      int h = idx[k], s0 = s[h], last = s0; double q = 0, qs = 0, t0 = 1e300, t1 = -1e300;
      for (;;) {
        q += a[h]; qs += (double)a[h] * s[h]; if (t[h] < t0) t0 = t[h]; if (t[h] > t1) t1 = t[h]; last = s[h];
        if (++k == m) break; h = idx[k]; if (s[h] - last > sgap) break;
      }
      Cl c = { t0, t1, q > 0 ? qs / q : (s0 + last) / 2.0, q, last - s0 + 1, 0 };
      int p = ns++; while (p > 0 && sub[p - 1].t0 > t0) { sub[p] = sub[p - 1]; p--; } sub[p] = c;
    }
    for (int c = 0; c < ns; c++) out[nc++] = sub[c];
    i = j;
  }
  return nc;
}
int main(int argc, char **argv) {
  int N = atoi(argv[2]); gap = atof(argv[3]); sgap = atoi(argv[4]); maxStrips = atoi(argv[5]); maxSpanNs = atof(argv[6]);
  win = atof(argv[7]); rmin = atof(argv[8]); rmax = atof(argv[9]); int strips = atoi(argv[10]), W = atoi(argv[11]), H = atoi(argv[12]), R = atoi(argv[13]);
  FILE *f = fopen(argv[1], "rb");
  uint8_t *plane = malloc(N); uint16_t *strip = malloc(2 * N), *adc = malloc(2 * N); double *t = malloc(8 * N);
  if (fread(plane, 1, N, f) != (size_t)N || fread(strip, 2, N, f) != (size_t)N || fread(adc, 2, N, f) != (size_t)N || fread(t, 8, N, f) != (size_t)N) return 1;
  double *pt[2] = { malloc(8 * N), malloc(8 * N) }; uint16_t *ps[2] = { malloc(2 * N), malloc(2 * N) }, *pa[2] = { malloc(2 * N), malloc(2 * N) };
  Cl *cl[2] = { malloc(sizeof(Cl) * N), malloc(sizeof(Cl) * N) }; Cl *sub = malloc(sizeof(Cl) * 4096); int *idx = malloc(sizeof(int) * N);
  uint16_t *ex = malloc(2 * N), *ey = malloc(2 * N), *ea = malloc(2 * N); double *et = malloc(8 * N);
  double best = 1e300; long events = 0;
  for (int r = 0; r < R; r++) {
    double start = now();
    int np[2] = { 0, 0 };
    for (int i = 0; i < N; i++) { int p = plane[i]; if (p > 1 || strip[i] >= strips) continue; int k = np[p]++; pt[p][k] = t[i]; ps[p][k] = strip[i]; pa[p][k] = adc[i]; }
    int nc[2]; for (int p = 0; p < 2; p++) nc[p] = cluster_plane(np[p], pt[p], ps[p], pa[p], cl[p], idx, sub);
    int hd[2] = { 0, 0 }; events = 0;
    for (;;) {
      for (int p = 0; p < 2; p++) while (hd[p] < nc[p] && cl[p][hd[p]].used) hd[p]++;
      int hx = hd[0] < nc[0], hy = hd[1] < nc[1]; if (!hx && !hy) break;
      int me = (hx && (!hy || cl[0][hd[0]].t0 <= cl[1][hd[1]].t0)) ? 0 : 1, ot = 1 - me;
      Cl *c = &cl[me][hd[me]]; double tc = c->t0; int bi = -1; double bc = 1e300;
      for (int j = hd[ot]; j < nc[ot]; j++) {
        Cl *o = &cl[ot][j]; if (o->t0 - tc > win) break; if (o->used || tc - o->t0 > win) continue;
        double cc = (c->q > 0 && o->q > 0 ? fabs(log(c->q / o->q)) : 1e9) + fabs(o->t0 - tc) / win;
        if (cc < bc) { bc = cc; bi = j; }
      }
      c->used = 1; if (bi < 0) continue;
      Cl *o = &cl[ot][bi]; o->used = 1;
      Cl *X = me == 0 ? c : o, *Y = me == 0 ? o : c;
      if (X->span > maxStrips || Y->span > maxStrips) continue;
      if (X->t1 - X->t0 > maxSpanNs || Y->t1 - Y->t0 > maxSpanNs) continue;
      double ratio = X->q / Y->q; if (!(ratio >= rmin && ratio <= rmax)) continue;
      int x = (int)floor((X->cen + 0.5) * W / strips), y = (int)floor((Y->cen + 0.5) * H / strips);
      ex[events] = x < 0 ? 0 : x >= W ? W - 1 : x; ey[events] = y < 0 ? 0 : y >= H ? H - 1 : y;
      double am = X->q + Y->q; ea[events] = am > 65535 ? 65535 : (uint16_t)am; et[events] = X->t0 < Y->t0 ? X->t0 : Y->t0; events++;
    }
    double dt = now() - start; if (dt < best) best = dt;
  }
  long sx = 0; for (long i = 0; i < events; i++) sx += ex[i] + 1000L * ey[i] + ea[i];
  printf("%.0f %ld %ld\n", N / best, events, sx);
  return 0;
}
`;

/**
 * Photons -> strip hits (typed arrays, deterministic): Gaussian charge cloud over ~3 strips per plane. In
 * generation order (photon by photon, plane by plane, a cluster's hits a few ns out of order), or, with
 * `timeSorted`, stably sorted by time as the simulator's hit generator sends them (both planes interleaved).
 */
function makeHits(timeSorted = false): HitBatch[] {
  let s = 987654321;
  const rnd = () => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), (s >>> 0) / 4294967296);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const all = allocHitBatch(PHOTONS * 12);
  let n = 0;
  let t = 1000;
  for (let k = 0; k < PHOTONS; k++) {
    t += (-Math.log(1 - rnd()) / RATE) * 1e9;
    const q = 300 + 1200 * rnd();
    const d = 0.05 * gauss();
    for (let p = 0; p < 2; p++) {
      const c = 4 + rnd() * (STRIPS - 8);
      const qp = q * (p === 0 ? 1 + d : 1 - d);
      for (let st = Math.floor(c) - 2; st <= Math.floor(c) + 2; st++) {
        const frac = Math.exp(-0.5 * ((st + 0.5 - c) / 0.7) ** 2) * 0.57;
        const a = Math.round(qp * frac + 3 * gauss());
        if (a < 8) continue;
        all.plane[n] = p;
        all.strip[n] = st;
        all.adc[n] = Math.min(a, 4095);
        all.t[n] = t + Math.abs(8 * gauss());
        n++;
      }
    }
  }
  all.n = n;
  if (timeSorted) {
    const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => all.t[a]! - all.t[b]! || a - b);
    const c = { plane: all.plane.slice(0, n), strip: all.strip.slice(0, n), adc: all.adc.slice(0, n), t: all.t.slice(0, n) };
    idx.forEach((j, i) => {
      all.plane[i] = c.plane[j]!;
      all.strip[i] = c.strip[j]!;
      all.adc[i] = c.adc[j]!;
      all.t[i] = c.t[j]!;
    });
  }
  const batches: HitBatch[] = [];
  for (let i = 0; i < n; i += BATCH) {
    const m = Math.min(BATCH, n - i);
    batches.push({ kind: 'hits', n: m, plane: all.plane.slice(i, i + m), strip: all.strip.slice(i, i + m), adc: all.adc.slice(i, i + m), t: all.t.slice(i, i + m) });
  }
  return batches;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function timeJs(batches: HitBatch[], hits: number, Former: typeof EventFormer | typeof ReferenceFormer): { rate: number; events: number; checksum: number } {
  const former = new Former(params, detector);
  let events = 0;
  let checksum = 0;
  const t0 = cpuSeconds();
  for (const b of batches) {
    const e = former.push(b);
    events += e.n;
    for (let i = 0; i < e.n; i++) checksum += e.x[i]! + 1000 * e.y[i]! + e.adc[i]!;
  }
  const e = former.flush();
  events += e.n;
  for (let i = 0; i < e.n; i++) checksum += e.x[i]! + 1000 * e.y[i]! + e.adc[i]!;
  return { rate: hits / (cpuSeconds() - t0), events, checksum };
}

function runC(batches: HitBatch[], hits: number): { rate: number; events: number; checksum: number } | string {
  try {
    mkdirSync(build, { recursive: true });
    writeFileSync(join(build, 'formation-ref.c'), C_SOURCE);
    execFileSync('gcc', ['-O2', '-o', join(build, 'formation-ref'), join(build, 'formation-ref.c'), '-lm']);
  } catch (e) {
    return `C reference unavailable (gcc: ${e instanceof Error ? e.message.split('\n')[0] : e})`;
  }
  const data = join(build, 'formation-hits.bin');
  const cat = (k: 'plane' | 'strip' | 'adc' | 't') => Buffer.concat(batches.map((b) => Buffer.from(b[k].buffer, b[k].byteOffset, b[k].byteLength)));
  writeFileSync(data, Buffer.concat([cat('plane'), cat('strip'), cat('adc'), cat('t')]));
  const p = params;
  const args = [data, hits, p.timeGapNs, p.stripGap, p.maxClusterStrips, p.maxClusterSpanNs, p.matchWindowNs, p.chargeRatioMin, p.chargeRatioMax, STRIPS, detector.width, detector.height, 3];
  const [rate, events, checksum] = execFileSync(join(build, 'formation-ref'), args.map(String), { encoding: 'utf8' }).trim().split(' ').map(Number);
  return { rate: rate!, events: events!, checksum: checksum! };
}

export default async function (): Promise<void> {
  const batches = makeHits();
  const sorted = makeHits(true);
  const hits = batches.reduce((a, b) => a + b.n, 0);
  const zero = () => ({ rate: 0, events: 0, checksum: 0 });
  let js = zero();
  let ref = zero();
  let jsSorted = zero();
  let refSorted = zero();
  let c: ReturnType<typeof runC> = zero();
  // Alternating rounds (the machine is shared), best of each.
  for (let r = 0; r < ROUNDS; r++) {
    const j = timeJs(batches, hits, EventFormer);
    if (j.rate > js.rate) js = j;
    const o = timeJs(batches, hits, ReferenceFormer);
    if (o.rate > ref.rate) ref = o;
    const js2 = timeJs(sorted, hits, EventFormer);
    if (js2.rate > jsSorted.rate) jsSorted = js2;
    const o2 = timeJs(sorted, hits, ReferenceFormer);
    if (o2.rate > refSorted.rate) refSorted = o2;
    const cr = runC(batches, hits);
    if (typeof cr === 'string' || typeof c === 'string') c = cr;
    else if (cr.rate > c.rate) c = cr;
  }
  console.log(`hits -> events, ${(hits / 1e6).toFixed(2)} M hits from ${(PHOTONS / 1e3).toFixed(0)} k photons at ${(RATE / 1e6).toFixed(1)} M photons/s, batches of ${BATCH}, best of ${ROUNDS} (CPU time)`);
  const vsRef = (name: string, a: typeof js, b: typeof js) => {
    const same = a.events === b.events && a.checksum === b.checksum ? 'same events' : `EVENTS DIFFER (previous ${b.events})`;
    console.log(`  ${name}: js EventFormer ${(a.rate / 1e6).toFixed(1)} M hits/s (${(1e9 / a.rate).toFixed(1)} ns/hit)   previous implementation ${(b.rate / 1e6).toFixed(1)} M hits/s (${(1e9 / b.rate).toFixed(1)} ns/hit)   ${(a.rate / b.rate).toFixed(2)}x, ${a.events} events, ${same}`);
  };
  vsRef('generation order', js, ref);
  vsRef('time-sorted (as the simulator sends)', jsSorted, refSorted);
  if (typeof c === 'string') {
    console.log(`  ${c}`);
    return;
  }
  const same = js.events === c.events && js.checksum === c.checksum ? 'same events' : `EVENTS DIFFER (js ${js.events}, C ${c.events})`;
  console.log(`  generation order: js EventFormer ${(js.rate / 1e6).toFixed(1)} M hits/s   C -O2 same algorithm, whole stream ${(c.rate / 1e6).toFixed(1)} M hits/s   js/C ${(js.rate / c.rate).toFixed(2)}   (${js.events} events, ${same})`);
}
