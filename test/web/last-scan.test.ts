// The acquisition panel's "Last scan" summary (web/src/last-scan.ts), in Node: the rows of a scan record as
// docs/mqtt.md shows it (and as the daemon's ScanRecord type has it), missing and junk fields, the record's
// error and maps note, and which record the tracker shows from state documents and events.
import assert from 'node:assert/strict';
import type { GemrocSummary } from '../../drivers/codecs/gemroc-decode.js';
import type { ScanRecord } from '../../daemon/storage/db.js';
import type { FormationCounters } from '../../pipelines/formation/event-former.js';
import { LastScanTracker, lastScanRows, mapsFromEvent, mapsFromFiles, mapsFromRecord, rejectionSummary, splitRecordError, type MapsOutcome, type ScanRecordDoc } from '../../web/src/last-scan.js';

const formation: FormationCounters = {
  hitsIn: 235405, hitsBadPlane: 0, hitsBadStrip: 0, hitsLate: 0, clustersX: 44419, clustersY: 44468, events: 39305, xOnly: 5062,
  yOnly: 5111, tooWide: 0, tooLong: 0, ratio: 52, adcSaturated: 0, forcedCuts: 0, stalledSettles: 0, clockResets: 0,
};
const gemroc: GemrocSummary = {
  datagrams: 5210, packets: 5210, hits: 901000, unmapped: 0, badPackets: 0, packetsLost: 12, duplicates: 0, reordered: 0, boardRestarts: 1,
  restartsUnaligned: 0, boards: [{ board: 0, packets: 2611, lost: 5, restarts: 0 }, { board: 1, packets: 2599, lost: 7, restarts: 1 }],
};
// docs/mqtt.md's scan record
const record: ScanRecord = {
  id: '20261126-101500-Panel_A', name: 'Panel A', notes: '', operator: '', status: 'completed', stopCondition: { durationS: 60 },
  stopReason: 'duration', startedAt: '2026-11-26T10:15:00.000Z', stoppedAt: '2026-11-26T10:16:00.140Z',
  totals: { events: 11990000, eventsIn: 12000000, bytesRecorded: 120100000, framesOk: 3000, framesLost: 0, crcErrors: 0, durationS: 60.0, meanRate: 199833 },
  error: null, dir: 'scans/20261126-101500-Panel_A', config: { storage: { saveMaps: true } },
};
const saved: MapsOutcome = { kind: 'saved', files: 41, bytes: 1641234, methods: ['roi', 'fit'] };
const values = (rows: Array<{ key: string; label: string; value: string; bad: boolean }> | null) =>
  rows && Object.fromEntries(rows.map((r) => [r.key, [r.label, r.value, r.bad]]));

describe('dashboard last-scan summary', () => {
  it('the daemon’s ScanRecord is what the page reads', () => {
    const r: ScanRecordDoc = record; // compile-time: a field renamed on the daemon side breaks this
    assert.ok(r);
  });

  it('rows of a completed events-level scan: status and reason, duration, events, mean rate, losses, maps', () => {
    assert.deepEqual(values(lastScanRows(record, saved)), {
      scan: ['Scan', '20261126-101500-Panel_A', false],
      status: ['Status', 'completed · duration reached', false],
      duration: ['Duration', '01:00', false],
      events: ['Events', '11,990,000', false],
      rate: ['Mean rate', '199.8 k /s', false],
      lost: ['Lost / CRC', '0 / 0', false],
      maps: ['Maps', 'saved · 41 files, 1.6 MiB', false],
    });
    const rows = lastScanRows(record, saved)!;
    assert.match(rows.find((r) => r.key === 'scan')!.title, /"Panel A", started 2026-11-26T10:15:00.000Z, stopped 2026-11-26T10:16:00.140Z/);
    assert.match(rows.find((r) => r.key === 'events')!.title, /12,000,000 taken in/);
  });

  it('losses, a disk stop and an error status are flagged; the scan error gets its own row', () => {
    const bad = values(lastScanRows({ ...record, stopReason: 'disk', totals: { ...record.totals!, framesLost: 3, crcErrors: 1 } }))!;
    assert.deepEqual(bad['status'], ['Status', 'completed · low disk space', true]);
    assert.deepEqual(bad['lost'], ['Lost / CRC', '3 / 1', true]);
    assert.deepEqual(bad['maps'], ['Maps', '–', false], 'maps outcome unknown');
    const err = values(lastScanRows({ ...record, status: 'error', stopReason: 'error', error: 'recording failed: ENOSPC' }))!;
    assert.deepEqual(err['status'], ['Status', 'error · error', true]);
    assert.deepEqual(err['error'], ['Error', 'recording failed: ENOSPC', true]);
    assert.deepEqual(values(lastScanRows({ ...record, stopReason: 'manual' }))!['status'], ['Status', 'completed · stopped by request', false]);
    assert.deepEqual(values(lastScanRows({ ...record, stopReason: 'something-new' }))!['status'], ['Status', 'completed · something-new', false]);
  });

  it('formation and gemroc rows only when the totals carry those blocks', () => {
    const rows = values(lastScanRows({ ...record, totals: { ...record.totals!, framesLost: 12, formation, gemroc } }))!;
    assert.deepEqual(rows['paired'], ['Clusters paired', '88.4 %', false]);
    assert.deepEqual(rows['rejected'], ['Rejected', '10,173 unpaired · 52 ratio', false]);
    assert.deepEqual(rows['gemroc'], ['Packets lost', '12 of 5,210 · 1 restart', true]);
    assert.deepEqual(Object.keys(rows), ['scan', 'status', 'duration', 'events', 'rate', 'lost', 'paired', 'rejected', 'gemroc', 'maps']);
    const plain = values(lastScanRows(record))!;
    assert.equal(plain['paired'], undefined);
    assert.equal(plain['gemroc'], undefined);
    assert.deepEqual(rejectionSummary({ ...formation, xOnly: 0, yOnly: 0, ratio: 0 }), { text: 'none', bad: false });
    assert.deepEqual(rejectionSummary({ ...formation, hitsLate: 2, clockResets: 1 }), { text: '10,173 unpaired · 52 ratio · 2 late hits · 1 clock reset', bad: true });
  });

  it('no record, no rows; missing totals and junk fields show dashes, never NaN/undefined/null', () => {
    assert.equal(lastScanRows(null), null);
    assert.equal(lastScanRows(undefined), null);
    assert.equal(lastScanRows({} as ScanRecordDoc), null);
    const none = values(lastScanRows({ ...record, status: 'interrupted', stopReason: null, totals: null }))!;
    assert.deepEqual(none['status'], ['Status', 'interrupted', true]);
    assert.deepEqual(none['duration'], ['Duration', '–', false]);
    assert.deepEqual(none['events'], ['Events', '–', false]);
    assert.deepEqual(none['rate'], ['Mean rate', '– /s', false]);
    assert.deepEqual(none['lost'], ['Lost / CRC', '– / –', false]);
    const junk = lastScanRows({ id: 'x', name: 3, status: null, stopReason: 7, totals: { events: 'a', formation: { events: 'x' }, gemroc: { boards: 'no' } }, error: 5 } as unknown as ScanRecordDoc)!;
    for (const r of junk) assert.doesNotMatch(r.value + r.title, /NaN|undefined|null|\[object/, r.key);
    const long = lastScanRows({ ...record, error: 'y'.repeat(5000) })!.find((r) => r.key === 'error')!;
    assert.ok(long.value.length <= 300 && long.value.endsWith('…'));
  });

  it('the maps outcome: events, the record’s error note, saveMaps off, the folder listing', () => {
    assert.deepEqual(mapsFromEvent({ type: 'maps-saved', scan: 'x', dir: 'maps', methods: ['roi', 'fit', 3], files: 41, bytes: 1641234 }), saved);
    assert.deepEqual(mapsFromEvent({ type: 'maps-error', error: 'ENOSPC: no space left on device, write' }), { kind: 'error', error: 'ENOSPC: no space left on device, write' });
    assert.equal(mapsFromEvent({ type: 'scan-stopped' }), null);
    assert.deepEqual(splitRecordError(null), { scan: null, maps: null });
    assert.deepEqual(splitRecordError('maps not saved: EACCES'), { scan: null, maps: 'EACCES' });
    assert.deepEqual(splitRecordError('checkpoint failed: x; maps not saved: EACCES'), { scan: 'checkpoint failed: x', maps: 'EACCES' });
    assert.deepEqual(mapsFromRecord({ ...record, error: 'maps not saved: EACCES' }), { kind: 'error', error: 'EACCES' });
    assert.deepEqual(mapsFromRecord({ ...record, config: { storage: { saveMaps: false } } }), { kind: 'off' });
    assert.deepEqual(mapsFromRecord(record), { kind: 'unknown' });
    assert.deepEqual(mapsFromRecord({ ...record, config: undefined }), { kind: 'unknown' });
    const rows = values(lastScanRows({ ...record, error: 'maps not saved: EACCES' }, mapsFromRecord({ ...record, error: 'maps not saved: EACCES' })))!;
    assert.deepEqual(rows['maps'], ['Maps', 'not saved: EACCES', true]);
    assert.equal(rows['error'], undefined, 'the maps note is not the scan’s error');
    assert.deepEqual(values(lastScanRows(record, { kind: 'off' }))!['maps'], ['Maps', 'not saved (storage.saveMaps off)', false]);
    assert.deepEqual(values(lastScanRows(record, { kind: 'pending' }))!['maps'], ['Maps', 'saving…', false]);
    assert.deepEqual(mapsFromFiles([{ path: 'raw.gemx', size: 10 }, { path: 'maps/roi/Cu.npy', size: 100 }, { path: 'maps/fit/Cu.npy', size: 100 }, { path: 'maps/index.json', size: 5 }]), { kind: 'saved', files: 3, bytes: 205, methods: ['roi', 'fit'] });
    assert.deepEqual(mapsFromFiles([{ path: 'raw.gemx', size: 10 }, { path: 'maps/roi/Cu.npy', size: 100 }]), { kind: 'absent' });
  });

  describe('LastScanTracker', () => {
    const idle = (lastScan: string | null) => ({ state: 'idle', scan: null, lastScan });
    const acquiring = (id: string) => ({ state: 'acquiring', scan: { id }, lastScan: id });

    it('a stop seen live: the event’s record, maps pending until maps-saved; a new scan hides it', () => {
      const t = new LastScanTracker();
      t.onState(acquiring(record.id));
      assert.equal(t.rows(), null);
      assert.equal(t.wanted(), null, 'nothing to fetch while acquiring');
      t.onState(idle(record.id)); // the state may come before the event
      assert.equal(t.wanted(), record.id);
      t.onEvent({ type: 'scan-stopped', reason: 'duration', scan: record });
      assert.equal(t.wanted(), null);
      assert.equal(values(t.rows())!['maps']![1], 'saving…');
      assert.equal(t.needsFiles(), null);
      t.onEvent({ type: 'maps-saved', scan: 'another', files: 1, bytes: 1, methods: [] });
      assert.equal(values(t.rows())!['maps']![1], 'saving…', 'another scan’s event');
      t.onEvent({ type: 'maps-saved', scan: record.id, dir: 'maps', methods: ['roi', 'fit'], files: 41, bytes: 1641234 });
      assert.deepEqual(t.rows(), lastScanRows(record, saved));
      // a scan/get answer landing late keeps the outcome of the event
      t.onRecord({ ...record });
      assert.deepEqual(t.rows(), lastScanRows(record, saved));
      t.onState(idle(record.id)); // repeated retained state: same rows
      assert.deepEqual(t.rows(), lastScanRows(record, saved));
      t.onEvent({ type: 'scan-started', scan: { id: 'next', status: 'acquiring' } });
      assert.equal(t.rows(), null);
      t.onState({ state: 'starting', scan: null, lastScan: record.id });
      assert.equal(t.rows(), null);
    });

    it('a page opened after the stop: fetches the state’s lastScan, then looks at the folder for the maps', () => {
      const t = new LastScanTracker();
      assert.equal(t.wanted(), null, 'no state yet');
      t.onState(idle(record.id));
      assert.equal(t.wanted(), record.id);
      assert.equal(t.rows(), null);
      t.onRecord({ ...record, id: 'stale' });
      assert.equal(t.rows(), null, 'a record that is not the last scan');
      t.onRecord(record);
      assert.equal(t.wanted(), null);
      assert.equal(t.needsFiles(), record.id);
      assert.equal(values(t.rows())!['maps']![1], '–');
      t.onFiles(record.id, [{ path: 'maps/index.json', size: 5 }, { path: 'maps/roi/Cu.npy', size: 95 }]);
      assert.equal(t.needsFiles(), null);
      assert.equal(values(t.rows())!['maps']![1], 'saved · 2 files, 100 B');
    });

    it('a maps-error, and an outcome that comes before the record', () => {
      const t = new LastScanTracker();
      t.onState(idle(record.id));
      t.onEvent({ type: 'maps-error', scan: record.id, error: 'ENOSPC' });
      t.onRecord({ ...record, error: 'maps not saved: ENOSPC' });
      assert.deepEqual(values(t.rows())!['maps'], ['Maps', 'not saved: ENOSPC', true]);
      const u = new LastScanTracker();
      u.onState(idle(record.id));
      u.onEvent({ type: 'maps-saved', scan: record.id, dir: 'maps', methods: ['roi', 'fit'], files: 41, bytes: 1641234 });
      u.onRecord(record);
      assert.deepEqual(u.rows(), lastScanRows(record, saved));
      assert.equal(u.needsFiles(), null);
    });

    it('a scan-error record is shown; scan-deleted for it or lastScan null hides it', () => {
      const t = new LastScanTracker();
      const failed = { ...record, status: 'error', stopReason: 'manual', error: 'checkpoint failed: EIO' };
      t.onEvent({ type: 'scan-error', scan: failed, error: failed.error });
      t.onState({ state: 'error', scan: null, lastScan: record.id });
      assert.deepEqual(values(t.rows())!['error'], ['Error', 'checkpoint failed: EIO', true]);
      t.onEvent({ type: 'scan-error', error: 'cannot start scan: x' }); // no record: ignored
      assert.ok(t.rows());
      t.onEvent({ type: 'scan-deleted', scan: 'another', files: 1, bytes: 1 });
      assert.ok(t.rows());
      t.onEvent({ type: 'scan-deleted', scan: record.id, files: 44, bytes: 1 });
      assert.equal(t.rows(), null);
      const u = new LastScanTracker();
      u.onEvent({ type: 'scan-stopped', scan: record, reason: 'duration' });
      u.onState(idle(record.id));
      assert.ok(u.rows());
      u.onState(idle(null));
      assert.equal(u.rows(), null);
      assert.equal(u.wanted(), null);
    });
  });
});
