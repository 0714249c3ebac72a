// `gemxrf calibrate --record` stores the calibration in the data directory's gemxrf.db, `--history` lists
// the stored ones newest first with the gain drift; real CLI runs (child processes) on real SQLite files,
// scans simulated with a known gain (and a pedestal for the multi-line fit), as in
// test/pipelines/maps/calibrate*.test.ts. A gemxrf.db made by the schema before the history columns is
// migrated in place and keeps its rows.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { configSchema } from '../../config/schema.js';
import { encodeEventsFrames } from '../../drivers/codecs/gemx-encode.js';
import { RecordingWriter } from '../../drivers/file/recording-writer.js';
import { ScanDb, SCHEMA_VERSION } from '../../daemon/storage/db.js';
import { EventGenerator, type EventGeneratorOptions } from '../../simulator/generators/events.js';
import { repoRoot, runCli } from '../support/cli.js';
import { tempDir } from './helpers.js';

const SCAN_ID = '20260102-030405-Fe55_cal';
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

async function record(file: string, events: number, opts: EventGeneratorOptions): Promise<void> {
  const gen = new EventGenerator(opts);
  const config = configSchema.parse({ detector: { width: gen.width, height: gen.height } });
  const w = RecordingWriter.create(file, { instrumentId: 't', meta: { config } }, { sync: false });
  let seq = 0;
  for (let i = 0; i < events / 50_000; i++) for (const f of encodeEventsFrames(seq, gen.next(50_000))) (w.append(f), seq++);
  await w.close();
}

/** The version-1 schema exactly as gemxrf created it before the calibration history (migration 1). */
const SCHEMA_V1 = `CREATE TABLE scans (id TEXT PRIMARY KEY, name TEXT NOT NULL, notes TEXT NOT NULL DEFAULT '', operator TEXT NOT NULL DEFAULT '',
     status TEXT NOT NULL, stop_condition TEXT NOT NULL, stop_reason TEXT, started_at TEXT NOT NULL, stopped_at TEXT, totals TEXT, error TEXT,
     dir TEXT NOT NULL, config TEXT NOT NULL);
   CREATE INDEX scans_status ON scans(status);
   CREATE TABLE recordings (id INTEGER PRIMARY KEY, scan_id TEXT NOT NULL REFERENCES scans(id), file TEXT NOT NULL, stream_format INTEGER NOT NULL,
     bytes INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
   CREATE TABLE checkpoints (id INTEGER PRIMARY KEY, scan_id TEXT NOT NULL REFERENCES scans(id), file TEXT NOT NULL, recording_offset INTEGER NOT NULL,
     events REAL NOT NULL, created_at TEXT NOT NULL);
   CREATE INDEX checkpoints_scan ON checkpoints(scan_id, id);
   CREATE TABLE calibrations (id INTEGER PRIMARY KEY, created_at TEXT NOT NULL, gain_kev_per_adc REAL NOT NULL, offset_kev REAL NOT NULL,
     quadratic_kev_per_adc2 REAL NOT NULL, gain_map_file TEXT, notes TEXT NOT NULL DEFAULT '');`;

interface MultiJson {
  calibration: { gainKeVPerAdc: number; offsetKeV: number; gainMapFile: string };
  events: number;
  fit: { gainKeVPerAdc: number; offsetKeV: number; quadraticKeVPerAdc2: number; gainErrorKeVPerAdc: number; offsetErrorKeV: number; quadraticErrorKeVPerAdc2: number; chi2: number; dof: number };
  lines: Array<{ label: string; lineKeV: number; peakAdc: number; peakAdcError: number; residualEv: number; peakErrorEv: number; fittedKeV: number; net: number }>;
  recorded: { id: number; database: string; createdAt: string; sourceFile: string; scanId: string | null; gainMapFile: string; softwareVersion: string };
}

interface HistoryJson {
  id: number;
  createdAt: string;
  gainKeVPerAdc: number;
  gainDriftPercent: number | null;
  lines: Array<{ label: string }>;
  scanId: string | null;
  fitKind: string | null;
}

describe('gemxrf calibrate --record / --history (calibration history in gemxrf.db)', function () {
  this.timeout(120_000);
  let dir: string;
  let dataDir: string;
  let multiFile: string; // inside <dataDir>/scans/<id>/
  let cuFile: string; // a bare recording elsewhere
  let cuFile2: string; // the same detector at a higher gas gain: 2 % fewer keV per ADC

  before(async () => {
    dir = tempDir('gemxrf-cal-record-');
    dataDir = join(dir, 'data');
    mkdirSync(join(dataDir, 'scans', SCAN_ID), { recursive: true });
    multiFile = join(dataDir, 'scans', SCAN_ID, 'raw.gemx');
    cuFile = join(dir, 'cu.gemx');
    cuFile2 = join(dir, 'cu2.gemx');
    await record(multiFile, 300_000, { phantom: 'uniform:Ti,Cu,Sr', width: 20, height: 20, ratePerSecond: 1e6, seed: 21, calibration: { gainKeVPerAdc: 0.0052, offsetKeV: -0.25 } });
    await record(cuFile, 200_000, { phantom: 'uniform:Cu', width: 20, height: 20, ratePerSecond: 1e6, seed: 22, calibration: { gainKeVPerAdc: 0.0052 } });
    await record(cuFile2, 200_000, { phantom: 'uniform:Cu', width: 20, height: 20, ratePerSecond: 1e6, seed: 23, calibration: { gainKeVPerAdc: 0.0052 * 0.98 } });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--record --json: the stored row holds the printed values, the scan id, the lines and the version; works beside an open connection (the daemon)', () => {
    // The daemon holds gemxrf.db open (WAL) while an operator calibrates.
    const daemonDb = new ScanDb(join(dataDir, 'gemxrf.db'));
    try {
      const out = join(dir, 'multi.gain.npy');
      const r = runCli(['calibrate', '--from', multiFile, '--line', 'Ti-Ka,Cu-Ka,Sr-Ka', '--quadratic', '--out', out, '--json', '-q', '--record', '--note', 'after gas change', '--data-dir', dataDir]);
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout) as MultiJson;
      assert.equal(j.recorded.database, join(resolve(dataDir), 'gemxrf.db'));
      assert.equal(j.recorded.scanId, SCAN_ID);
      assert.equal(j.recorded.sourceFile, resolve(multiFile));
      assert.equal(j.recorded.gainMapFile, resolve(out));
      assert.equal(j.recorded.softwareVersion, `gemxrf ${version}`);

      const row = daemonDb.getCalibration(j.recorded.id);
      assert.ok(row, 'row visible to the open connection');
      assert.equal(row.createdAt, j.recorded.createdAt);
      assert.equal(row.gainKeVPerAdc, j.fit.gainKeVPerAdc);
      assert.equal(row.offsetKeV, j.fit.offsetKeV);
      assert.equal(row.quadraticKeVPerAdc2, j.fit.quadraticKeVPerAdc2);
      assert.equal(row.gainErrorKeVPerAdc, j.fit.gainErrorKeVPerAdc);
      assert.equal(row.offsetErrorKeV, j.fit.offsetErrorKeV);
      assert.equal(row.quadraticErrorKeVPerAdc2, j.fit.quadraticErrorKeVPerAdc2);
      assert.ok(row.gainErrorKeVPerAdc! > 0 && row.quadraticErrorKeVPerAdc2! > 0);
      assert.equal(row.chi2, j.fit.chi2);
      assert.equal(row.dof, j.fit.dof);
      assert.equal(row.fitKind, 'quadratic');
      assert.equal(row.events, j.events);
      assert.equal(row.blockSize, 10);
      assert.equal(row.notes, 'after gas change');
      assert.equal(row.scanId, SCAN_ID);
      assert.equal(row.sourceFile, resolve(multiFile));
      assert.equal(row.gainMapFile, resolve(out));
      assert.equal(row.softwareVersion, `gemxrf ${version}`);
      assert.deepEqual(
        row.lines.map((l) => [l.label, l.lineKeV, l.peakAdc, l.peakAdcError, l.fittedKeV, l.residualEv, l.peakErrorEv, l.net]),
        j.lines.map((l) => [l.label, l.lineKeV, l.peakAdc, l.peakAdcError, l.fittedKeV, l.residualEv, l.peakErrorEv, l.net]),
      );
      assert.deepEqual([...row.lines.map((l) => l.label)].sort(), ['Cu-Ka', 'Sr-Ka', 'Ti-Ka']);
    } finally {
      daemonDb.close();
    }
  });

  it('--record with one line (text output); storage.dataDir of the configuration, relative to the working directory as the daemon takes it', () => {
    // cwd = dir, default storage.dataDir ./data: the same directory as --data-dir above.
    const r1 = runCli(['calibrate', '--from', cuFile, '--line', 'Cu-Ka', '-q', '--record'], { cwd: dir });
    assert.equal(r1.status, 0, r1.stderr);
    assert.match(r1.stdout, new RegExp(`recorded as calibration #2 in ${join(resolve(dataDir), 'gemxrf.db').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(r1.stdout, /add to the configuration:/);
    const r2 = runCli(['calibrate', '--from', cuFile2, '--line', 'Cu-Ka', '--json', '-q', '--record'], { cwd: dir, env: { GEMXRF_STORAGE_DATA_DIR: dataDir } });
    assert.equal(r2.status, 0, r2.stderr);
    const j = JSON.parse(r2.stdout) as { gainKeVPerAdc: number; peakAdc: number; recorded: { id: number; scanId: string | null; gainMapFile: string } };
    assert.equal(j.recorded.id, 3);
    assert.equal(j.recorded.scanId, null);
    assert.equal(j.recorded.gainMapFile, resolve(join(dir, 'cu2.gain.f32')));
    const db = new ScanDb(join(dataDir, 'gemxrf.db'));
    try {
      const row = db.getCalibration(3)!;
      assert.equal(row.gainKeVPerAdc, j.gainKeVPerAdc);
      assert.equal(row.offsetKeV, 0);
      assert.equal(row.fitKind, 'gain');
      assert.equal(row.gainErrorKeVPerAdc, null);
      assert.equal(row.scanId, null);
      assert.equal(row.sourceFile, resolve(cuFile2));
      assert.equal(row.lines.length, 1);
      assert.equal(row.lines[0]!.label, 'Cu-Ka');
      assert.equal(row.lines[0]!.peakAdc, j.peakAdc);
      assert.equal(row.lines[0]!.residualEv, 0);
    } finally {
      db.close();
    }
  });

  it('--history lists them newest first with the gain drift from the one before; --limit keeps the drift of the oldest shown', () => {
    const r = runCli(['calibrate', '--history', '--json', '--data-dir', dataDir]);
    assert.equal(r.status, 0, r.stderr);
    const h = JSON.parse(r.stdout) as HistoryJson[];
    assert.deepEqual(h.map((e) => e.id), [3, 2, 1]);
    for (let i = 0; i + 1 < h.length; i++) assert.ok(h[i]!.createdAt >= h[i + 1]!.createdAt);
    assert.equal(h[2]!.gainDriftPercent, null);
    for (const i of [0, 1]) assert.ok(Math.abs(h[i]!.gainDriftPercent! - (100 * (h[i]!.gainKeVPerAdc - h[i + 1]!.gainKeVPerAdc)) / h[i + 1]!.gainKeVPerAdc) < 1e-9);
    // cu2 was simulated at 2 % fewer keV per ADC than cu.
    assert.ok(Math.abs(h[0]!.gainDriftPercent! + 2) < 0.5, `drift ${h[0]!.gainDriftPercent} %`);
    assert.deepEqual([...h[2]!.lines.map((l) => l.label)].sort(), ['Cu-Ka', 'Sr-Ka', 'Ti-Ka']);

    const one = JSON.parse(runCli(['calibrate', '--history', '--json', '--limit', '1', '--data-dir', dataDir]).stdout) as HistoryJson[];
    assert.equal(one.length, 1);
    assert.equal(one[0]!.gainDriftPercent, h[0]!.gainDriftPercent);

    const text = runCli(['calibrate', '--history', '--data-dir', dataDir]);
    assert.equal(text.status, 0, text.stderr);
    const lines = text.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^id\s+date \(UTC\)\s+gain keV\/ADC\s+drift\s+offset keV\s+fit\s+lines\s+source$/);
    assert.match(lines[1]!, /^#3\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+0\.00\d+\s+-[12]\.\d\d %\s+0 \(fixed\)\s+gain\s+Cu-Ka\s+\/.*cu2\.gemx$/);
    assert.match(lines[2]!, /^#2\s.*\s[+-]\d+\.\d\d %\s.*\sCu-Ka\s/);
    assert.match(lines[3]!, new RegExp(`^#1\\s.*\\s0\\.00\\d+ ± \\S+\\s+-\\s+-0\\.\\d{4} ± 0\\.\\d{4}\\s+quadratic\\s+.*Cu-Ka.*\\s+scan ${SCAN_ID}$`));
  });

  it('migrates a gemxrf.db from before the history columns: old rows stay and are listed, new ones recorded', () => {
    const old = join(dir, 'old-data');
    mkdirSync(old);
    const file = join(old, 'gemxrf.db');
    const raw = new Database(file);
    raw.pragma('journal_mode = WAL');
    raw.exec(SCHEMA_V1);
    raw.pragma('user_version = 1');
    raw.prepare("INSERT INTO scans (id, name, status, stop_condition, started_at, dir, config) VALUES ('20250101-000000-old', 'old', 'completed', '{}', '2025-01-01T00:00:00.000Z', 'scans/20250101-000000-old', '{}')").run();
    raw.prepare("INSERT INTO calibrations (created_at, gain_kev_per_adc, offset_kev, quadratic_kev_per_adc2, gain_map_file, notes) VALUES ('2025-01-01T00:00:00.000Z', 0.0053, 0, 0, '/srv/xrf/gain.npy', 'by hand')").run();
    raw.close();

    const before = runCli(['calibrate', '--history', '--json', '--data-dir', old]);
    assert.equal(before.status, 0, before.stderr);
    const h0 = JSON.parse(before.stdout) as HistoryJson[];
    assert.equal(h0.length, 1);
    assert.deepEqual(h0[0]!.lines, []);
    assert.equal(h0[0]!.fitKind, null);

    const r = runCli(['calibrate', '--from', cuFile, '--line', 'Cu-Ka', '--out', join(dir, 'old.gain.f32'), '--json', '-q', '--record', '--data-dir', old]);
    assert.equal(r.status, 0, r.stderr);
    const text = runCli(['calibrate', '--history', '--data-dir', old]);
    assert.equal(text.status, 0, text.stderr);
    const lines = text.stdout.trimEnd().split('\n');
    assert.match(lines[1]!, /^#2\s.*\s[+-]\d+\.\d\d %\s.*Cu-Ka/);
    assert.match(lines[2]!, /^#1\s+2025-01-01 00:00:00Z\s+0\.005300000\s+-\s+0\.0000\s+-\s+-\s+-$/);

    const db = new ScanDb(file);
    try {
      assert.equal(db.schemaVersion, SCHEMA_VERSION);
      assert.equal(db.getScan('20250101-000000-old')?.name, 'old');
      const kept = db.getCalibration(1)!;
      assert.equal(kept.gainKeVPerAdc, 0.0053);
      assert.equal(kept.gainMapFile, '/srv/xrf/gain.npy');
      assert.equal(kept.notes, 'by hand');
      assert.equal(kept.sourceFile, null);
      assert.equal(db.listCalibrations().length, 2);
    } finally {
      db.close();
    }
  });

  it('errors are one line naming the path and the reason, with a non-zero exit; a bad database fails before the recording is read', () => {
    const oneLine = (r: { status: number | null; stderr: string }, re: RegExp) => {
      assert.notEqual(r.status, 0);
      assert.match(r.stderr.trim(), /^gemxrf: [^\n]*$/);
      assert.match(r.stderr, re);
    };
    const missing = join(dir, 'no-such-data');
    const out = join(dir, 'bad.gain.f32');
    oneLine(runCli(['calibrate', '--from', cuFile, '--line', 'Cu-Ka', '-q', '--record', '--out', out, '--data-dir', missing]), new RegExp(`data directory ${missing} does not exist`));
    assert.ok(!existsSync(missing), '--record does not create a data directory');
    oneLine(runCli(['calibrate', '--history', '--data-dir', missing]), /does not exist/);
    oneLine(runCli(['calibrate', '--history', '--data-dir', cuFile]), /data directory .*cu\.gemx is not a directory/);

    const garbage = join(dir, 'garbage');
    mkdirSync(garbage);
    writeFileSync(join(garbage, 'gemxrf.db'), 'not sqlite at all '.repeat(100));
    oneLine(runCli(['calibrate', '--from', cuFile, '--line', 'Cu-Ka', '-q', '--record', '--out', out, '--data-dir', garbage]), /garbage\/gemxrf\.db.*not a database/);
    oneLine(runCli(['calibrate', '--history', '--data-dir', garbage]), /garbage\/gemxrf\.db.*not a database/);

    const dirDb = join(dir, 'dir-db');
    mkdirSync(join(dirDb, 'gemxrf.db'), { recursive: true });
    oneLine(runCli(['calibrate', '--from', cuFile, '--line', 'Cu-Ka', '-q', '--record', '--out', out, '--data-dir', dirDb]), /dir-db\/gemxrf\.db/);

    const newer = join(dir, 'newer');
    mkdirSync(newer);
    const raw = new Database(join(newer, 'gemxrf.db'));
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    oneLine(runCli(['calibrate', '--from', cuFile, '--line', 'Cu-Ka', '-q', '--record', '--out', out, '--data-dir', newer]), /newer\/gemxrf\.db.*newer than this gemxrf/);
    assert.ok(!existsSync(out), 'no gain map written: the database was refused first');

    oneLine(runCli(['calibrate', '--history', '--from', cuFile, '--data-dir', dataDir]), /--history .* takes no --from/);
    oneLine(runCli(['calibrate', '--history', '--limit', '0', '--data-dir', dataDir]), /--limit: must be >= 1/);
    oneLine(runCli(['calibrate', '--line', 'Cu-Ka']), /--from/);
    oneLine(runCli(['calibrate', '--from', cuFile, '--line', 'Cu-Ka', '--note', 'x']), /--note goes with --record/);

    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const none = runCli(['calibrate', '--history', '--data-dir', empty]);
    assert.equal(none.status, 0, none.stderr);
    assert.match(none.stdout, /no calibrations recorded/);
    assert.ok(!existsSync(join(empty, 'gemxrf.db')), '--history creates no database');
    assert.equal(runCli(['calibrate', '--history', '--json', '--data-dir', empty]).stdout.trim(), '[]');
  });
});
