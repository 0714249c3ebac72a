// Header badges (daemon availability, scan state, MQTT link) and the acquisition figures from `state`
// (retained, every second) and `live/stats` (1 Hz); below them event formation (strip-hit streams), the gemroc
// packet accounting (gemroc-udp) and the warnings of live/stats (scan-health.ts), each only while there is one.
import { byId, setData, setText } from './dom.js';
import { formatBytes, formatCount, formatDuration, formatValue } from './format.js';
import { formationRows, gemrocRows, healthWarnings, type FormationBlock, type GemrocBlock, type InferenceStats, type MapMethodStats, type Row, type Warning } from './scan-health.js';

export interface StateDoc {
  instrument: string;
  state: string;
  scan: { id: string; name: string; elapsedS: number; remainingS: number | null; events: number; targetCounts: number | null; framesOk: number; framesLost: number; crcErrors: number; bytesRecorded: number; formation?: FormationBlock | null; gemroc?: GemrocBlock | null } | null;
  lastScan: string | null;
  error: string | null;
  link: { url: string; state: string; error: string | null };
  rates: { eventsPerS: number; bytesPerS: number };
}

export interface StatsDoc {
  state: string;
  scan: string | null;
  elapsedS: number;
  remainingS: number | null;
  events: number;
  targetCounts: number | null;
  eventsPerS: number;
  bytesPerS: number;
  framesOk: number;
  framesLost: number;
  crcErrors: number;
  bytesRecorded: number;
  link: string;
  /** Strip-hit streams only, else null (older daemons: absent). */
  formation?: FormationBlock | null;
  /** gemroc-udp sources only, else null. */
  gemroc?: GemrocBlock | null;
  maps?: Record<string, MapMethodStats | null> | null;
  inference?: InferenceStats | null;
}

/** dt/dd pairs in a <dl> whose box is hidden while there are no rows. The elements are made once per set of
 *  keys (a board appearing rebuilds the list) and then only their text changes: no layout work per update. */
export class RowList {
  private keys = '';
  private readonly cells = new Map<string, { dt: HTMLElement; dd: HTMLElement }>();

  constructor(private readonly box: HTMLElement, private readonly list: HTMLElement) {}

  show(rows: Row[] | null): void {
    if (!rows) {
      if (!this.box.hidden) this.box.hidden = true;
      return;
    }
    const keys = rows.map((r) => r.key).join('\n');
    if (keys !== this.keys) {
      this.keys = keys;
      this.cells.clear();
      const els: HTMLElement[] = [];
      for (const r of rows) {
        const dt = document.createElement('dt');
        const dd = document.createElement('dd');
        dd.dataset.key = r.key;
        this.cells.set(r.key, { dt, dd });
        els.push(dt, dd);
      }
      this.list.replaceChildren(...els);
    }
    for (const r of rows) {
      const c = this.cells.get(r.key)!;
      setText(c.dt, r.label);
      setText(c.dd, r.value);
      setData(c.dd, 'bad', r.bad ? 'true' : 'false');
      if (c.dd.title !== r.title) c.dd.title = r.title;
    }
    if (this.box.hidden) this.box.hidden = false;
  }
}

/** One <p> per warning, kept by key: an unchanged warning is not touched. */
class WarningList {
  private readonly lines = new Map<string, HTMLElement>();

  constructor(private readonly box: HTMLElement) {}

  show(warnings: Warning[]): void {
    const keep = new Set(warnings.map((w) => w.key));
    for (const [key, p] of this.lines) {
      if (!keep.has(key)) {
        p.remove();
        this.lines.delete(key);
      }
    }
    let prev: HTMLElement | null = null;
    for (const w of warnings) {
      let p = this.lines.get(w.key);
      if (!p) {
        p = document.createElement('p');
        p.className = 'warning';
        p.dataset.key = w.key;
        this.lines.set(w.key, p);
      }
      setText(p, w.text);
      if (p.title !== w.text) p.title = w.text;
      // in the order given, moving only what is out of place
      const want: Element | null = prev ? prev.nextElementSibling : this.box.firstElementChild;
      if (want !== p) this.box.insertBefore(p, want);
      prev = p;
    }
    const hide = warnings.length === 0;
    if (this.box.hidden !== hide) this.box.hidden = hide;
  }
}

export class StatusPanel {
  private readonly f = {
    availability: byId('availability'),
    state: byId('scan-state'),
    connection: byId('connection'),
    connectionDetail: byId('connection-detail'),
    scan: byId('st-scan'),
    elapsed: byId('st-elapsed'),
    remaining: byId('st-remaining'),
    events: byId('st-events'),
    rate: byId('st-rate'),
    bytesRate: byId('st-bytes-rate'),
    frames: byId('st-frames'),
    lost: byId('st-lost'),
    crc: byId('st-crc'),
    recorded: byId('st-recorded'),
    link: byId('st-link'),
    error: byId('st-error'),
    bar: byId('progress-bar'),
  };
  private readonly formation = new RowList(byId('st-formation'), byId('st-formation-list'));
  private readonly gemroc = new RowList(byId('st-gemroc'), byId('st-gemroc-list'));
  private readonly warnings = new WarningList(byId('st-warnings'));
  state = 'unknown';

  connection(status: string, detail: string): void {
    setData(this.f.connection, 'value', status);
    setText(this.f.connection, `MQTT: ${status}`);
    setText(this.f.connectionDetail, detail);
  }

  availability(text: string): void {
    const v = text === 'online' || text === 'offline' ? text : 'unknown';
    setData(this.f.availability, 'value', v);
    setText(this.f.availability, `daemon: ${v}`);
  }

  onState(s: StateDoc): void {
    this.state = s.state;
    setData(this.f.state, 'value', s.state);
    setText(this.f.state, `state: ${s.state}`);
    setText(this.f.scan, s.scan?.id ?? (s.lastScan ? `last: ${s.lastScan}` : '–'));
    setText(this.f.link, `${s.link.state}${s.link.error ? ` (${s.link.error})` : ''}`);
    setText(this.f.error, s.error ?? '–');
    this.f.error.title = s.error ?? '';
    if (s.scan) this.figures({ ...s.scan, eventsPerS: s.rates.eventsPerS, bytesPerS: s.rates.bytesPerS });
    this.blocks(s.scan?.formation ?? null, s.scan?.gemroc ?? null);
  }

  onStats(s: StatsDoc): void {
    // The map methods' and the model's errors stay until the next scan's workers start (docs/mqtt.md).
    this.warnings.show(healthWarnings(s));
    if (s.state !== 'acquiring' && this.state === 'acquiring') return; // the state document is newer
    this.blocks(s.formation ?? null, s.gemroc ?? null);
    if (s.scan) this.figures(s);
    else {
      setText(this.f.rate, `${formatValue(s.eventsPerS)} /s`);
      setText(this.f.bytesRate, `${formatBytes(s.bytesPerS)}/s`);
    }
  }

  private blocks(formation: FormationBlock | null, gemroc: GemrocBlock | null): void {
    this.formation.show(formationRows(formation));
    this.gemroc.show(gemrocRows(gemroc));
  }

  private figures(s: { elapsedS: number; remainingS: number | null; events: number; targetCounts: number | null; eventsPerS: number; bytesPerS: number; framesOk: number; framesLost: number; crcErrors: number; bytesRecorded: number }): void {
    setText(this.f.elapsed, formatDuration(s.elapsedS));
    setText(this.f.remaining, s.remainingS === null ? (s.targetCounts ? `${formatCount(Math.max(0, s.targetCounts - s.events))} counts` : 'until stopped') : formatDuration(s.remainingS));
    setText(this.f.events, s.targetCounts ? `${formatCount(s.events)} / ${formatCount(s.targetCounts)}` : formatCount(s.events));
    setText(this.f.rate, `${formatValue(s.eventsPerS)} /s`);
    setText(this.f.bytesRate, `${formatBytes(s.bytesPerS)}/s`);
    setText(this.f.frames, formatCount(s.framesOk));
    setText(this.f.lost, formatCount(s.framesLost));
    setData(this.f.lost, 'bad', s.framesLost > 0 ? 'true' : 'false');
    setText(this.f.crc, formatCount(s.crcErrors));
    setText(this.f.recorded, formatBytes(s.bytesRecorded));
    const byTime = s.remainingS !== null && s.elapsedS + s.remainingS > 0 ? s.elapsedS / (s.elapsedS + s.remainingS) : 0;
    const byCounts = s.targetCounts ? s.events / s.targetCounts : 0;
    // transform, not width: no layout on update.
    this.f.bar.style.transform = `scaleX(${Math.min(1, Math.max(byTime, byCounts)).toFixed(4)})`;
  }
}
