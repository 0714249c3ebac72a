// The whole daemon taking a hits-level stream (gemx HITS frames: decode -> event formation -> cube), next to
// the same daemon on an events-level stream at the same rate (decode -> cube) as the reference. The simulator
// (phantom-painting, 100 x 100, 128 strips per plane) runs in a child process, so the daemon's process CPU
// time is the daemon's own; it sends over TCP from the moment the daemon connects. The daemon runs as in
// production (recording, checkpoints, roi maps in their worker, live publishing on its embedded broker).
// Per level and offered rate (events/s), over a SCAN_S scan:
//   - offered: the simulator's achieved rate (events/s; hits/s for the hits level) and whether it kept up
//     (capped ticks: it could not generate fast enough, its own limit, not the daemon's);
//   - reached: events into the cube per second (cube eventsIn; for hits: formed events, so events/hits
//     formation efficiency is printed too);
//   - lag from arrival to cube: each batch the cube takes is dated by its last event's device time, placed on
//     the wall clock by the simulator's clock start; p50 / p99 / max over batches (a daemon that keeps up
//     stays near the framing tick (5 ms) plus formation's release window; one that falls behind grows
//     linearly over the scan);
//   - the main thread's event-loop delay p99 / max and utilisation;
//   - the daemon's CPU time (process, all threads: main, roi worker, broker) per event reaching the cube.
// npm run bench -- ingest-hits   (or: node --import tsx bench/ingest-hits.bench.ts [RATE...])
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { configSchema } from '../config/index.js';
import { Cube } from '../pipelines/cube/cube.js';
import type { EventBatch, HitBatch } from '../drivers/batches.js';

const W = 100, H = 100;
const SCAN_S = Number(process.env.GEMXRF_BENCH_SCAN_S ?? 6);
const RATES = [100_000, 300_000, 1_000_000];
const self = fileURLToPath(import.meta.url);
const f1 = (x: number) => x.toFixed(1);
const epochMs = () => performance.timeOrigin + performance.now();

interface ChildStats { records: number; elapsedSec: number; t0EpochMs: number; cappedTicks: number; maxTickLagMs: number; bytesSent: number }

// ---- child: the simulator on its own process ----------------------------------------------------------
// The hit generator costs ~3 us of CPU per event (several strip hits each, with charge sharing), so on a small
// machine it cannot make 1 M events/s in real time, and it would compete with the daemon for the cores. The
// child therefore generates SPAN_S seconds of the stream first and replays them in a loop (times shifted by the
// span each lap) through the emulator's framing and pacing: the daemon sees an ordinary paced stream.
const SPAN_S = Number(process.env.GEMXRF_BENCH_SPAN_S ?? 1);
type Cols = { n: number; a: Uint16Array; b: Uint16Array; c: Uint16Array | Uint8Array; t: Float64Array };

async function pregenerate(level: 'events' | 'hits', rate: number): Promise<Cols> {
  const { EventGenerator } = await import('../simulator/generators/events.js');
  const { HitGenerator } = await import('../simulator/generators/hits.js');
  const gen = { phantom: 'phantom-painting', ratePerSecond: rate, seed: 1, width: W, height: H };
  const chunks: Cols[] = [];
  const ev = level === 'events' ? new EventGenerator(gen) : null;
  const hg = level === 'hits' ? new HitGenerator({ ...gen, readout: { stripsPerPlane: 128 } }) : null;
  for (let k = 0; k < SPAN_S * 200; k++) {
    if (ev) {
      const b = ev.generate(5e6);
      chunks.push({ n: b.n, a: b.x.slice(0, b.n), b: b.y.slice(0, b.n), c: b.adc.slice(0, b.n), t: b.t.slice(0, b.n) });
    } else {
      const b = hg!.generate(5e6).hits;
      chunks.push({ n: b.n, a: b.strip.slice(0, b.n), b: b.adc.slice(0, b.n), c: b.plane.slice(0, b.n), t: b.t.slice(0, b.n) });
    }
  }
  const n = chunks.reduce((s, c) => s + c.n, 0);
  const all: Cols = { n, a: new Uint16Array(n), b: new Uint16Array(n), c: level === 'events' ? new Uint16Array(n) : new Uint8Array(n), t: new Float64Array(n) };
  let o = 0;
  for (const c of chunks) {
    all.a.set(c.a, o); all.b.set(c.b, o); all.c.set(c.c, o); all.t.set(c.t, o);
    o += c.n;
  }
  return all;
}

function replaySource(level: 'events' | 'hits', all: Cols) {
  const spanNs = SPAN_S * 1e9;
  let cursor = 0, idx = 0, offset = 0, cap = 1 << 14;
  const alloc = () => ({ n: 0, a: new Uint16Array(cap), b: new Uint16Array(cap), c: level === 'events' ? new Uint16Array(cap) : new Uint8Array(cap), t: new Float64Array(cap) });
  let out = alloc();
  const view = (): EventBatch | HitBatch => (level === 'events'
    ? { kind: 'events', n: out.n, x: out.a, y: out.b, adc: out.c as Uint16Array, t: out.t }
    : { kind: 'hits', n: out.n, strip: out.a, adc: out.b, plane: out.c as Uint8Array, t: out.t });
  return {
    level,
    generate(durationNs: number): EventBatch | HitBatch {
      const end = (cursor += durationNs);
      out.n = 0;
      for (;;) {
        let j = idx;
        while (j < all.n && all.t[j]! + offset < end) j++;
        const m = j - idx;
        if (out.n + m > out.t.length) {
          const old = out;
          while (cap < out.n + m) cap *= 2;
          out = alloc();
          out.a.set(old.a.subarray(0, old.n)); out.b.set(old.b.subarray(0, old.n)); out.c.set(old.c.subarray(0, old.n)); out.t.set(old.t.subarray(0, old.n));
          out.n = old.n;
        }
        out.a.set(all.a.subarray(idx, j), out.n); out.b.set(all.b.subarray(idx, j), out.n); out.c.set(all.c.subarray(idx, j), out.n);
        for (let i = 0; i < m; i++) out.t[out.n + i] = all.t[idx + i]! + offset;
        out.n += m;
        idx = j;
        if (idx < all.n) break;
        idx = 0;
        offset += spanNs;
      }
      return view();
    },
  };
}

async function childMain(spec: { level: 'events' | 'hits'; rate: number }): Promise<void> {
  const { startEmulator } = await import('../simulator/emulators/start-emulator.js');
  const all = await pregenerate(spec.level, spec.rate);
  const source = replaySource(spec.level, all) as unknown as import('../simulator/emulators/paced-source.js').PacedSource;
  const em = await startEmulator({ transport: 'tcp', level: spec.level, rate: spec.rate, source, listen: '127.0.0.1:0', width: W, height: H, stripsPerPlane: 128 });
  process.stdout.write(JSON.stringify({ address: em.address, records: all.n }) + '\n');
  const report = () => {
    const s = em.stats();
    const out: ChildStats = { records: s.records, elapsedSec: s.elapsedSec, t0EpochMs: s.running ? epochMs() - s.elapsedSec * 1000 : NaN, cappedTicks: s.cappedTicks, maxTickLagMs: s.maxTickLagMs, bytesSent: s.bytesSent };
    process.stdout.write(JSON.stringify(out) + '\n');
  };
  const timer = setInterval(report, 200);
  process.stdin.on('data', () => undefined);
  process.stdin.on('end', () => {
    clearInterval(timer);
    report();
    void em.stop().then(() => process.exit(0));
  });
}

function startChild(level: 'events' | 'hits', rate: number): Promise<{ child: ChildProcess; address: string; latest: () => ChildStats | null; t0: () => number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', self], { env: { ...process.env, GEMXRF_BENCH_EMULATOR: JSON.stringify({ level, rate }) }, stdio: ['pipe', 'pipe', 'inherit'] });
  let latest: ChildStats | null = null;
  let t0 = NaN;
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      const m = JSON.parse(line) as { address?: string } & ChildStats;
      if (m.address) resolve({ child, address: m.address, latest: () => latest, t0: () => t0 });
      else {
        latest = m;
        // The first estimate taken while running is the least delayed by the child's own load.
        if (Number.isFinite(m.t0EpochMs) && !(m.t0EpochMs >= t0)) t0 = m.t0EpochMs;
      }
    });
    child.once('exit', (code) => reject(new Error(`simulator child exited (${code})`)));
  });
}

// ---- parent ------------------------------------------------------------------------------------------
// Each batch the cube takes: wall time (epoch ms) and its last event's device time (ns).
let addLog: Float64Array = new Float64Array(1 << 16);
let addN = 0;
const origAdd = Cube.prototype.addEvents;
Cube.prototype.addEvents = function (this: Cube, batch: EventBatch, cal) {
  if (batch.n > 0) {
    if (addN + 2 > addLog.length) {
      const b = new Float64Array(addLog.length * 2);
      b.set(addLog);
      addLog = b;
    }
    addLog[addN++] = epochMs();
    addLog[addN++] = batch.t[batch.n - 1]!;
  }
  return origAdd.call(this, batch, cal);
};

const pct = (a: number[], q: number) => (a.length ? a[Math.min(a.length - 1, Math.floor(q * a.length))]! : NaN);

interface Row { level: string; rate: number; offered: number; capped: number; reached: number; efficiency: number | null; lag50: number; lag99: number; lagMax: number; delay99: number; delayMax: number; elu: number; cpuUsPerEvent: number; frames: string }

async function run(level: 'events' | 'hits', rate: number): Promise<Row> {
  const { startDaemon } = await import('../daemon/daemon.js');
  const { silentLogger } = await import('../daemon/log.js');
  const { Requester, tempDir } = await import('../test/daemon/helpers.js');
  const sim = await startChild(level, rate);
  const config = configSchema.parse({
    instrument: { id: 'bench' },
    detector: { width: W, height: H },
    source: { url: sim.address },
    mqtt: { embedded: { host: '127.0.0.1', port: 0, wsPort: 0 } },
    storage: { dataDir: tempDir('gemxrf-bench-'), checkpointSeconds: 10, flushSeconds: 1 },
    maps: { methods: ['roi'], elements: ['Cr', 'Cu', 'Pb'], cadenceSeconds: 1 },
    simulator: { enabled: false },
    http: { enabled: false },
    log: { level: 'error' },
  });
  const daemon = await startDaemon(config, silentLogger);
  const req = await Requester.connect(daemon.brokerUrl, 'gemxrf/bench');
  await new Promise((res) => setTimeout(res, 500)); // the link is up and the simulator's clock runs
  const r = await req.request('scan/start', { name: `bench ${level} ${rate}` });
  if (r.status !== 'ok') throw new Error(`scan/start: ${r.error}`);
  await new Promise((res) => setTimeout(res, 500)); // warm-up
  const delay = monitorEventLoopDelay({ resolution: 10 });
  const cube = () => daemon.manager.lastCube ?? null;
  const c0 = cube()!.counters().eventsIn;
  const s0 = sim.latest()!;
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  addN = 0;
  delay.enable();
  await new Promise((res) => setTimeout(res, SCAN_S * 1000));
  delay.disable();
  const dt = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0).utilization;
  const c1 = cube()!.counters().eventsIn;
  const s1 = sim.latest()!;
  const progress = daemon.manager.progress()!;
  const nAdds = addN;
  const stopped = await req.request('scan/stop', {}, 30_000);
  if (stopped.status !== 'ok') throw new Error(`scan/stop: ${stopped.error}`);
  await req.close();
  await daemon.stop();
  sim.child.stdin!.end();
  await new Promise((res) => sim.child.once('exit', res));

  const devT0 = sim.t0();
  const lags: number[] = [];
  for (let i = 0; i < nAdds; i += 2) lags.push(addLog[i]! - (devT0 + addLog[i + 1]! / 1e6));
  lags.sort((a, b) => a - b);
  const reached = (c1 - c0) / dt;
  const offered = (s1.records - s0.records) / (s1.elapsedSec - s0.elapsedSec);
  const f = progress.formation;
  return {
    level, rate, offered, capped: s1.cappedTicks - s0.cappedTicks, reached,
    efficiency: f && f.hitsIn > 0 ? f.events / f.hitsIn : null,
    lag50: pct(lags, 0.5), lag99: pct(lags, 0.99), lagMax: lags.at(-1) ?? NaN,
    delay99: delay.percentile(99) / 1e6, delayMax: delay.max / 1e6, elu,
    cpuUsPerEvent: (cpu.user + cpu.system) / (c1 - c0),
    frames: `ok ${progress.framesOk} lost ${progress.framesLost} crc ${progress.crcErrors}`,
  };
}

export default async function bench(): Promise<void> {
  const rates = process.argv.slice(2).map(Number).filter((x) => x > 0);
  const list = rates.length && process.argv[1] === self ? rates : RATES;
  console.log(`daemon ${W}x${H} (record, decode, [formation,] cube, roi maps, broker), simulator phantom-painting in a child process over tcp, ` +
    `${SCAN_S} s per setting; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  console.log('level   offered ev/s  sim rec/s   capped  reached ev/s  ev/hit  lag p50/p99/max ms      loop p99/max ms  main busy  cpu us/event  frames');
  for (const rate of list) {
    for (const level of (['events', 'hits'] as const).filter((l) => (process.env.GEMXRF_BENCH_LEVELS ?? 'events,hits').split(',').includes(l))) {
      const x = await run(level, rate);
      console.log(`${level.padEnd(7)} ${String(rate).padStart(12)}  ${(x.offered / 1e3).toFixed(0).padStart(7)} k  ${String(x.capped).padStart(6)}  ` +
        `${(x.reached / 1e3).toFixed(0).padStart(10)} k  ${x.efficiency === null ? '   -  ' : x.efficiency.toFixed(3)}  ` +
        `${`${f1(x.lag50)} / ${f1(x.lag99)} / ${f1(x.lagMax)}`.padEnd(22)}  ${`${f1(x.delay99)} / ${f1(x.delayMax)}`.padEnd(15)}  ` +
        `${(x.elu * 100).toFixed(0).padStart(7)} %  ${x.cpuUsPerEvent.toFixed(2).padStart(12)}  ${x.frames}`);
    }
  }
}

const childSpec = process.env.GEMXRF_BENCH_EMULATOR;
if (childSpec) await childMain(JSON.parse(childSpec) as { level: 'events' | 'hits'; rate: number });
else if (import.meta.url === `file://${process.argv[1]}`) await bench();
