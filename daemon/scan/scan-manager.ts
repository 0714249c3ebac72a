// The scan lifecycle: idle -> starting -> acquiring -> stopping -> idle, plus error; one scan at a time.
// The manager owns the current Acquisition, the stop conditions (manual, duration, total counts), the
// checkpoint cadence and the scan's database row. It emits 'state' on every transition and 'event' for the
// operator-facing scan events (started, stopped, error). With a DiskSpace (the daemon's), storage.minFreeGB
// guards the data directory: scan/start is refused below it, and a scan acquiring when a sample (every few
// seconds, off the data path) falls below it is stopped with reason 'disk', like a manual stop: the recording
// is closed and the final checkpoint written while the margin still holds them.
import { EventEmitter } from 'node:events';
import { redactSecrets } from '../../config/redact.js';
import { mkdirSync } from 'node:fs';
import { relative } from 'node:path';
import type { GemxrfConfig } from '../../config/index.js';
import type { GemrocSummary } from '../../drivers/codecs/gemroc-decode.js';
import type { Cube } from '../../pipelines/cube/cube.js';
import type { FormationCounters } from '../../pipelines/formation/event-former.js';
import type { Logger } from '../log.js';
import type { ScanDb, ScanRecord, ScanTotals, StopCondition } from '../storage/db.js';
import { formatBytes, GIB, type DiskSpace, type FreeSpace } from '../storage/disk-space.js';
import { makeScanId, scanDir, scanNameProblem } from '../storage/scan-names.js';
import { Acquisition, RAW_FILE } from './acquisition.js';

export type ScanState = 'idle' | 'starting' | 'acquiring' | 'stopping' | 'error';

/** Why a scan stopped (the record's stopReason, the scan-stopped event's reason); 'error' is fail()'s. */
export type StopReason = 'manual' | 'duration' | 'counts' | 'shutdown' | 'disk';

export interface StartRequest {
  name: string;
  durationS?: number;
  counts?: number;
  notes?: string;
  operator?: string;
}

export class ScanRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScanRefused';
  }
}

export interface LiveScan {
  record: ScanRecord;
  acquisition: Acquisition;
  startedMs: number;
  checkpoints: number;
  lastCheckpointOffset: number;
}

export interface ScanProgress {
  id: string;
  name: string;
  elapsedS: number;
  remainingS: number | null;
  events: number;
  targetCounts: number | null;
  bytesRecorded: number;
  framesOk: number;
  framesLost: number;
  crcErrors: number;
  checkpoints: number;
  /** gemroc-udp sources: packets, hits, losses and restarts per board (framesLost includes packetsLost); else null. */
  gemroc: GemrocSummary | null;
  /** Hits-level streams (gemx HITS frames, gemroc-udp): event formation's counters; null for events-level. */
  formation: FormationCounters | null;
}

export class ScanManager extends EventEmitter {
  state: ScanState = 'idle';
  lastError: string | null = null;
  current: LiveScan | null = null;
  /** The cube of the running scan, or of the last one (maps stay visible after a stop). */
  lastCube: Cube | null = null;
  lastScanId: string | null = null;
  private durationTimer: NodeJS.Timeout | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private stopping: Promise<ScanRecord> | null = null;
  /** A failure being wound up (fail()): the shutdown waits for it like for a stop. */
  private failing: Promise<void> | null = null;
  /** Set by close() when the daemon shuts down: no scan starts after that. */
  private closed = false;

  constructor(
    private readonly config: GemxrfConfig,
    private readonly dataDir: string,
    private readonly db: ScanDb,
    private readonly log: Logger,
    private readonly sourceUrl: () => string,
    /** The data directory's free space; null: no storage.minFreeGB guard. */
    private readonly disk: DiskSpace | null = null,
  ) {
    super();
  }

  /** storage.minFreeGB in bytes (0: no guard). */
  get minFreeBytes(): number {
    return Math.round(this.config.storage.minFreeGB * GIB);
  }

  private refuseIfBusy(): void {
    if (this.closed) throw new ScanRefused('the daemon is shutting down');
    if (this.state === 'acquiring' || this.state === 'starting' || this.state === 'stopping')
      throw new ScanRefused(`a scan is already ${this.state} (${this.current?.record.id ?? '?'}); stop it first`);
  }

  /** Refuses a start when the data directory has less than storage.minFreeGB free (a fresh sample). */
  private async refuseIfLowSpace(): Promise<void> {
    const min = this.minFreeBytes;
    if (!this.disk || min <= 0) return;
    const s = await this.disk.sample(true);
    // statfs failing says nothing about the space; the writes themselves will tell.
    if (s && s.freeBytes < min)
      throw new ScanRefused(
        `only ${formatBytes(s.freeBytes)} free in the data directory ${this.dataDir} (of ${formatBytes(s.totalBytes)}), below storage.minFreeGB ` +
          `(${this.config.storage.minFreeGB} GiB): delete scans (gemxrf scan delete ID --yes) or lower storage.minFreeGB`,
      );
  }

  /** A free-space sample (the daemon's timer): a scan acquiring below storage.minFreeGB is stopped ('disk'). */
  onFreeSpace(s: FreeSpace | null): void {
    const min = this.minFreeBytes;
    if (!s || min <= 0 || this.state !== 'acquiring' || !this.current) return;
    if (s.freeBytes >= min) return;
    this.log.warn('free space in the data directory below storage.minFreeGB: stopping the scan', {
      scan: this.current.record.id, free: formatBytes(s.freeBytes), minFreeGB: this.config.storage.minFreeGB,
    });
    void this.stop('disk').catch(() => undefined);
  }

  /** A scan was deleted: the maps of the last scan stop showing it (live/maps, pixel/get). */
  forget(id: string): void {
    if (this.lastScanId !== id || this.current?.record.id === id) return;
    this.lastScanId = null;
    this.lastCube = null;
  }

  private setState(s: ScanState): void {
    this.state = s;
    this.emit('state', s);
  }

  /** Validates, creates the scan folder, recording and row, and starts acquiring. Refuses while busy. */
  async start(req: StartRequest): Promise<ScanRecord> {
    this.refuseIfBusy();
    const problem = scanNameProblem(req.name);
    if (problem) throw new ScanRefused(problem);
    if (this.disk && this.minFreeBytes > 0) {
      await this.refuseIfLowSpace();
      // Another start (or the shutdown) may have come while statfs ran.
      this.refuseIfBusy();
    }
    this.setState('starting');
    let acquisition: Acquisition | null = null;
    let inserted: string | null = null;
    try {
      const at = new Date();
      let id = makeScanId(req.name, at);
      for (let k = 2; this.db.scanExists(id); k++) id = `${makeScanId(req.name, at)}-${k}`;
      const dir = scanDir(this.dataDir, id);
      mkdirSync(dir, { recursive: true });
      const stopCondition: StopCondition = {};
      if (req.durationS !== undefined) stopCondition.durationS = req.durationS;
      if (req.counts !== undefined) stopCondition.counts = req.counts;
      const record: ScanRecord = {
        id, name: req.name, notes: req.notes ?? '', operator: req.operator ?? '', status: 'acquiring', stopCondition,
        stopReason: null, startedAt: at.toISOString(), stoppedAt: null, totals: null, error: null,
        dir: relative(this.dataDir, dir), config: redactSecrets(this.config),
      };
      acquisition = new Acquisition(dir, this.config, { scanId: id, name: req.name, source: this.sourceUrl() });
      this.db.insertScan(record);
      inserted = id;
      this.db.addRecording(id, RAW_FILE, acquisition.streamFormat);
      this.current = { record, acquisition, startedMs: Date.now(), checkpoints: 0, lastCheckpointOffset: 0 };
      this.lastCube = acquisition.cube;
      this.lastScanId = id;
      this.lastError = null;
      if (req.durationS !== undefined) this.durationTimer = setTimeout(() => void this.stop('duration').catch(() => undefined), req.durationS * 1000);
      this.checkpointTimer = setInterval(() => void this.checkpoint(), this.config.storage.checkpointSeconds * 1000);
      this.setState('acquiring');
      this.log.info('scan started', { scan: id, name: req.name, duration: req.durationS, counts: req.counts, dir });
      this.emit('event', { type: 'scan-started', scan: record });
      return record;
    } catch (e) {
      const msg = `cannot start scan: ${(e as Error).message}`;
      // Undo what was done: the recording is closed (its fd and flush timer), the row is not left 'acquiring'
      // (the next start would "recover" a scan that never ran).
      this.clearTimers();
      this.current = null;
      if (acquisition) await acquisition.close().catch(() => undefined);
      if (inserted) {
        try {
          this.db.finishScan(inserted, { status: 'error', stopReason: 'error', stoppedAt: new Date().toISOString(), totals: null, error: msg });
        } catch {
          // the database is what failed: the row stays, and the next start's recovery settles it
        }
      }
      this.lastError = msg;
      this.log.error(msg);
      this.setState('error');
      this.emit('event', { type: 'scan-error', error: msg });
      throw new ScanRefused(msg);
    }
  }

  /** Bytes from the detector link: recorded and processed while acquiring, ignored otherwise. */
  onChunk(chunk: Uint8Array): void {
    const cur = this.current;
    if (!cur || this.state !== 'acquiring') return;
    try {
      cur.acquisition.push(chunk);
    } catch (e) {
      void this.fail(`recording failed: ${(e as Error).message}`);
      return;
    }
    const target = cur.record.stopCondition.counts;
    if (target !== undefined && cur.acquisition.cube.totalEvents >= target) void this.stop('counts').catch(() => undefined);
  }

  async checkpoint(): Promise<void> {
    const cur = this.current;
    if (!cur || this.state !== 'acquiring') return;
    try {
      const r = await cur.acquisition.checkpoint();
      if (this.current !== cur) return;
      this.db.addCheckpoint({ scanId: cur.record.id, file: r.file, recordingOffset: r.recordingOffset, events: r.events, createdAt: new Date().toISOString() });
      cur.checkpoints++;
      cur.lastCheckpointOffset = r.recordingOffset;
      this.log.debug('checkpoint', { scan: cur.record.id, offset: r.recordingOffset, events: r.events });
    } catch (e) {
      await this.fail(`checkpoint failed: ${(e as Error).message}`);
    }
  }

  progress(): ScanProgress | null {
    const cur = this.current;
    if (!cur) return null;
    const elapsedS = (Date.now() - cur.startedMs) / 1000;
    const d = cur.record.stopCondition.durationS;
    const c = cur.acquisition.counters;
    const g = cur.acquisition.gemroc();
    return {
      id: cur.record.id,
      name: cur.record.name,
      elapsedS,
      remainingS: d === undefined ? null : Math.max(0, d - elapsedS),
      events: cur.acquisition.cube.totalEvents,
      targetCounts: cur.record.stopCondition.counts ?? null,
      bytesRecorded: cur.acquisition.recordedBytes,
      framesOk: c.framesOk,
      framesLost: c.framesLost + (g?.packetsLost ?? 0),
      crcErrors: c.crcErrors,
      checkpoints: cur.checkpoints,
      gemroc: g,
      formation: cur.acquisition.formation(),
    };
  }

  private totals(cur: LiveScan): ScanTotals {
    const durationS = (Date.now() - cur.startedMs) / 1000;
    const c = cur.acquisition.counters;
    const k = cur.acquisition.cube.counters();
    const g = cur.acquisition.gemroc();
    const f = cur.acquisition.formation();
    return {
      events: k.eventsAdded, eventsIn: k.eventsIn, bytesRecorded: cur.acquisition.recordedBytes, framesOk: c.framesOk,
      framesLost: c.framesLost + (g?.packetsLost ?? 0), crcErrors: c.crcErrors, durationS, meanRate: durationS > 0 ? k.eventsAdded / durationS : 0,
      ...(g ? { gemroc: g } : {}),
      ...(f ? { formation: f } : {}),
    };
  }

  private clearTimers(): void {
    if (this.durationTimer) clearTimeout(this.durationTimer);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    this.durationTimer = this.checkpointTimer = null;
  }

  /** Stops the running scan: closes the recording, writes the final checkpoint, completes the row. */
  stop(reason: StopReason): Promise<ScanRecord> {
    if (this.stopping) return this.stopping;
    const cur = this.current;
    if (!cur || this.state !== 'acquiring') return Promise.reject(new ScanRefused(`no scan is acquiring (state ${this.state})`));
    this.clearTimers();
    this.setState('stopping');
    const run = async (): Promise<ScanRecord> => {
      let error: string | null = null;
      try {
        await cur.acquisition.close();
        const r = await cur.acquisition.finalCheckpoint();
        this.db.addCheckpoint({ scanId: cur.record.id, file: r.file, recordingOffset: r.recordingOffset, events: r.events, createdAt: new Date().toISOString() });
      } catch (e) {
        error = (e as Error).message;
      }
      const totals = this.totals(cur);
      const stoppedAt = new Date().toISOString();
      let record: ScanRecord;
      try {
        this.db.setRecordingBytes(cur.record.id, RAW_FILE, totals.bytesRecorded);
        this.db.finishScan(cur.record.id, { status: error ? 'error' : 'completed', stopReason: reason, stoppedAt, totals, error });
        record = this.db.getScan(cur.record.id)!;
      } catch (e) {
        // The database cannot be written (disk full): the files are complete, the row stays 'acquiring' (the
        // next start recovers it). The manager must not stay 'stopping': the scan ends in error, visibly.
        const dbError = `cannot record the scan's end in the database: ${(e as Error).message}`;
        error = error ? `${error}; ${dbError}` : dbError;
        record = { ...cur.record, status: 'error', stopReason: reason, stoppedAt, totals, error };
        this.current = null;
        this.lastError = `scan ${record.id}: ${error}`;
        this.log.error('scan stopped with an error (the recording so far is kept)', { scan: record.id, error });
        this.setState('error');
        this.emit('event', { type: 'scan-error', scan: record, error });
        throw new Error(error);
      }
      this.current = null;
      if (error) {
        this.lastError = `scan ${record.id}: ${error}`;
        this.log.error('scan stopped with an error (the recording so far is kept)', { scan: record.id, error });
        this.setState('error');
        this.emit('event', { type: 'scan-error', scan: record, error });
      } else {
        this.log.info('scan stopped', { scan: record.id, reason, events: totals.events, bytes: totals.bytesRecorded, seconds: totals.durationS.toFixed(1) });
        this.setState('idle');
        this.emit('event', { type: 'scan-stopped', scan: record, reason });
      }
      return record;
    };
    this.stopping = run().finally(() => {
      this.stopping = null;
    });
    return this.stopping;
  }

  /** A failure while acquiring (disk full, unwritable folder): the scan ends in 'error', the daemon lives on. */
  private fail(message: string): Promise<void> {
    const cur = this.current;
    if (!cur || this.state !== 'acquiring') return this.failing ?? Promise.resolve();
    this.clearTimers();
    this.setState('stopping');
    this.lastError = `scan ${cur.record.id}: ${message}`;
    this.log.error('scan failed; recording closed, what was written is kept', { scan: cur.record.id, error: message });
    // Never rejects: it runs from a chunk or a timer, where a rejection would end the process.
    const run = async (): Promise<void> => {
      await cur.acquisition.close().catch(() => undefined);
      const stoppedAt = new Date().toISOString();
      const totals = this.totals(cur);
      let record: ScanRecord = { ...cur.record, status: 'error', stopReason: 'error', stoppedAt, totals, error: message };
      try {
        this.db.finishScan(cur.record.id, { status: 'error', stopReason: 'error', stoppedAt, totals, error: message });
        record = this.db.getScan(cur.record.id) ?? record;
      } catch (e) {
        // Disk full takes the database too: the row stays 'acquiring' and the next start recovers the scan.
        this.log.error('cannot record the scan failure in the database', { scan: cur.record.id, error: (e as Error).message });
      }
      this.current = null;
      this.setState('error');
      this.emit('event', { type: 'scan-error', scan: record, error: message });
    };
    this.failing = run().finally(() => {
      this.failing = null;
    });
    return this.failing;
  }

  /** Waits until a stop or failure in progress is wound up (the scan's files and row are final). */
  async settled(): Promise<void> {
    while (this.stopping || this.failing) await (this.stopping ?? this.failing)!.then(() => undefined, () => undefined);
  }

  /** The daemon shuts down: refuses new scans, and stops the running one (reason 'shutdown') or waits for the
   *  stop or failure already in progress. Never rejects. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.state === 'acquiring') await this.stop('shutdown').catch((e: Error) => this.log.error('stopping the scan failed', { error: e.message }));
    await this.settled();
  }
}
