// The whole acquisition pipeline as one RxJS composition (library API, exported from pipelines/index.ts):
//   transport (bytes) -> [raw tap: recorder] -> codec (gemx frames | gemroc datagrams) -> HitBatch | EventBatch
//   -> event formation (hits only) -> calibration + cube (fillCube)
// plus a stats stream sampling every stage's counters. One RxJS emission per chunk / frame / batch, never per
// event; everything between the transport and the cube runs synchronously per chunk, so when the raw tap has
// returned for a chunk, that chunk's events are in the cube once the next chunk arrives.
// The daemon does not use this composition: daemon/scan/acquisition.ts subscribes to the same transport
// Observable and runs the same stages (FrameSink: decode -> formation -> fillCube) as synchronous calls per chunk,
// because it decodes exactly the bytes it recorded to raw.gemx (gemroc datagrams wrapped as DATAGRAM frames) and
// cuts checkpoints at frame boundaries of that recording, interleaved with recovery and scan stops.
import { filter, map, Observable, ReplaySubject, Subject, takeUntil, type OperatorFunction } from 'rxjs';
import type { GemxrfConfig } from '../config/index.js';
import type { EventBatch } from '../drivers/batches.js';
import { decodeGemroc } from '../drivers/codecs/gemroc-rx.js';
import { zeroGemrocCounters } from '../drivers/codecs/gemroc-decode.js';
import { decodeGemxFrames } from '../drivers/codecs/gemx-rx.js';
import { zeroGemxCounters, type DecodedFrame, type GemxItem } from '../drivers/codecs/gemx-decode.js';
import type { GemxStatus } from '../drivers/codecs/gemx-format.js';
import { StreamFormat } from '../drivers/codecs/recording-header.js';
import { parseFileUrl } from '../drivers/file/file-transport.js';
import { RecordingReader } from '../drivers/file/recording-reader.js';
import { openTransport } from '../drivers/open-transport.js';
import '../drivers/transports/index.js'; // registers serial, usb, tcp, udp with openTransport
import type { Transport } from '../drivers/transport.js';
import { Calibration } from './calibration/calibration.js';
import type { Cube } from './cube/cube.js';
import { fillCube } from './cube/fill-cube.js';
import { EventFormer } from './formation/event-former.js';
import { FrameEvents } from './frame-events.js';
import { sampleStats, StatsSampler, type CounterSource, type StatsSample } from './stats/stats.js';

export type WireFormat = 'gemx' | 'gemroc';

export interface AssembleOptions {
  config: GemxrfConfig;
  /** The cube to fill (the daemon owns it: checkpoints, worker attach). */
  cube: Cube;
  /** A transport to read; else one is opened from `url` (default config.source.url). */
  transport?: Transport;
  url?: string;
  /** Default: the URL's ?format=, else the recording's own format for file://, else gemroc for udp://, else gemx. */
  format?: WireFormat;
  /** Default Calibration.fromConfig(config) (reads the gain map file). */
  calibration?: Calibration;
  /** Every chunk (or datagram) exactly as it arrived, before anything decodes it: the raw recorder's tap. */
  onRaw?: (chunk: Uint8Array) => void;
  /** gemx: every decoded frame (offset, length, seq; raw bytes attached) before its batch is processed. */
  onFrame?: (frame: DecodedFrame) => void;
  /** Stream offset of the first byte (decoder frame offsets; file:// defaults to the recording header length). */
  startOffset?: number;
  /** Stop when the source sends an END frame (replays of a finished scan). Default false. */
  stopOnEnd?: boolean;
  /** stats$ period (ms), default 1000. */
  statsPeriodMs?: number;
}

export interface PipelineCounters {
  chunks: number;
  bytes: number;
  hitBatches: number;
  eventBatches: number;
  /** Event batches handed to the cube (from the source directly or from event formation). */
  cubeBatches: number;
  statusFrames: number;
  endFrames: number;
  datagramFrames: number;
}

export interface PipelineSummary {
  /** Why it ended: the source completed, stop() was called, or an END frame arrived with stopOnEnd. */
  reason: 'completed' | 'stopped' | 'end-frame';
  stats: StatsSample;
}

export interface AssembledPipeline {
  readonly url: string;
  readonly format: WireFormat;
  readonly transport: Transport;
  readonly calibration: Calibration;
  readonly former: EventFormer;
  /** Counters and rates of every stage, every statsPeriodMs; completes when the pipeline ends. */
  readonly stats$: Observable<StatsSample>;
  /** The same raw chunks as onRaw (hot; data starts flowing on the microtask after assemblePipeline returns). */
  readonly raw$: Observable<Uint8Array>;
  /** STATUS frames from the device (rates, HV, temperatures). */
  readonly status$: Observable<GemxStatus>;
  /** Resolves when the stream ended (source completed, stop(), END frame with stopOnEnd), after the last clusters were flushed. */
  readonly done: Promise<PipelineSummary>;
  /** A stats sample now (counters since start, rates since the previous call of sample()). */
  sample(): StatsSample;
  /** Ends the stream: pending clusters are flushed into the cube, the transport is closed; resolves with done. */
  stop(): Promise<PipelineSummary>;
}

function chooseFormat(url: URL | null, explicit: WireFormat | undefined): { format: WireFormat; headerLength: number } {
  if (explicit) return { format: explicit, headerLength: 0 };
  const q = url?.searchParams.get('format');
  if (q === 'gemroc') return { format: 'gemroc', headerLength: 0 };
  if (q === 'gemx' || q === 'raw') return { format: 'gemx', headerLength: 0 };
  if (q) throw new Error(`source ${url!.href}: format must be gemx or gemroc, got '${q}'`);
  if (url?.protocol === 'file:') {
    const reader = RecordingReader.open(parseFileUrl(url).path);
    try {
      const h = reader.header;
      return { format: h.streamFormat === StreamFormat.GEMROC_UDP ? 'gemroc' : 'gemx', headerLength: h.headerLength };
    } finally {
      reader.close();
    }
  }
  if (url?.protocol === 'udp:') return { format: 'gemroc', headerLength: 0 };
  return { format: 'gemx', headerLength: 0 };
}

/**
 * Events from the decoded items: EventBatches pass through, HitBatches go through event formation,
 * status/end/datagram items go to `onOther`. The former is flushed when the source completes. The item ->
 * batch step is FrameEvents, the same one the daemon's FrameSink, crash recovery and the offline CLI use.
 */
export function eventsFromItems(former: EventFormer, onOther: (item: Exclude<GemxItem, EventBatch | { kind: 'hits' }>) => void): OperatorFunction<GemxItem, EventBatch> {
  return (source) =>
    new Observable<EventBatch>((sub) => {
      const events = new FrameEvents(former);
      return source.subscribe({
        next: (item) => {
          const ev = events.accept(item);
          if (ev && ev.n > 0) sub.next(ev);
          // END also returns the events its flush released (emitted first: with stopOnEnd, onOther ends the
          // stream); it still goes to onOther to be counted.
          if (item.kind !== 'events' && item.kind !== 'hits' && (!ev || item.kind === 'end')) onOther(item);
        },
        error: (e: unknown) => sub.error(e),
        complete: () => {
          const ev = events.flush();
          if (ev) sub.next(ev);
          sub.complete();
        },
      });
    });
}

export function assemblePipeline(opts: AssembleOptions): AssembledPipeline {
  const { config, cube } = opts;
  const urlString = opts.transport?.url ?? opts.url ?? config.source.url;
  let parsed: URL | null = null;
  try {
    parsed = new URL(urlString);
  } catch {
    parsed = null; // openTransport reports the bad URL below
  }
  const { format, headerLength } = chooseFormat(parsed, opts.format);
  const transport = opts.transport ?? openTransport(urlString);
  const calibration = opts.calibration ?? Calibration.fromConfig(config);
  const former = new EventFormer(config.formation, config.detector);

  const counters: PipelineCounters = { chunks: 0, bytes: 0, hitBatches: 0, eventBatches: 0, cubeBatches: 0, statusFrames: 0, endFrames: 0, datagramFrames: 0 };
  const gemxCounters = zeroGemxCounters();
  const gemrocCounters = zeroGemrocCounters();
  const sources: CounterSource[] = [
    { name: 'transport', read: () => transport.status() },
    { name: 'decoder', read: () => (format === 'gemx' ? gemxCounters : gemrocCounters) },
    { name: 'formation', read: () => former.counters() },
    { name: 'cube', read: () => cube.counters() },
    { name: 'pipeline', read: () => counters },
  ];
  const sampler = new StatsSampler(sources);

  const raw$ = new Subject<Uint8Array>();
  const status$ = new Subject<GemxStatus>();
  const stop$ = new Subject<void>();
  const finished$ = new ReplaySubject<void>(1);
  let reason: PipelineSummary['reason'] = 'completed';
  let running = true;

  const bytes$ = transport.open().pipe(
    takeUntil(stop$),
    map((chunk) => {
      counters.chunks++;
      counters.bytes += chunk.length;
      opts.onRaw?.(chunk);
      raw$.next(chunk);
      return chunk;
    }),
  );

  const items$: Observable<GemxItem> =
    format === 'gemroc'
      ? bytes$.pipe(decodeGemroc(config.detector.channelMap, gemrocCounters))
      : bytes$.pipe(
          decodeGemxFrames(gemxCounters, { keepRaw: opts.onFrame !== undefined, startOffset: opts.startOffset ?? headerLength }),
          map((frame) => {
            opts.onFrame?.(frame);
            return frame.item;
          }),
          filter((item): item is GemxItem => item !== null),
        );

  const onOther = (item: Exclude<GemxItem, EventBatch | { kind: 'hits' }>): void => {
    if (item.kind === 'status') {
      counters.statusFrames++;
      status$.next(item);
    } else if (item.kind === 'end') {
      counters.endFrames++;
      if (opts.stopOnEnd) {
        reason = 'end-frame';
        stop$.next();
      }
    } else counters.datagramFrames++;
  };

  const countKinds = map((item: GemxItem) => {
    if (item.kind === 'hits') counters.hitBatches++;
    else if (item.kind === 'events') counters.eventBatches++;
    return item;
  });

  // The flow starts on the next microtask, so the caller can subscribe to raw$, status$ and stats$ first even
  // when the source is synchronous (a replay at full speed, a test).
  const done = new Promise<PipelineSummary>((resolve, reject) => {
    queueMicrotask(() => items$
      .pipe(
        countKinds,
        eventsFromItems(former, onOther),
        map((b) => {
          counters.cubeBatches++;
          return b;
        }),
        fillCube(cube, calibration),
      )
      .subscribe({
        error: (e: unknown) => {
          finish();
          reject(e instanceof Error ? e : new Error(String(e)));
        },
        complete: () => {
          finish();
          resolve({ reason, stats: sampler.sample() });
        },
      }));
  });
  // Callers that only use stop() must not see an unhandled rejection; they get it from stop() instead.
  done.catch(() => undefined);

  function finish(): void {
    running = false;
    raw$.complete();
    status$.complete();
    finished$.next();
    finished$.complete();
    void transport.close().catch(() => undefined);
  }

  return {
    url: urlString,
    format,
    transport,
    calibration,
    former,
    stats$: sampleStats(sources, opts.statsPeriodMs ?? 1000).pipe(takeUntil(finished$)),
    raw$: raw$.asObservable(),
    status$: status$.asObservable(),
    done,
    sample: () => sampler.sample(),
    stop: async () => {
      if (running) {
        if (reason === 'completed') reason = 'stopped';
        stop$.next();
      }
      return done;
    },
  };
}
