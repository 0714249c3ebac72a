// Storage: scan names never become paths unchecked, the database migrates by user_version and refuses a
// newer schema, and an unusable data directory is a clear error at start.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { prepareDataDir, startDaemon } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';
import { ScanDb, SCHEMA_VERSION } from '../../daemon/storage/db.js';
import { makeScanId, scanDir, scanNameProblem } from '../../daemon/storage/scan-names.js';
import { tempDir, testConfig } from './helpers.js';

describe('daemon storage', () => {
  it('refuses path-like scan names and builds safe ids', () => {
    for (const bad of ['../x', 'a/b', 'a\\b', '..', 'x..y', '', '.hidden', 'tab\there', 'x'.repeat(81)]) assert.ok(scanNameProblem(bad), `refuses ${JSON.stringify(bad)}`);
    for (const ok of ['Panel A', 'Madonna (detail) #2', 'Fe-map_1', 'Röntgen 3']) assert.equal(scanNameProblem(ok), null, ok);
    assert.equal(makeScanId('Madonna (detail) #2', new Date(Date.UTC(2026, 0, 2, 3, 4, 5))), '20260102-030405-Madonna_detail_2');
    // Accents: a decomposed (NFD, as macOS sends) letter is still a letter, and ids drop the accent.
    assert.equal(scanNameProblem('Ro\u0308ntgen'), null);
    assert.ok(scanNameProblem('\u0308ntgen'), 'a combining mark cannot start a name');
    const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    assert.equal(makeScanId('Röntgen 3', at), '20260102-030405-Rontgen_3');
    assert.equal(makeScanId('Ro\u0308ntgen', at), '20260102-030405-Rontgen');
    assert.equal(makeScanId('Ça va', at), '20260102-030405-Ca_va');
    assert.throws(() => scanDir('/data', '../../etc'), /not a scan id/);
    assert.equal(scanDir('/data', '20260102-030405-a'), '/data/scans/20260102-030405-a');
  });

  it('migrates a new database and refuses one from a newer gemxrf', () => {
    const dir = tempDir();
    const file = join(dir, 'gemxrf.db');
    const db = new ScanDb(file);
    assert.equal(db.schemaVersion, SCHEMA_VERSION);
    db.addCalibration({ gainKeVPerAdc: 0.005, offsetKeV: 0, quadraticKeVPerAdc2: 0, gainMapFile: null });
    db.close();
    const again = new ScanDb(file); // idempotent: reopening applies nothing
    assert.equal(again.schemaVersion, SCHEMA_VERSION);
    again.close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(() => new ScanDb(file), /newer than this gemxrf/);
  });

  it('names the file when gemxrf.db is not a database', () => {
    const file = join(tempDir(), 'gemxrf.db');
    writeFileSync(file, 'this is not sqlite '.repeat(100));
    assert.throws(() => new ScanDb(file), (e: Error) => e.message.includes(file) && /not a database/.test(e.message));
  });

  it('fails at start with the reason when the data directory is unusable', async () => {
    const dir = tempDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    assert.throws(() => prepareDataDir(join(file, 'data')), /data directory .* is not usable: (ENOTDIR|EEXIST)/);
    await assert.rejects(startDaemon(testConfig(join(file, 'data')), silentLogger), /not usable/);
  });
});
