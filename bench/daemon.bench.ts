// The whole daemon with the model method on: the in-process simulator (worker thread) sends phantom-painting
// at 1 M events/s over TCP to a 100 x 100 daemon (record, decode, cube, roi maps and the inference worker with
// the shipped lt-vit), which publishes on its embedded broker to a subscriber in this process. With 1 and 2
// onnxruntime threads, it prints:
//   - frames lost (decoder sequence gaps; must be 0) and the ingest rate reached;
//   - event-to-published-map latency, p50/p95 over events: for each live/maps index the subscriber receives,
//     the events it covers (roi: its entries' `events`, the cube's total when the roi worker was asked; model:
//     `model.eventsInferred`, the counts the model values were inferred from) are dated by the cube's arrival
//     curve (sampled every 10 ms), and each newly covered event's latency is the index's receive time minus
//     its arrival time;
//   - the main thread's event-loop delay (p99, max) over the scan;
//   - time to the first published model map and to the first one with every pixel at full resolution;
//   - after the stop: time until the final (full-pass) model maps are published.
// npm run bench -- daemon   (or: node --import tsx bench/daemon.bench.ts)
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { configSchema } from '../config/index.js';
import { startDaemon } from '../daemon/daemon.js';
import { silentLogger } from '../daemon/log.js';
import { Requester, tempDir } from '../test/daemon/helpers.js';

const W = 100, H = 100, P = W * H;
const RATE = 1_000_000;
const SCAN_S = 20;
const CADENCE_S = 1;
const base = 'gemxrf/bench';

interface Index {
  scanId: string;
  final: boolean;
  events: number;
  maps: Array<{ method: string; events?: number }>;
  model: { eventsInferred: number; pixelsFullResolution: number; final: boolean } | null;
}

const f1 = (x: number) => x.toFixed(1);

/**
 * Latency percentiles over events. arrival: [t ms, events so far] samples (events in (E[i-1], E[i]] are dated
 * t[i], at most one sample period late); covers: [receive time ms, events covered] per publication. Events a
 * publication newly covers get latency = its receive time - their arrival. Events never covered are left out.
 */
function latencies(arrival: Array<[number, number]>, covers: Array<[number, number]>): { p50: number; p95: number } {
  const out: Array<[number, number]> = []; // [latency ms, events]
  let covered = 0;
  for (const [recv, cover] of covers) {
    if (cover <= covered) continue;
    let prevE = 0;
    for (const [t, e] of arrival) {
      const lo = Math.max(prevE, covered);
      const hi = Math.min(e, cover);
      if (hi > lo) out.push([recv - t, hi - lo]);
      prevE = e;
      if (e >= cover) break;
    }
    covered = cover;
  }
  out.sort((x, y) => x[0] - y[0]);
  const total = out.reduce((s, [, w]) => s + w, 0);
  const pct = (q: number) => {
    let acc = 0;
    for (const [l, w] of out) if ((acc += w) >= q * total) return l;
    return NaN;
  };
  return { p50: pct(0.5), p95: pct(0.95) };
}

async function run(threads: number) {
  const dataDir = tempDir('gemxrf-bench-');
  const config = configSchema.parse({
    instrument: { id: 'bench' },
    detector: { width: W, height: H },
    mqtt: { embedded: { host: '127.0.0.1', port: 0, wsPort: 0 } },
    storage: { dataDir, checkpointSeconds: 10, flushSeconds: 1 },
    maps: { methods: ['roi', 'model'], elements: ['Cr', 'Cu', 'Pb'], cadenceSeconds: CADENCE_S },
    inference: { model: 'lt-vit', threads },
    simulator: { enabled: true, rate: RATE, listen: '127.0.0.1:0', phantom: 'phantom-painting' },
    http: { enabled: false },
    log: { level: 'error' },
  });
  const daemon = await startDaemon(config, silentLogger);
  const req = await Requester.connect(daemon.brokerUrl, base);
  const sub = await mqtt.connectAsync(daemon.brokerUrl, { protocolVersion: 4, reconnectPeriod: 0 });
  const indexes: Array<{ t: number; i: Index }> = [];
  sub.on('message', (topic, payload) => {
    if (topic === `${base}/live/maps`) indexes.push({ t: performance.now(), i: JSON.parse(payload.toString()) as Index });
  });
  await sub.subscribeAsync(`${base}/live/maps`);

  const delay = monitorEventLoopDelay({ resolution: 10 });
  const arrival: Array<[number, number]> = [];
  const r = await req.request('scan/start', { name: `bench ${threads} thread(s)` });
  if (r.status !== 'ok') throw new Error(`scan/start: ${r.error}`);
  const scanId = (r.data as { id: string }).id;
  const t0 = performance.now();
  delay.enable();
  const sampler = setInterval(() => arrival.push([performance.now(), daemon.manager.progress()?.events ?? 0]), 10);
  await new Promise((res) => setTimeout(res, SCAN_S * 1000));
  clearInterval(sampler);
  delay.disable();
  const progress = daemon.manager.progress()!;
  const tStop = performance.now();
  const stopped = await req.request('scan/stop', {}, 30_000);
  if (stopped.status !== 'ok') throw new Error(`scan/stop: ${stopped.error}`);
  const ack = performance.now();
  const deadline = performance.now() + 60_000;
  while (!indexes.some(({ i }) => i.scanId === scanId && i.model?.final) && performance.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  const finalAt = indexes.find(({ i }) => i.scanId === scanId && i.model?.final)?.t ?? null;

  const live = indexes.filter(({ t, i }) => i.scanId === scanId && !i.final && t <= tStop);
  const firstModel = live.find(({ i }) => i.model !== null && i.maps.some((m) => m.method === 'model'));
  const fullRes = live.find(({ i }) => i.model?.pixelsFullResolution === P);
  // roi maps are computed in a worker and listed once they arrive: the events they cover are their entries'.
  const roi = latencies(arrival, live.map(({ t, i }) => [t, i.maps.find((m) => m.method === 'roi')?.events ?? 0]));
  const model = latencies(arrival, live.map(({ t, i }) => [t, i.model?.eventsInferred ?? 0]));
  const lastModel = live.at(-1)?.i.model;
  const events = progress.events;
  console.log(`threads ${threads}: ${(events / 1e6).toFixed(1)} M events in ${SCAN_S} s = ${(events / SCAN_S / 1e6).toFixed(2)} M/s (${(events / P).toFixed(0)} counts/px); ` +
    `frames ok ${progress.framesOk}, lost ${progress.framesLost}, crc errors ${progress.crcErrors}`);
  console.log(`  event -> published map latency: roi p50 ${f1(roi.p50)} ms p95 ${f1(roi.p95)} ms; model p50 ${f1(model.p50)} ms p95 ${f1(model.p95)} ms ` +
    `(model covers ${lastModel ? ((lastModel.eventsInferred / (live.at(-1)!.i.events || 1)) * 100).toFixed(0) : 0} % of the events at the last live map)`);
  console.log(`  event-loop delay p99 ${f1(delay.percentile(99) / 1e6)} ms, max ${f1(delay.max / 1e6)} ms; ` +
    `first model map ${firstModel ? `${f1(firstModel.t - t0)} ms` : 'none'}; all ${P} px at full resolution in a published map ${fullRes ? `${f1((fullRes.t - t0) / 1000)} s` : `not within ${SCAN_S} s (${lastModel?.pixelsFullResolution ?? 0} px)`}`);
  console.log(`  stop: scan/stop answered in ${f1(ack - tStop)} ms; final full-pass model maps published ${finalAt ? `${f1((finalAt - tStop) / 1000)} s` : 'not within 60 s'} after the stop`);
  await sub.endAsync();
  await req.close();
  await daemon.stop();
}

export default async function bench(): Promise<void> {
  console.log(`daemon ${W}x${H}, simulator phantom-painting at ${RATE / 1e6} M events/s (worker thread) over tcp, maps roi + model (lt-vit), ` +
    `cadence ${CADENCE_S} s, ${SCAN_S} s scan; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  for (const threads of [1, 2]) await run(threads);
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
