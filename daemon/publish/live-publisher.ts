// The live topics (docs/mqtt.md): state (retained), live/stats, live/spectrum and live/counts once a second,
// live/maps/<method>/<element> (retained binary frames) and the live/maps index on the maps cadence.
// Everything here reads the cube; nothing writes it, and no map is computed on this (the main) thread:
//   - roi and fit come from their workers (MapMaker, scan-map-runner.ts). Each tick asks each method for the
//     cube's maps now and publishes them when they arrive; a method whose previous computation still runs is
//     skipped that tick (never queued: its last maps stay published and listed, a slow fit does not hold up roi).
//     The final cycle after a stop waits for maps of every event of the cube before it publishes the index.
//   - The model maps (methods 'model' and 'presence') come from the scan's inference engine through
//     LiveSource.modelMaps: the worker writes them, we only copy them out.
//   - A final cycle keeps what it published (finalMaps): the scan folder's saved maps (daemon/scan/save-maps.ts)
//     are those very arrays.
import type { Cube } from '../../pipelines/cube/cube.js';
import { elementMap } from '../../pipelines/maps/types.js';
import type { ScanModelMaps } from '../inference/scan-inference.js';
import type { Logger } from '../log.js';
import type { MqttBridge } from '../mqtt/bridge.js';
import { encodeMapFrame } from '../mqtt/map-frame.js';
import type { MapMaker } from './map-maker.js';
import type { ScanMapRunner, ScanMaps } from './scan-map-runner.js';

export interface LiveSource {
  /** The cube to show (the running scan's, or the last scan's), with its scan id. */
  cube(): { cube: Cube; scanId: string } | null;
  /** The retained state document. */
  state(): Record<string, unknown>;
  /** The live/stats document (1 Hz). */
  stats(): Record<string, unknown>;
  /** True while a scan is acquiring (maps are only recomputed then, plus once after a stop). */
  acquiring(): boolean;
  /** The scan's model maps (live views of the inference engine's buffers), null when none. */
  modelMaps?(scanId: string): ScanModelMaps | null;
}

export interface MapIndexEntry {
  method: string;
  element: string;
  topic: string;
  sequence: number;
  width: number;
  height: number;
  max: number;
  sum: number;
  updatedAt: string;
  /** roi and fit only: the cube's events when the maps were computed (they cover at least these). */
  events?: number;
  /** Model maps only: the model card's name and version. */
  model?: string;
  modelVersion?: string;
}

/** The live/maps document less its map list. */
interface IndexDoc {
  scanId: string;
  final: boolean;
  events: number;
  model: Record<string, unknown> | null;
}

/** What a scan's last final cycle published: its roi/fit results and its model maps (live views). */
export interface FinalMaps {
  scanId: string;
  width: number;
  height: number;
  /** The cube's events at that cycle (the stopped scan's all). */
  events: number;
  classical: ScanMaps[];
  /** Classical methods without final maps (their worker failed for this scan). */
  missing: string[];
  model: ScanModelMaps | null;
}

/** Final maps kept (finalMaps) for this many of the latest stopped scans. */
const KEEP_FINALS = 4;

/** Live frames older than this are stale: MQTT 5 brokers drop them instead of delivering late. */
const LIVE_EXPIRY_S = 10;

export class LivePublisher {
  private statsTimer: NodeJS.Timeout | null = null;
  private mapsTimer: NodeJS.Timeout | null = null;
  private readonly sequences = new Map<string, number>();
  private index: MapIndexEntry[] = [];
  /** The latest published maps per method (roi, fit, model, presence) of the scan indexScan. */
  private readonly entries = new Map<string, MapIndexEntry[]>();
  private indexScan: string | null = null;
  private indexDoc: IndexDoc | null = null;
  /** The scan whose final cycle began: live classical results of that scan arriving later are dropped. */
  private finalScan: string | null = null;
  /** Per classical method, the id of the result last published (an older one arriving late is dropped). */
  private readonly publishedIds = new Map<string, number>();
  /** Per classical method, the publication of that result (its frames, then its index entries). */
  private readonly publishing = new Map<string, { id: number; done: Promise<boolean> }>();
  /** The map cycle in flight (one at a time). */
  private cycle: Promise<void> | null = null;
  /** After a stop the maps of the stopped scan (this id) are brought up to date once more. */
  private pendingFinalScan: string | null = null;
  private closed = false;
  /** The last final cycle's maps per scan, of the few latest stopped (a save of an earlier scan may still wait
   *  for its model final pass when the next scan's final cycle ran: the shutdown stops it). */
  private readonly finals = new Map<string, FinalMaps>();
  /** The model maps the cycle in progress published (publishModelMaps). */
  private cycleModel: ScanModelMaps | null = null;
  /** Every live/maps/<method>/<element> topic a map frame was retained on (forgetScan clears them). */
  private readonly frameTopics = new Set<string>();
  mapCycles = 0;

  constructor(
    private readonly bridge: MqttBridge,
    private readonly source: LiveSource,
    private readonly maker: MapMaker,
    private readonly opts: { cadenceSeconds: number; log: Logger },
  ) {}

  start(): void {
    this.statsTimer = setInterval(() => void this.tick(), 1000);
    this.mapsTimer = setInterval(() => void this.publishMaps(), this.opts.cadenceSeconds * 1000);
  }

  stop(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    if (this.mapsTimer) clearInterval(this.mapsTimer);
    this.statsTimer = this.mapsTimer = null;
  }

  async publishState(): Promise<void> {
    await this.bridge.publish('state', this.source.state(), { retain: true, qos: 1 });
  }

  /** The scan ended: one more map update covers its last events. */
  scanStopped(): void {
    this.pendingFinalScan = this.source.cube()?.scanId ?? null;
  }

  async tick(): Promise<void> {
    await this.publishState();
    await this.bridge.publish('live/stats', this.source.stats(), { expirySeconds: LIVE_EXPIRY_S });
    const cur = this.source.cube();
    if (!cur || !this.source.acquiring()) return;
    const { cube, scanId } = cur;
    await this.bridge.publish('live/spectrum', spectrumDocument(cube, scanId), { expirySeconds: LIVE_EXPIRY_S });
    const seq = this.nextSequence('counts');
    const frame = encodeMapFrame({ element: 'total', method: 'counts', scanId, width: cube.width, height: cube.height, sequence: seq, timestampMs: Date.now(), data: cube.countMapFloat32() });
    await this.bridge.publish('live/counts', frame, { expirySeconds: LIVE_EXPIRY_S, userProperties: frameProps(cube.width, cube.height, 'counts', 'total', scanId) });
  }

  private nextSequence(method: string): number {
    const s = (this.sequences.get(method) ?? 0) + 1;
    this.sequences.set(method, s);
    return s;
  }

  /** One map cycle: classical maps requested from their workers (published as each arrives), model maps
   *  copied out and published, then the index. After a stop (scanStopped) the cycle is the scan's final one. */
  publishMaps(): Promise<void> {
    if (this.cycle) return this.cycle;
    if (this.closed) return Promise.resolve(); // no worker may start after close()
    const cur = this.source.cube();
    // A final cycle is the stopped scan's own: once another scan shows (it started meanwhile), it is void.
    if (this.pendingFinalScan !== (cur?.scanId ?? null)) this.pendingFinalScan = null;
    if (!cur) return Promise.resolve();
    const final = this.pendingFinalScan !== null;
    if (!this.source.acquiring() && !final) return Promise.resolve();
    this.pendingFinalScan = null;
    this.cycle = this.mapCycle(cur.cube, cur.scanId, final)
      .catch((e: unknown) => this.opts.log.warn('map publication failed', { error: (e as Error).message }))
      .finally(() => {
        this.cycle = null;
        // A stop that came while this cycle ran: its final cycle now, not a cadence later.
        if (this.pendingFinalScan !== null && !this.closed) void this.publishMaps();
      });
    return this.cycle;
  }

  /** Daemon shutdown: no more ticks; a final publication in flight or pending (the scan the shutdown stopped)
   *  is completed, then the map workers end. */
  async close(): Promise<void> {
    this.stop();
    for (;;) {
      if (this.cycle) await this.cycle; // a cycle that ends with a final pending starts it (see publishMaps)
      else if (this.pendingFinalScan !== null) await this.publishMaps(); // runs it, or voids it
      else break;
    }
    this.closed = true;
    await this.maker.release();
  }

  /** A scan was deleted (scan/delete): when its maps are the ones shown, their retained frames
   *  (live/maps/<method>/<element>, every topic this publisher put a map frame on) and the retained live/maps
   *  index are cleared (empty retained payloads), so that no subscriber is shown maps of a scan that no longer
   *  exists. A new scan does not need this: its frames replace the retained ones on the same topics and its
   *  index lists only its own. Returns whether anything was cleared. */
  async forgetScan(scanId: string): Promise<boolean> {
    if (this.indexScan !== scanId) return false;
    if (this.source.acquiring() && this.source.cube()?.scanId === scanId) return false; // never the scan acquiring
    this.entries.clear();
    this.index = [];
    this.indexScan = null;
    this.indexDoc = null;
    this.finalScan = null;
    if (this.pendingFinalScan === scanId) this.pendingFinalScan = null;
    this.finals.delete(scanId);
    const topics = [...this.frameTopics];
    this.frameTopics.clear();
    for (const t of topics) await this.bridge.clear(t);
    await this.bridge.clear('live/maps');
    return true;
  }

  /** The scan's final maps once its final publications in flight or pending are done (scanStopped, then
   *  publishMaps): those of the last one. null when the scan had no final cycle (another scan shows). */
  async finalMaps(scanId: string): Promise<FinalMaps | null> {
    for (;;) {
      if (this.cycle) await this.cycle;
      else if (this.pendingFinalScan === scanId && !this.closed) await this.publishMaps();
      else break;
    }
    return this.finals.get(scanId) ?? null;
  }

  private async mapCycle(cube: Cube, scanId: string, final: boolean): Promise<void> {
    if (scanId !== this.indexScan) {
      this.entries.clear();
      this.indexScan = scanId;
      this.finalScan = null;
    }
    // The events these maps cover: model maps see model.eventsInferred; roi and fit entries carry their own.
    const doc: IndexDoc = { scanId, final, events: cube.totalEvents, model: this.indexDoc?.scanId === scanId ? this.indexDoc.model : null };
    this.indexDoc = doc;
    let classical: ScanMaps[] | null = null;
    const missing: string[] = [];
    if (final) {
      // From here only this cycle publishes the scan's classical maps: live results still arriving are dropped.
      this.finalScan = scanId;
      const results = await Promise.all(this.maker.runners.map((r) => r.complete(cube, scanId)));
      classical = [];
      for (const [i, r] of results.entries()) {
        if (r) {
          await this.publishClassical(r);
          classical.push(r);
        } else {
          this.entries.delete(this.maker.runners[i]!.method);
          missing.push(this.maker.runners[i]!.method);
        }
      }
      // The scan's workers end with its final maps (a later final cycle reuses these results).
      await this.maker.release(scanId);
    } else {
      for (const runner of this.maker.runners) {
        // Never queued: a method whose previous computation still runs is skipped this tick (its last maps stay).
        const job = runner.request(cube, scanId);
        if (job) void job.then((r) => this.onLiveResult(runner, scanId, r)).catch((e: unknown) => this.opts.log.warn('map publication failed', { method: runner.method, error: (e as Error).message }));
        else if (runner.failed(scanId)) this.entries.delete(runner.method);
      }
    }
    await new Promise<void>((r) => setImmediate(r)); // let queued chunks in before the model maps
    this.cycleModel = null;
    doc.model = await this.publishModelMaps(scanId);
    if (classical) {
      this.finals.delete(scanId);
      this.finals.set(scanId, { scanId, width: cube.width, height: cube.height, events: doc.events, classical, missing, model: this.cycleModel });
      for (const id of this.finals.keys()) if (this.finals.size > KEEP_FINALS) this.finals.delete(id);
    }
    this.mapCycles++;
    await this.publishIndex();
  }

  /** A live (not final) classical result: its frames, then the index listing them. */
  private async onLiveResult(runner: ScanMapRunner, scanId: string, r: ScanMaps | null): Promise<void> {
    if (scanId !== this.indexScan || this.finalScan === scanId) return; // another scan, or its final cycle began
    if (!r) {
      // Failed (logged by the runner): its maps leave the index. Otherwise dropped (stopped worker): nothing to do.
      if (!runner.failed(scanId) || !this.entries.delete(runner.method)) return;
    } else if (!(await this.publishClassical(r))) return;
    if (scanId !== this.indexScan || this.finalScan === scanId) return;
    await this.publishIndex();
  }

  /** Publishes one classical result's frames (new sequence) and records its index entries; false when a newer
   *  result of the method was published first, or this one already was. When this one is still going out (a
   *  live publication that the final cycle caught up with, reusing the same result), it resolves once that
   *  publication ended, so that the index published next lists its entries. */
  private publishClassical(r: ScanMaps): Promise<boolean> {
    const { method } = r;
    if ((this.publishedIds.get(method) ?? 0) >= r.id) {
      const p = this.publishing.get(method);
      return p?.id === r.id ? p.done.then(() => false, () => false) : Promise.resolve(false);
    }
    this.publishedIds.set(method, r.id);
    const done = this.publishFrames(r);
    this.publishing.set(method, { id: r.id, done });
    return done;
  }

  private async publishFrames(r: ScanMaps): Promise<boolean> {
    const { method, maps: set, scanId } = r;
    const seq = this.nextSequence(method);
    const now = Date.now();
    const entries: MapIndexEntry[] = [];
    for (const element of set.elements) {
      // A newer result of the method overtook this one, or another scan began, while frames went out.
      if (this.publishedIds.get(method) !== r.id || this.indexScan !== scanId) return false;
      const data = elementMap(set, element);
      const topic = `live/maps/${method}/${element}`;
      const frame = encodeMapFrame({ element, method, scanId, width: set.width, height: set.height, sequence: seq, timestampMs: now, data });
      this.frameTopics.add(topic);
      await this.bridge.publish(topic, frame, { retain: true, userProperties: frameProps(set.width, set.height, method, element, scanId) });
      const { max, sum } = maxSum(data);
      entries.push({ method, element, topic: this.bridge.topic(topic), sequence: seq, width: set.width, height: set.height, max, sum, updatedAt: new Date(now).toISOString(), events: r.events });
    }
    if (this.indexScan !== scanId) return false;
    this.entries.set(method, entries);
    return true;
  }

  /** The live/maps index: the latest published maps of every method, in a fixed order. */
  private async publishIndex(): Promise<void> {
    const doc = this.indexDoc;
    if (!doc) return;
    const order = [...this.maker.methods, 'model', 'presence'];
    this.index = order.flatMap((m) => this.entries.get(m) ?? []);
    await this.bridge.publish('live/maps', { ...doc, maps: this.index, encoding: 'GXMP v1 float32 little-endian (docs/mqtt.md)' }, { retain: true });
  }

  /** Publishes the scan's model and presence maps and records their index entries; returns the model block of
   *  the live/maps index (or null, with no model entries). */
  private async publishModelMaps(scanId: string): Promise<Record<string, unknown> | null> {
    const live = this.source.modelMaps?.(scanId);
    // One synchronous copy of every layer, with the metadata read in the same tick: the frames below, and a
    // final cycle's maps saved into the scan folder (finalMaps), are this copy, so that `final`,
    // `eventsInferred` and `pixelsFullResolution` describe exactly those values. (The live views keep
    // changing: a final pass still running when the next scan starts writes into them after this cycle.)
    const m: ScanModelMaps | null = live ? { ...live, model: { ...live.model }, layers: live.layers.map((l) => ({ ...l, maps: l.maps.map((e) => ({ element: e.element, data: e.data.slice() })) })) } : null;
    this.cycleModel = m;
    if (!m) {
      this.entries.delete('model');
      this.entries.delete('presence');
      return null;
    }
    const { name, version } = m.model;
    for (const layer of m.layers) {
      await new Promise<void>((r) => setImmediate(r));
      const seq = this.nextSequence(layer.method);
      const now = Date.now();
      const entries: MapIndexEntry[] = [];
      for (const { element, data } of layer.maps) {
        const topic = `live/maps/${layer.method}/${element}`;
        // A copy of the live view taken above; the worker may have been mid-cycle (some pixels newer), every value is whole.
        const frame = encodeMapFrame({ element, method: layer.method, scanId, width: layer.width, height: layer.height, sequence: seq, timestampMs: now, data });
        const props = { ...frameProps(layer.width, layer.height, layer.method, element, scanId), model: name, modelVersion: version };
        this.frameTopics.add(topic);
        await this.bridge.publish(topic, frame, { retain: true, userProperties: props });
        const { max, sum } = maxSum(data);
        entries.push({ method: layer.method, element, topic: this.bridge.topic(topic), sequence: seq, width: layer.width, height: layer.height, max, sum, updatedAt: new Date(now).toISOString(), model: name, modelVersion: version });
      }
      this.entries.set(layer.method, entries);
    }
    return { ...m.model, final: m.final, eventsInferred: m.eventsInferred, pixelsFullResolution: m.pixelsFullResolution };
  }
}

function maxSum(data: Float32Array): { max: number; sum: number } {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    sum += v;
    if (v > max) max = v;
  }
  return { max, sum };
}

function frameProps(width: number, height: number, method: string, element: string, scanId: string): Record<string, string> {
  return { shape: `${height},${width}`, dtype: 'float32-le', method, element, scan: scanId, format: 'GXMP1' };
}

/** The sum spectrum as JSON: channel centres (keV) and counts. */
export function spectrumDocument(cube: Cube, scanId: string): Record<string, unknown> {
  const w = (cube.eMaxKeV - cube.eMinKeV) / cube.channels;
  const counts = Array.from(cube.sumSpectrum);
  return { scanId, channels: cube.channels, eMinKeV: cube.eMinKeV, eMaxKeV: cube.eMaxKeV, binWidthKeV: w, total: cube.totalEvents, counts };
}
