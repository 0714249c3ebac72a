// Header badges (daemon availability, scan state, MQTT link) and the acquisition figures from `state`
// (retained, every second) and `live/stats` (1 Hz).
import { byId, setData, setText } from './dom.js';
import { formatBytes, formatCount, formatDuration, formatValue } from './format.js';

export interface StateDoc {
  instrument: string;
  state: string;
  scan: { id: string; name: string; elapsedS: number; remainingS: number | null; events: number; targetCounts: number | null; framesOk: number; framesLost: number; crcErrors: number; bytesRecorded: number } | null;
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
  }

  onStats(s: StatsDoc): void {
    if (s.state !== 'acquiring' && this.state === 'acquiring') return; // the state document is newer
    if (s.scan) this.figures(s);
    else {
      setText(this.f.rate, `${formatValue(s.eventsPerS)} /s`);
      setText(this.f.bytesRate, `${formatBytes(s.bytesPerS)}/s`);
    }
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
