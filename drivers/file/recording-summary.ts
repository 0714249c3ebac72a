// What `gemxrf replay --info` reports: one pass over a recording counting frames, records, time span and
// every decoder counter (gaps, CRC errors, skipped bytes). gemroc-udp recordings also get the packet view.
import { frameTypeName, FrameType } from '../codecs/gemx-format.js';
import { zeroGemxCounters, type GemxCounters } from '../codecs/gemx-decode.js';
import { readGemrocHeader } from '../codecs/gemroc-decode.js';
import { GEMROC_MAX_HITS } from '../codecs/gemroc-format.js';
import { StreamFormat } from '../codecs/recording-header.js';
import { SequenceTracker, zeroSequenceCounters, type SequenceCounters } from '../codecs/sequence-tracker.js';
import { RecordingReader } from './recording-reader.js';

export interface GemrocSummary extends SequenceCounters {
  packets: number;
  hitWords: number;
  badPackets: number;
  packetsByBoard: Record<string, number>;
}

export interface RecordingSummary {
  path: string;
  fileBytes: number;
  version: number;
  streamFormat: 'gemx' | 'gemroc-udp';
  instrumentId: string;
  startTime: string;
  headerBytes: number;
  source: string | null;
  hasConfig: boolean;
  framesByType: Record<string, number>;
  frames: number;
  events: number;
  hits: number;
  /** Device clock span covered by the frames' records (ns), null if no frames. */
  firstTimeNs: number | null;
  lastTimeNs: number | null;
  durationS: number;
  counters: GemxCounters;
  gemroc?: GemrocSummary;
}

export function summarizeRecording(path: string): RecordingSummary {
  const reader = RecordingReader.open(path);
  try {
    const h = reader.header;
    const counters = zeroGemxCounters();
    const framesByType: Record<string, number> = { HITS: 0, EVENTS: 0, STATUS: 0, END: 0, DATAGRAM: 0 };
    let first = Infinity;
    let last = -Infinity;
    const gemroc: GemrocSummary | undefined = h.streamFormat === StreamFormat.GEMROC_UDP ? { packets: 0, hitWords: 0, badPackets: 0, packetsByBoard: {}, ...zeroSequenceCounters() } : undefined;
    const boards = new Map<number, SequenceTracker>();
    for (const f of reader.frames({ counters })) {
      framesByType[frameTypeName[f.type] ?? String(f.type)]!++;
      if (f.baseTimeNs < first) first = f.baseTimeNs;
      if (f.baseTimeNs > last) last = f.baseTimeNs;
      const item = f.item;
      if (item && (item.kind === 'events' || item.kind === 'hits')) {
        const t = item.t;
        for (let i = 0; i < item.n; i++) if (t[i]! > last) last = t[i]!;
      }
      if (gemroc && item?.kind === 'datagram' && f.type === FrameType.DATAGRAM) {
        const info = readGemrocHeader(item.payload);
        if (!info || info.hitCount > GEMROC_MAX_HITS) {
          gemroc.badPackets++;
          continue;
        }
        gemroc.packets++;
        gemroc.hitWords += info.hitCount;
        gemroc.packetsByBoard[info.board] = (gemroc.packetsByBoard[info.board] ?? 0) + 1;
        let tr = boards.get(info.board);
        if (!tr) boards.set(info.board, (tr = new SequenceTracker(gemroc, 2 ** 53)));
        tr.observe(info.packetNumber);
      }
    }
    const frames = Object.values(framesByType).reduce((a, b) => a + b, 0);
    const meta = h.meta;
    return {
      path,
      fileBytes: reader.fileSize,
      version: h.version,
      streamFormat: h.streamFormat === StreamFormat.GEMROC_UDP ? 'gemroc-udp' : 'gemx',
      instrumentId: h.instrumentId,
      startTime: new Date(Number(h.startTimeNs / 1_000_000n)).toISOString(),
      headerBytes: h.headerLength,
      source: typeof meta.source === 'string' ? meta.source : null,
      hasConfig: meta.config !== undefined,
      framesByType,
      frames,
      events: counters.events,
      hits: counters.hits,
      firstTimeNs: frames ? first : null,
      lastTimeNs: frames ? last : null,
      durationS: frames ? (last - first) / 1e9 : 0,
      counters,
      ...(gemroc ? { gemroc } : {}),
    };
  } finally {
    reader.close();
  }
}
