// The "last scan" summary of the acquisition panel: while no scan is acquiring, how the last one went — its
// status and stop reason, duration, events, mean rate, lost frames / CRC errors, event formation and gemroc
// losses when it had them, and whether its maps were saved into its folder (docs/mqtt.md: the scan record,
// the `scan-stopped` / `scan-error` / `maps-saved` / `maps-error` / `scan-deleted` events, the state's
// `lastScan` id). Pure (no DOM), so it runs in Node too (test/web/last-scan.test.ts); status-panel.ts shows
// the rows. Payload values are untrusted: anything that is not a finite number shows as '–', strings are
// clipped and only ever set as text.
import { formatBytes, formatCount, formatDuration, formatPercent, formatValue } from './format.js';
import { formationEfficiency, formationRows, gemrocRows, type FormationBlock, type GemrocBlock, type Row } from './scan-health.js';

/** The scan record's `totals` (daemon/storage/db.ts ScanTotals). */
export interface ScanTotalsDoc {
  events: number;
  eventsIn: number;
  bytesRecorded: number;
  framesOk: number;
  framesLost: number;
  crcErrors: number;
  durationS: number;
  meanRate: number;
  gemroc?: GemrocBlock | null;
  formation?: FormationBlock | null;
}

/** The scan record (docs/mqtt.md "Scan record"; daemon/storage/db.ts ScanRecord), as the events and
 *  `scan/get` carry it. */
export interface ScanRecordDoc {
  id: string;
  name: string;
  status: string;
  stopReason: string | null;
  startedAt: string;
  stoppedAt: string | null;
  totals: ScanTotalsDoc | null;
  error: string | null;
  /** The config snapshot (scan/get, the events): `storage.saveMaps` says whether maps are written at all. */
  config?: unknown;
}

/** Whether the scan's final maps are in its folder. */
export type MapsOutcome =
  | { kind: 'unknown' }
  /** The scan stopped while the page watched: the maps-saved / maps-error event is still to come. */
  | { kind: 'pending' }
  /** storage.saveMaps was off for the scan. */
  | { kind: 'off' }
  | { kind: 'saved'; files: number; bytes: number; methods: string[] }
  | { kind: 'error'; error: string }
  /** The scan folder's listing has no maps/index.json (looked up after the fact). */
  | { kind: 'absent' };

const MAPS_NOTE = 'maps not saved: ';
const MAX_TEXT = 300;
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : NaN);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const clip = (s: string, n = MAX_TEXT) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const positive = (v: unknown): boolean => num(v) > 0;

const REASONS: Record<string, string> = {
  manual: 'stopped by request',
  duration: 'duration reached',
  counts: 'counts reached',
  shutdown: 'daemon shut down',
  disk: 'low disk space',
  error: 'error',
};

/** The record's `error` split into the scan's own error and the maps note ("maps not saved: <why>", which
 *  noteMapsError appends after any earlier error with "; "). */
export function splitRecordError(error: unknown): { scan: string | null; maps: string | null } {
  const e = str(error);
  if (!e) return { scan: null, maps: null };
  const at = e.indexOf(MAPS_NOTE);
  if (at < 0) return { scan: e, maps: null };
  const before = e.slice(0, at).replace(/;\s*$/, '').trim();
  return { scan: before || null, maps: e.slice(at + MAPS_NOTE.length) || 'unknown error' };
}

/** What the record itself says about its maps: the error note, storage.saveMaps off, else nothing known. */
export function mapsFromRecord(r: ScanRecordDoc): MapsOutcome {
  const note = splitRecordError(r.error).maps;
  if (note !== null) return { kind: 'error', error: note };
  const storage = (r.config as { storage?: { saveMaps?: unknown } } | null | undefined)?.storage;
  if (storage && typeof storage === 'object' && storage.saveMaps === false) return { kind: 'off' };
  return { kind: 'unknown' };
}

/** A `maps-saved` / `maps-error` event as a MapsOutcome (null for any other event). */
export function mapsFromEvent(e: Record<string, unknown>): MapsOutcome | null {
  if (e.type === 'maps-saved') {
    return { kind: 'saved', files: num(e.files), bytes: num(e.bytes), methods: Array.isArray(e.methods) ? e.methods.filter((m): m is string => typeof m === 'string') : [] };
  }
  if (e.type === 'maps-error') return { kind: 'error', error: str(e.error) || 'unknown error' };
  return null;
}

/** A scan folder's listing (GET /api/scans/<id>/files) as a MapsOutcome: maps/index.json is written last. */
export function mapsFromFiles(files: Array<{ path?: unknown; size?: unknown }>): MapsOutcome {
  const maps = files.filter((f) => typeof f.path === 'string' && f.path.startsWith('maps/'));
  if (!maps.some((f) => f.path === 'maps/index.json')) return { kind: 'absent' };
  const methods = [...new Set(maps.map((f) => (f.path as string).split('/')).filter((p) => p.length > 2).map((p) => p[1]!))];
  return { kind: 'saved', files: maps.length, bytes: maps.reduce((s, f) => s + (num(f.size) || 0), 0), methods };
}

function mapsRow(m: MapsOutcome): Row {
  const row = (value: string, bad: boolean, title: string): Row => ({ key: 'maps', label: 'Maps', value, bad, title });
  switch (m.kind) {
    case 'saved':
      return row(`saved · ${formatCount(m.files)} files, ${formatBytes(m.bytes)}`, false, `the final maps are in the scan folder (maps/${m.methods.length ? `: ${m.methods.join(', ')}` : ''})`);
    case 'error':
      return row(clip(`not saved: ${m.error}`), true, clip(`maps not saved: ${m.error}; \`gemxrf scan export\` makes them from the recording`, 1000));
    case 'pending':
      return row('saving…', false, 'waiting for the maps-saved event');
    case 'off':
      return row('not saved (storage.saveMaps off)', false, 'storage.saveMaps was false for this scan');
    case 'absent':
      return row('not in the scan folder', false, 'the scan folder has no maps/index.json (yet)');
    default:
      return row('–', false, 'not known');
  }
}

/** A compact line of the formation rejections: only the non-zero counters, 'none' when all are zero. */
export function rejectionSummary(f: FormationBlock): { text: string; bad: boolean } {
  const parts: string[] = [];
  const add = (n: number, one: string, many = one) => {
    if (n > 0) parts.push(`${formatCount(n)} ${n === 1 ? one : many}`);
  };
  add(num(f.xOnly) + num(f.yOnly), 'unpaired');
  add(num(f.tooWide), 'too wide');
  add(num(f.tooLong), 'too long');
  add(num(f.ratio), 'ratio');
  add(num(f.hitsLate), 'late hit', 'late hits');
  add(num(f.hitsBadPlane) + num(f.hitsBadStrip), 'bad hit', 'bad hits');
  add(num(f.clockResets), 'clock reset', 'clock resets');
  return { text: parts.length ? parts.join(' · ') : 'none', bad: positive(f.hitsLate) || positive(f.hitsBadPlane) || positive(f.hitsBadStrip) || positive(f.clockResets) };
}

/** The summary rows of a scan record (null: no record). Keys are stable for a given record, so repeated
 *  messages only change text. */
export function lastScanRows(r: ScanRecordDoc | null | undefined, maps: MapsOutcome = { kind: 'unknown' }): Row[] | null {
  if (!r || typeof r !== 'object' || typeof r.id !== 'string') return null;
  const t: Partial<ScanTotalsDoc> = r.totals && typeof r.totals === 'object' ? r.totals : {};
  const status = str(r.status) || '–';
  const reasonKey = str(r.stopReason);
  const reason = reasonKey ? (REASONS[reasonKey] ?? clip(reasonKey, 40)) : '';
  const errors = splitRecordError(r.error);
  const name = str(r.name);
  const rows: Row[] = [
    {
      key: 'scan',
      label: 'Scan',
      value: clip(r.id, 120),
      bad: false,
      title: clip(`${name ? `"${name}", ` : ''}started ${str(r.startedAt) || '–'}, stopped ${str(r.stoppedAt) || '–'}`, 1000),
    },
    {
      key: 'status',
      label: 'Status',
      value: reason ? `${status} · ${reason}` : status,
      bad: status !== 'completed' || reasonKey === 'disk',
      title: `status ${status}${reasonKey ? `, stop reason "${clip(reasonKey, 40)}"` : ''}`,
    },
    { key: 'duration', label: 'Duration', value: formatDuration(num(t.durationS)), bad: false, title: 'from the start to the stop' },
    {
      key: 'events',
      label: 'Events',
      value: formatCount(num(t.events)),
      bad: false,
      title: `${formatCount(num(t.events))} events in the cube of ${formatCount(num(t.eventsIn))} taken in; ${formatBytes(num(t.bytesRecorded))} recorded`,
    },
    { key: 'rate', label: 'Mean rate', value: `${formatValue(num(t.meanRate))} /s`, bad: false, title: 'events ÷ duration' },
    {
      key: 'lost',
      label: 'Lost / CRC',
      value: `${formatCount(num(t.framesLost))} / ${formatCount(num(t.crcErrors))}`,
      bad: positive(t.framesLost) || positive(t.crcErrors),
      title: `${formatCount(num(t.framesLost))} frames lost, ${formatCount(num(t.crcErrors))} CRC errors, ${formatCount(num(t.framesOk))} frames ok`,
    },
  ];
  const f = t.formation;
  if (f && typeof f === 'object') {
    const eff = formationEfficiency(f);
    const rej = rejectionSummary(f);
    const detail = (formationRows(f) ?? []).map((x) => `${x.label}: ${x.value}`).join('\n');
    rows.push(
      { key: 'paired', label: 'Clusters paired', value: eff === null ? '–' : formatPercent(eff), bad: false, title: `event formation (events ÷ mean of X and Y clusters)\n${detail}` },
      { key: 'rejected', label: 'Rejected', value: rej.text, bad: rej.bad, title: detail },
    );
  }
  const g = t.gemroc;
  if (g && typeof g === 'object') {
    const lost = num(g.packetsLost);
    const restarts = num(g.boardRestarts);
    const detail = (gemrocRows(g) ?? []).map((x) => `${x.label}: ${x.value}`).join('\n');
    rows.push({
      key: 'gemroc',
      label: 'Packets lost',
      value: `${formatCount(lost)} of ${formatCount(num(g.packets))} · ${formatCount(restarts)} ${restarts === 1 ? 'restart' : 'restarts'}`,
      bad: lost > 0 || restarts > 0 || positive(g.badPackets),
      title: `gemroc packets and board restarts\n${detail}`,
    });
  }
  rows.push(mapsRow(maps));
  if (errors.scan !== null) rows.push({ key: 'error', label: 'Error', value: clip(errors.scan), bad: true, title: clip(errors.scan, 1000) });
  return rows;
}

const ACTIVE = new Set(['starting', 'acquiring', 'stopping']);

/**
 * Which record the summary shows, from the retained `state`, the events and the records the page fetched
 * (`scan/get`). Shown only while no scan is starting/acquiring/stopping and the record is the state's
 * `lastScan`; a `scan-deleted` for it, or `lastScan` null, drops it.
 */
export class LastScanTracker {
  record: ScanRecordDoc | null = null;
  maps: MapsOutcome = { kind: 'unknown' };
  private active = false;
  /** The state's lastScan; undefined until the first state document. */
  private lastId: string | null | undefined = undefined;
  /** A maps outcome that came before its record (the event for a scan whose record is still being fetched). */
  private early: { id: string; maps: MapsOutcome } | null = null;

  onState(s: { state?: unknown; scan?: unknown; lastScan?: unknown }): void {
    this.active = (s.scan !== null && s.scan !== undefined) || ACTIVE.has(str(s.state));
    this.lastId = typeof s.lastScan === 'string' && s.lastScan ? s.lastScan : null;
    if (this.lastId === null) this.drop();
  }

  onEvent(e: Record<string, unknown>): void {
    const type = str(e.type);
    if (type === 'scan-started') {
      this.active = true;
      return;
    }
    if (type === 'scan-stopped' || type === 'scan-error') {
      const rec = e.scan as ScanRecordDoc | null | undefined;
      if (!rec || typeof rec !== 'object' || typeof rec.id !== 'string' || rec.status === 'acquiring') return;
      this.active = false;
      this.lastId = rec.id;
      const fromRecord = mapsFromRecord(rec);
      this.take(rec, fromRecord.kind === 'unknown' ? { kind: 'pending' } : fromRecord);
      return;
    }
    const id = str(e.scan);
    if (type === 'scan-deleted') {
      if (id && this.record?.id === id) this.drop();
      return;
    }
    const m = mapsFromEvent(e);
    if (m && id) {
      if (this.record?.id === id) this.maps = m;
      else this.early = { id, maps: m };
    }
  }

  /** A record fetched with scan/get: kept if it is still the last scan. Its maps: an outcome already seen
   *  (event) wins over what the record says. */
  onRecord(r: ScanRecordDoc): void {
    if (!r || typeof r !== 'object' || typeof r.id !== 'string' || r.id !== this.lastId) return;
    const fromRecord = mapsFromRecord(r);
    const known = this.record?.id === r.id && this.maps.kind !== 'unknown' && this.maps.kind !== 'absent' ? this.maps : null;
    this.take(r, fromRecord.kind === 'error' ? fromRecord : (known ?? fromRecord));
  }

  /** The scan folder's listing, for a record whose maps outcome is not known from an event or the record. */
  onFiles(id: string, files: Array<{ path?: unknown; size?: unknown }>): void {
    if (this.record?.id !== id || this.maps.kind !== 'unknown') return;
    this.maps = mapsFromFiles(files);
  }

  /** The scan id to fetch with scan/get (the state names a last scan the page has no record of), or null. */
  wanted(): string | null {
    return !this.active && this.lastId && this.record?.id !== this.lastId ? this.lastId : null;
  }

  /** Whether the record's maps outcome must be looked up in its folder's listing. */
  needsFiles(): string | null {
    return this.visible() && this.maps.kind === 'unknown' ? this.record!.id : null;
  }

  visible(): boolean {
    return !this.active && this.record !== null && this.record.id === this.lastId;
  }

  /** The rows to show, or null (hidden). */
  rows(): Row[] | null {
    return this.visible() ? lastScanRows(this.record, this.maps) : null;
  }

  private take(r: ScanRecordDoc, maps: MapsOutcome): void {
    this.record = r;
    this.maps = maps;
    if (this.early?.id === r.id) {
      if (maps.kind !== 'error' || this.early.maps.kind === 'error') this.maps = this.early.maps;
      this.early = null;
    }
  }

  private drop(): void {
    this.record = null;
    this.maps = { kind: 'unknown' };
  }
}
