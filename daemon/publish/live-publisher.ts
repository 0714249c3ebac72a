// The live topics (docs/mqtt.md): state (retained), live/stats, live/spectrum and live/counts once a second,
// live/maps/<method>/<element> (retained binary frames) and the live/maps index on the maps cadence.
// Everything here reads the cube; nothing writes it. The model maps (methods 'model' and 'presence') come
// from the scan's inference engine through LiveSource.modelMaps: the worker writes them, we only copy them out.
import type { Cube } from '../../pipelines/cube/cube.js';
import { elementMap } from '../../pipelines/maps/types.js';
import type { ScanModelMaps } from '../inference/scan-inference.js';
import type { Logger } from '../log.js';
import type { MqttBridge } from '../mqtt/bridge.js';
import { encodeMapFrame } from '../mqtt/map-frame.js';
import type { LiveMethod, MapMaker } from './map-maker.js';

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
  /** Model maps only: the model card's name and version. */
  model?: string;
  modelVersion?: string;
}

/** Live frames older than this are stale: MQTT 5 brokers drop them instead of delivering late. */
const LIVE_EXPIRY_S = 10;

export class LivePublisher {
  private statsTimer: NodeJS.Timeout | null = null;
  private mapsTimer: NodeJS.Timeout | null = null;
  private readonly sequences = new Map<string, number>();
  private index: MapIndexEntry[] = [];
  private mapsBusy = false;
  /** After a stop the maps are brought up to date once more. */
  private mapsPendingFinal = false;
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
    this.mapsPendingFinal = true;
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

  /** Recomputes and publishes every configured method's maps (one method per event-loop turn). */
  async publishMaps(): Promise<void> {
    if (this.mapsBusy) return;
    const final = this.mapsPendingFinal;
    if (!this.source.acquiring() && !final) return;
    const cur = this.source.cube();
    if (!cur) return;
    this.mapsBusy = true;
    this.mapsPendingFinal = false;
    try {
      const { cube, scanId } = cur;
      const entries: MapIndexEntry[] = [];
      // The events these maps cover (classical maps: all of them; model maps: see the model block).
      const events = cube.totalEvents;
      for (const method of this.maker.methods) {
        await new Promise<void>((r) => setImmediate(r)); // let queued chunks in between methods
        let set;
        try {
          set = this.maker.make(cube, method as LiveMethod);
        } catch (e) {
          this.opts.log.warn('map computation failed', { method, error: (e as Error).message });
          continue;
        }
        const seq = this.nextSequence(method);
        const now = Date.now();
        for (const element of set.elements) {
          const data = elementMap(set, element);
          const topic = `live/maps/${method}/${element}`;
          const frame = encodeMapFrame({ element, method, scanId, width: set.width, height: set.height, sequence: seq, timestampMs: now, data });
          await this.bridge.publish(topic, frame, { retain: true, userProperties: frameProps(set.width, set.height, method, element, scanId) });
          let max = 0;
          let sum = 0;
          for (let i = 0; i < data.length; i++) {
            const v = data[i]!;
            sum += v;
            if (v > max) max = v;
          }
          entries.push({ method, element, topic: this.bridge.topic(topic), sequence: seq, width: set.width, height: set.height, max, sum, updatedAt: new Date(now).toISOString() });
        }
      }
      const model = await this.publishModelMaps(scanId, entries);
      this.index = entries;
      this.mapCycles++;
      await this.bridge.publish('live/maps', { scanId, final, events, maps: this.index, model, encoding: 'GXMP v1 float32 little-endian (docs/mqtt.md)' }, { retain: true });
    } finally {
      this.mapsBusy = false;
    }
  }

  /** Publishes the scan's model and presence maps; returns the model block of the live/maps index (or null). */
  private async publishModelMaps(scanId: string, entries: MapIndexEntry[]): Promise<Record<string, unknown> | null> {
    const m = this.source.modelMaps?.(scanId);
    if (!m) return null;
    const { name, version } = m.model;
    for (const layer of m.layers) {
      await new Promise<void>((r) => setImmediate(r));
      const seq = this.nextSequence(layer.method);
      const now = Date.now();
      for (const { element, data } of layer.maps) {
        const topic = `live/maps/${layer.method}/${element}`;
        // encodeMapFrame copies the live view; the worker may be mid-cycle (some pixels newer), every value is whole.
        const frame = encodeMapFrame({ element, method: layer.method, scanId, width: layer.width, height: layer.height, sequence: seq, timestampMs: now, data });
        const props = { ...frameProps(layer.width, layer.height, layer.method, element, scanId), model: name, modelVersion: version };
        await this.bridge.publish(topic, frame, { retain: true, userProperties: props });
        let max = 0;
        let sum = 0;
        for (let i = 0; i < data.length; i++) {
          const v = data[i]!;
          sum += v;
          if (v > max) max = v;
        }
        entries.push({ method: layer.method, element, topic: this.bridge.topic(topic), sequence: seq, width: layer.width, height: layer.height, max, sum, updatedAt: new Date(now).toISOString(), model: name, modelVersion: version });
      }
    }
    return { ...m.model, final: m.final, eventsInferred: m.eventsInferred, pixelsFullResolution: m.pixelsFullResolution };
  }
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
