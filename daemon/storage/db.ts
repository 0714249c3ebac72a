// gemxrf.db: the catalogue of scans, their recordings, cube checkpoints and calibrations (better-sqlite3,
// WAL, so readers never block the daemon). Schema changes are numbered migrations applied in order and
// tracked with PRAGMA user_version; a database from a newer gemxrf is refused rather than misread.
import type { GemrocSummary } from '../../drivers/codecs/gemroc-decode.js';
import type { FormationCounters } from '../../pipelines/formation/event-former.js';
import Database from 'better-sqlite3';

export type ScanStatus = 'acquiring' | 'completed' | 'interrupted' | 'error';

export interface StopCondition {
  durationS?: number;
  counts?: number;
}

export interface ScanTotals {
  events: number;
  eventsIn: number;
  bytesRecorded: number;
  framesOk: number;
  framesLost: number;
  crcErrors: number;
  durationS: number;
  meanRate: number;
  /** gemroc-udp scans: packets, hits and losses per board (framesLost then counts the packets lost). */
  gemroc?: GemrocSummary;
  /** Hits-level scans (gemx HITS frames, gemroc-udp): event formation's counters (absent for events-level). */
  formation?: FormationCounters;
}

export interface ScanRecord {
  id: string;
  name: string;
  notes: string;
  operator: string;
  status: ScanStatus;
  stopCondition: StopCondition;
  stopReason: string | null;
  startedAt: string;
  stoppedAt: string | null;
  totals: ScanTotals | null;
  error: string | null;
  /** Folder relative to the data directory (scans/<id>). */
  dir: string;
  config: unknown;
}

export interface CheckpointRecord {
  scanId: string;
  file: string;
  recordingOffset: number;
  events: number;
  createdAt: string;
}

const MIGRATIONS: string[] = [
  // 1: the initial schema.
  `CREATE TABLE scans (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     notes TEXT NOT NULL DEFAULT '',
     operator TEXT NOT NULL DEFAULT '',
     status TEXT NOT NULL,
     stop_condition TEXT NOT NULL,
     stop_reason TEXT,
     started_at TEXT NOT NULL,
     stopped_at TEXT,
     totals TEXT,
     error TEXT,
     dir TEXT NOT NULL,
     config TEXT NOT NULL
   );
   CREATE INDEX scans_status ON scans(status);
   CREATE TABLE recordings (
     id INTEGER PRIMARY KEY,
     scan_id TEXT NOT NULL REFERENCES scans(id),
     file TEXT NOT NULL,
     stream_format INTEGER NOT NULL,
     bytes INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL
   );
   CREATE TABLE checkpoints (
     id INTEGER PRIMARY KEY,
     scan_id TEXT NOT NULL REFERENCES scans(id),
     file TEXT NOT NULL,
     recording_offset INTEGER NOT NULL,
     events REAL NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE INDEX checkpoints_scan ON checkpoints(scan_id, id);
   CREATE TABLE calibrations (
     id INTEGER PRIMARY KEY,
     created_at TEXT NOT NULL,
     gain_kev_per_adc REAL NOT NULL,
     offset_kev REAL NOT NULL,
     quadratic_kev_per_adc2 REAL NOT NULL,
     gain_map_file TEXT,
     notes TEXT NOT NULL DEFAULT ''
   );`,
  // 2: the calibration history (`gemxrf calibrate --record`): where each calibration came from, the lines,
  // the fit's uncertainties and per-line residuals, the software. Columns added, so rows written before
  // (only the coefficients) stay valid with NULLs / '[]'.
  `ALTER TABLE calibrations ADD COLUMN source_file TEXT;
   ALTER TABLE calibrations ADD COLUMN scan_id TEXT;
   ALTER TABLE calibrations ADD COLUMN fit_kind TEXT;
   ALTER TABLE calibrations ADD COLUMN lines TEXT NOT NULL DEFAULT '[]';
   ALTER TABLE calibrations ADD COLUMN offset_error_kev REAL;
   ALTER TABLE calibrations ADD COLUMN gain_error_kev_per_adc REAL;
   ALTER TABLE calibrations ADD COLUMN quadratic_error_kev_per_adc2 REAL;
   ALTER TABLE calibrations ADD COLUMN chi2 REAL;
   ALTER TABLE calibrations ADD COLUMN dof INTEGER;
   ALTER TABLE calibrations ADD COLUMN events REAL;
   ALTER TABLE calibrations ADD COLUMN block_size INTEGER;
   ALTER TABLE calibrations ADD COLUMN software_version TEXT;
   CREATE INDEX calibrations_created ON calibrations(created_at, id);`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

interface ScanRow {
  id: string;
  name: string;
  notes: string;
  operator: string;
  status: ScanStatus;
  stop_condition: string;
  stop_reason: string | null;
  started_at: string;
  stopped_at: string | null;
  totals: string | null;
  error: string | null;
  dir: string;
  config: string;
}

function fromRow(r: ScanRow): ScanRecord {
  return {
    id: r.id,
    name: r.name,
    notes: r.notes,
    operator: r.operator,
    status: r.status,
    stopCondition: JSON.parse(r.stop_condition) as StopCondition,
    stopReason: r.stop_reason,
    startedAt: r.started_at,
    stoppedAt: r.stopped_at,
    totals: r.totals ? (JSON.parse(r.totals) as ScanTotals) : null,
    error: r.error,
    dir: r.dir,
    config: JSON.parse(r.config) as unknown,
  };
}

/** One line of a recorded calibration: its peak and how far the fit puts it from the model (one-line
 *  calibrations: residual 0 by construction, no peak uncertainty). */
export interface CalibrationLineRecord {
  label: string;
  lineKeV: number;
  modelPeakKeV: number;
  peakAdc: number;
  peakAdcError: number | null;
  net: number | null;
  fittedKeV: number;
  residualEv: number;
  peakErrorEv: number | null;
}

/** 'gain': one line, offset fixed at 0; 'linear': offset + gain; 'quadratic': + quadratic term. */
export type CalibrationFitKind = 'gain' | 'linear' | 'quadratic';

export interface NewCalibration {
  gainKeVPerAdc: number;
  offsetKeV: number;
  quadraticKeVPerAdc2: number;
  gainMapFile: string | null;
  notes?: string;
  /** ISO time; default now. */
  createdAt?: string;
  sourceFile?: string | null;
  scanId?: string | null;
  fitKind?: CalibrationFitKind | null;
  lines?: CalibrationLineRecord[];
  offsetErrorKeV?: number | null;
  gainErrorKeVPerAdc?: number | null;
  quadraticErrorKeVPerAdc2?: number | null;
  chi2?: number | null;
  dof?: number | null;
  events?: number | null;
  blockSize?: number | null;
  softwareVersion?: string | null;
}

export interface CalibrationRecord {
  id: number;
  createdAt: string;
  gainKeVPerAdc: number;
  offsetKeV: number;
  quadraticKeVPerAdc2: number;
  gainMapFile: string | null;
  notes: string;
  sourceFile: string | null;
  scanId: string | null;
  fitKind: CalibrationFitKind | null;
  lines: CalibrationLineRecord[];
  offsetErrorKeV: number | null;
  gainErrorKeVPerAdc: number | null;
  quadraticErrorKeVPerAdc2: number | null;
  chi2: number | null;
  dof: number | null;
  events: number | null;
  blockSize: number | null;
  softwareVersion: string | null;
}

interface CalibrationRow {
  id: number;
  created_at: string;
  gain_kev_per_adc: number;
  offset_kev: number;
  quadratic_kev_per_adc2: number;
  gain_map_file: string | null;
  notes: string;
  source_file: string | null;
  scan_id: string | null;
  fit_kind: CalibrationFitKind | null;
  lines: string;
  offset_error_kev: number | null;
  gain_error_kev_per_adc: number | null;
  quadratic_error_kev_per_adc2: number | null;
  chi2: number | null;
  dof: number | null;
  events: number | null;
  block_size: number | null;
  software_version: string | null;
}

function calibrationFromRow(r: CalibrationRow): CalibrationRecord {
  let lines: CalibrationLineRecord[] = [];
  try {
    const parsed = JSON.parse(r.lines) as unknown;
    if (Array.isArray(parsed)) lines = parsed as CalibrationLineRecord[];
  } catch {
    // A damaged lines column reads as no lines rather than failing the whole history.
  }
  return {
    id: r.id, createdAt: r.created_at, gainKeVPerAdc: r.gain_kev_per_adc, offsetKeV: r.offset_kev, quadraticKeVPerAdc2: r.quadratic_kev_per_adc2,
    gainMapFile: r.gain_map_file, notes: r.notes, sourceFile: r.source_file, scanId: r.scan_id, fitKind: r.fit_kind, lines,
    offsetErrorKeV: r.offset_error_kev, gainErrorKeVPerAdc: r.gain_error_kev_per_adc, quadraticErrorKeVPerAdc2: r.quadratic_error_kev_per_adc2,
    chi2: r.chi2, dof: r.dof, events: r.events, blockSize: r.block_size, softwareVersion: r.software_version,
  };
}

export class ScanDb {
  private readonly db: Database.Database;

  constructor(readonly file: string) {
    try {
      this.db = new Database(file);
    } catch (e) {
      throw new Error(`cannot open database ${file}: ${(e as Error).message}`);
    }
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      this.migrate();
    } catch (e) {
      // A damaged or foreign file ("file is not a database") must name itself, and not stay open.
      this.db.close();
      const msg = (e as Error).message;
      throw new Error(msg.includes(file) ? msg : `database ${file}: ${msg}`);
    }
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new Error(`database ${this.file} has schema version ${version}, newer than this gemxrf (${SCHEMA_VERSION})`);
    for (let v = version; v < SCHEMA_VERSION; v++) {
      // Each migration and its version bump commit together: a crash mid-way leaves the old version.
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  insertScan(s: ScanRecord): void {
    this.db
      .prepare(
        `INSERT INTO scans (id, name, notes, operator, status, stop_condition, stop_reason, started_at, stopped_at, totals, error, dir, config)
         VALUES (@id, @name, @notes, @operator, @status, @stop_condition, @stop_reason, @started_at, @stopped_at, @totals, @error, @dir, @config)`,
      )
      .run({
        id: s.id, name: s.name, notes: s.notes, operator: s.operator, status: s.status,
        stop_condition: JSON.stringify(s.stopCondition), stop_reason: s.stopReason, started_at: s.startedAt,
        stopped_at: s.stoppedAt, totals: s.totals ? JSON.stringify(s.totals) : null, error: s.error, dir: s.dir,
        config: JSON.stringify(s.config),
      });
  }

  finishScan(id: string, f: { status: ScanStatus; stopReason: string | null; stoppedAt: string; totals: ScanTotals | null; error?: string | null }): void {
    this.db
      .prepare('UPDATE scans SET status = ?, stop_reason = ?, stopped_at = ?, totals = ?, error = ? WHERE id = ?')
      .run(f.status, f.stopReason, f.stoppedAt, f.totals ? JSON.stringify(f.totals) : null, f.error ?? null, id);
  }

  getScan(id: string): ScanRecord | null {
    const r = this.db.prepare('SELECT * FROM scans WHERE id = ?').get(id) as ScanRow | undefined;
    return r ? fromRow(r) : null;
  }

  scanExists(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM scans WHERE id = ?').get(id) !== undefined;
  }

  /** Removes a scan's rows: its checkpoints and recordings, then the scan itself (the foreign keys have no
   *  cascade), in one transaction. False when there was no such scan. */
  deleteScan(id: string): boolean {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM checkpoints WHERE scan_id = ?').run(id);
      this.db.prepare('DELETE FROM recordings WHERE scan_id = ?').run(id);
      return this.db.prepare('DELETE FROM scans WHERE id = ?').run(id).changes > 0;
    })();
  }

  listScans(opts: { limit?: number; status?: ScanStatus } = {}): ScanRecord[] {
    const limit = opts.limit ?? 50;
    const rows = opts.status
      ? (this.db.prepare('SELECT * FROM scans WHERE status = ? ORDER BY started_at DESC, id DESC LIMIT ?').all(opts.status, limit) as ScanRow[])
      : (this.db.prepare('SELECT * FROM scans ORDER BY started_at DESC, id DESC LIMIT ?').all(limit) as ScanRow[]);
    return rows.map(fromRow);
  }

  addRecording(scanId: string, file: string, streamFormat: number): void {
    this.db.prepare('INSERT INTO recordings (scan_id, file, stream_format, created_at) VALUES (?, ?, ?, ?)').run(scanId, file, streamFormat, new Date().toISOString());
  }

  setRecordingBytes(scanId: string, file: string, bytes: number): void {
    this.db.prepare('UPDATE recordings SET bytes = ? WHERE scan_id = ? AND file = ?').run(bytes, scanId, file);
  }

  recordings(scanId: string): Array<{ file: string; streamFormat: number; bytes: number; createdAt: string }> {
    return this.db.prepare('SELECT file, stream_format AS streamFormat, bytes, created_at AS createdAt FROM recordings WHERE scan_id = ? ORDER BY id').all(scanId) as Array<{ file: string; streamFormat: number; bytes: number; createdAt: string }>;
  }

  addCheckpoint(c: CheckpointRecord): void {
    this.db.prepare('INSERT INTO checkpoints (scan_id, file, recording_offset, events, created_at) VALUES (?, ?, ?, ?, ?)').run(c.scanId, c.file, c.recordingOffset, c.events, c.createdAt);
  }

  lastCheckpoint(scanId: string): CheckpointRecord | null {
    const r = this.db
      .prepare('SELECT scan_id AS scanId, file, recording_offset AS recordingOffset, events, created_at AS createdAt FROM checkpoints WHERE scan_id = ? ORDER BY id DESC LIMIT 1')
      .get(scanId) as CheckpointRecord | undefined;
    return r ?? null;
  }

  checkpointCount(scanId: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM checkpoints WHERE scan_id = ?').get(scanId) as { n: number }).n;
  }

  /** Stores one calibration; its id. Only the coefficients are required (rows from before schema 2 had no more). */
  addCalibration(c: NewCalibration): number {
    const r = this.db
      .prepare(
        `INSERT INTO calibrations (created_at, gain_kev_per_adc, offset_kev, quadratic_kev_per_adc2, gain_map_file, notes,
           source_file, scan_id, fit_kind, lines, offset_error_kev, gain_error_kev_per_adc, quadratic_error_kev_per_adc2, chi2, dof, events, block_size, software_version)
         VALUES (@created_at, @gain, @offset, @quadratic, @gain_map_file, @notes,
           @source_file, @scan_id, @fit_kind, @lines, @offset_error, @gain_error, @quadratic_error, @chi2, @dof, @events, @block_size, @software_version)`,
      )
      .run({
        created_at: c.createdAt ?? new Date().toISOString(),
        gain: c.gainKeVPerAdc, offset: c.offsetKeV, quadratic: c.quadraticKeVPerAdc2, gain_map_file: c.gainMapFile, notes: c.notes ?? '',
        source_file: c.sourceFile ?? null, scan_id: c.scanId ?? null, fit_kind: c.fitKind ?? null, lines: JSON.stringify(c.lines ?? []),
        offset_error: c.offsetErrorKeV ?? null, gain_error: c.gainErrorKeVPerAdc ?? null, quadratic_error: c.quadraticErrorKeVPerAdc2 ?? null,
        chi2: c.chi2 ?? null, dof: c.dof ?? null, events: c.events ?? null, block_size: c.blockSize ?? null, software_version: c.softwareVersion ?? null,
      });
    return Number(r.lastInsertRowid);
  }

  /** Fails (SQLITE_READONLY, ...) when a calibration could not be written, without writing anything: lets
   *  `calibrate --record` refuse before a long read of the recording. */
  checkCalibrationsWritable(): void {
    this.db.transaction(() => this.db.prepare('DELETE FROM calibrations WHERE 0').run()).immediate();
  }

  /** Calibrations newest first (created_at, then id). */
  listCalibrations(opts: { limit?: number } = {}): CalibrationRecord[] {
    const rows = this.db.prepare('SELECT * FROM calibrations ORDER BY created_at DESC, id DESC LIMIT ?').all(opts.limit ?? -1) as CalibrationRow[];
    return rows.map(calibrationFromRow);
  }

  getCalibration(id: number): CalibrationRecord | null {
    const r = this.db.prepare('SELECT * FROM calibrations WHERE id = ?').get(id) as CalibrationRow | undefined;
    return r ? calibrationFromRow(r) : null;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
