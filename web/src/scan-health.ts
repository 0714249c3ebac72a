// What the acquisition panel shows beyond the plain figures (docs/mqtt.md): event formation's counters for
// strip-hit streams (`formation`), the gemroc decoder's packet accounting per board (`gemroc`), and the
// warnings of live/stats (`maps.<method>.lastError`, `inference.lastError`/`timeouts`/`stuckWorkers`).
// Pure functions from the payloads to rows of text: no DOM, so they run in Node too (test/web/page-units).
// Payload values are treated as untrusted: anything that is not a finite number shows as '–'.
import { formatCount, formatPercent, formatValue } from './format.js';

/** `formation` of live/stats and of the state's `scan` (pipelines/formation/event-former.ts). */
export interface FormationBlock {
  hitsIn: number;
  hitsBadPlane: number;
  hitsBadStrip: number;
  hitsLate: number;
  clustersX: number;
  clustersY: number;
  events: number;
  xOnly: number;
  yOnly: number;
  tooWide: number;
  tooLong: number;
  ratio: number;
  adcSaturated: number;
  forcedCuts: number;
  stalledSettles: number;
  clockResets: number;
}

/** `gemroc` of live/stats and of the state's `scan` (drivers/codecs/gemroc-decode.ts, summarizeGemroc). */
export interface GemrocBlock {
  datagrams: number;
  packets: number;
  hits: number;
  unmapped: number;
  badPackets: number;
  packetsLost: number;
  duplicates: number;
  reordered: number;
  boardRestarts: number;
  restartsUnaligned: number;
  boards: Array<{ board: number; packets: number; lost: number; restarts: number }>;
}

export interface MapMethodStats {
  lastError?: string | null;
}

export interface InferenceStats {
  lastError?: string | null;
  timeouts?: number;
  stuckWorkers?: number;
}

/** One dt/dd line: `key` identifies it across updates (the element is reused, only its text changes). */
export interface Row {
  key: string;
  label: string;
  value: string;
  /** Worth the operator's attention (shown in the error colour). */
  bad: boolean;
  /** Hover text: what the figure means, or the full counters. */
  title: string;
}

export interface Warning {
  key: string;
  text: string;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : NaN);
const positive = (v: unknown): boolean => num(v) > 0;
const plural = (n: number, one: string, many = `${one}s`): string => `${formatCount(n)} ${n === 1 ? one : many}`;

/**
 * Formation efficiency: events over the mean of the X and Y clusters closed, i.e. the share of the clusters
 * that were paired into an event (1 when every X cluster found its Y partner and vice versa). Every closed
 * cluster ends as an event or in one rejection counter (docs/mqtt.md), so 1 − this is the rejected share.
 * While acquiring, clusters still waiting for their partner plane are in clustersX/Y only, which keeps the
 * figure a little low. null before any cluster closed.
 */
export function formationEfficiency(f: FormationBlock): number | null {
  const clusters = (num(f.clustersX) + num(f.clustersY)) / 2;
  const events = num(f.events);
  if (!(clusters > 0) || !(events >= 0)) return null;
  return Math.min(1, events / clusters);
}

/** Rows for the event formation block, or null (events-level streams: no block). Always the same keys. */
export function formationRows(f: FormationBlock | null | undefined): Row[] | null {
  if (!f || typeof f !== 'object') return null;
  const eff = formationEfficiency(f);
  const hitsPerEvent = num(f.events) > 0 ? num(f.hitsIn) / num(f.events) : NaN;
  const badHits = num(f.hitsBadPlane) + num(f.hitsBadStrip);
  const pair = (a: unknown, b: unknown) => `${formatCount(num(a))} / ${formatCount(num(b))}`;
  return [
    {
      key: 'efficiency',
      label: 'Clusters paired',
      value: eff === null ? '–' : formatPercent(eff),
      bad: false,
      title: `events ÷ mean of X and Y clusters: ${formatCount(num(f.events))} events from ${formatCount(num(f.clustersX))} X and ${formatCount(num(f.clustersY))} Y clusters`,
    },
    {
      key: 'hits',
      label: 'Strip hits',
      value: Number.isFinite(hitsPerEvent) ? `${formatCount(num(f.hitsIn))} · ${formatValue(hitsPerEvent)} /event` : formatCount(num(f.hitsIn)),
      bad: false,
      title: 'strip hits taken by event formation, and hits per formed event',
    },
    {
      key: 'unpaired',
      label: 'Unpaired X / Y',
      value: pair(f.xOnly, f.yOnly),
      bad: false,
      title: 'clusters with no partner in the other plane within formation.matchWindowNs',
    },
    {
      key: 'rejected',
      label: 'Wide / long / ratio',
      value: `${formatCount(num(f.tooWide))} / ${formatCount(num(f.tooLong))} / ${formatCount(num(f.ratio))}`,
      bad: false,
      title: 'X/Y pairs rejected: more than maxClusterStrips strips / longer than maxClusterSpanNs / charge ratio outside chargeRatioMin..chargeRatioMax',
    },
    {
      key: 'dropped',
      label: 'Late / bad hits',
      value: pair(f.hitsLate, badHits),
      bad: positive(f.hitsLate) || badHits > 0,
      title: `hits dropped: later than formation.latencyNs allows / plane > 1 (${formatCount(num(f.hitsBadPlane))}) or strip beyond detector.stripsPerPlane (${formatCount(num(f.hitsBadStrip))})`,
    },
    {
      key: 'clock',
      label: 'Clock resets',
      value: formatCount(num(f.clockResets)),
      bad: positive(f.clockResets),
      title: `device clock restarts seen (formation restarted); pile-up cuts ${formatCount(num(f.forcedCuts))}, stalled-plane settles ${formatCount(num(f.stalledSettles))}, ADC-saturated events ${formatCount(num(f.adcSaturated))}`,
    },
  ];
}

/** Rows for the gemroc packet accounting: totals, then one row per board; null when there is no block. */
export function gemrocRows(g: GemrocBlock | null | undefined): Row[] | null {
  if (!g || typeof g !== 'object') return null;
  const rows: Row[] = [
    {
      key: 'packets',
      label: 'Packets',
      value: `${formatCount(num(g.packets))} · ${formatCount(num(g.packetsLost))} lost`,
      bad: positive(g.packetsLost) || positive(g.badPackets),
      title: `${formatCount(num(g.datagrams))} datagrams, ${formatCount(num(g.badPackets))} bad, ${formatCount(num(g.duplicates))} duplicates, ${formatCount(num(g.reordered))} reordered, ${formatCount(num(g.unmapped))} unmapped hits`,
    },
    {
      key: 'restarts',
      label: 'Board restarts',
      value: positive(g.restartsUnaligned) ? `${formatCount(num(g.boardRestarts))} · ${formatCount(num(g.restartsUnaligned))} unaligned` : formatCount(num(g.boardRestarts)),
      bad: positive(g.boardRestarts),
      title: 'boards whose timestamp fell back to ~0 (re-aligned to the others); unaligned: no clear coincidence peak, the coarse offset kept',
    },
  ];
  const boards = Array.isArray(g.boards) ? g.boards : [];
  for (const b of boards) {
    if (!b || typeof b !== 'object') continue;
    const id = num(b.board);
    if (!Number.isInteger(id)) continue;
    const restarts = num(b.restarts);
    rows.push({
      key: `board-${id}`,
      label: `Board ${id}`,
      value: `${formatCount(num(b.lost))} lost · ${Number.isFinite(restarts) ? plural(restarts, 'restart') : '– restarts'}`,
      bad: positive(b.lost) || positive(b.restarts),
      title: `board ${id}: ${formatCount(num(b.packets))} packets, ${formatCount(num(b.lost))} missing from its packet counter, ${formatCount(restarts)} restarts`,
    });
  }
  return rows;
}

const MAX_WARNING = 400;
const clip = (s: string) => (s.length > MAX_WARNING ? `${s.slice(0, MAX_WARNING - 1)}…` : s);

/** The warning lines of a live/stats document: a map method or the model without maps, stuck model workers. */
export function healthWarnings(s: { maps?: Record<string, MapMethodStats | null> | null; inference?: InferenceStats | null }): Warning[] {
  const out: Warning[] = [];
  if (s.maps && typeof s.maps === 'object') {
    for (const [method, m] of Object.entries(s.maps)) {
      if (m && typeof m.lastError === 'string' && m.lastError) out.push({ key: `maps.${method}`, text: clip(`${method} maps: ${m.lastError}`) });
    }
  }
  const inf = s.inference;
  if (inf && typeof inf === 'object') {
    if (typeof inf.lastError === 'string' && inf.lastError) out.push({ key: 'inference', text: clip(`model maps: ${inf.lastError}`) });
    const stuck = num(inf.stuckWorkers);
    const timeouts = num(inf.timeouts);
    if (stuck > 0 || timeouts > 0) {
      const parts: string[] = [];
      if (timeouts > 0) parts.push(`${plural(timeouts, 'timeout')} since the daemon started`);
      if (stuck > 0) parts.push(`${plural(stuck, 'worker')} stuck in a run (${stuck === 1 ? 'holds' : 'each holds'} a CPU core)`);
      out.push({ key: 'inference.workers', text: `model workers: ${parts.join(', ')}` });
    }
  }
  return out;
}
