// The acquisition panel's formation, gemroc and warning rows (web/src/scan-health.ts), in Node: from the
// payloads as docs/mqtt.md shows them, and from the daemon's own counter types.
import assert from 'node:assert/strict';
import type { GemrocSummary } from '../../drivers/codecs/gemroc-decode.js';
import { zeroFormationCounters, type FormationCounters } from '../../pipelines/formation/event-former.js';
import { formationEfficiency, formationRows, gemrocRows, healthWarnings, type FormationBlock, type GemrocBlock } from '../../web/src/scan-health.js';

// docs/mqtt.md's example
const formation: FormationCounters = {
  hitsIn: 235405, hitsBadPlane: 0, hitsBadStrip: 0, hitsLate: 0, clustersX: 44419, clustersY: 44468, events: 39305, xOnly: 5062,
  yOnly: 5111, tooWide: 0, tooLong: 0, ratio: 52, adcSaturated: 0, forcedCuts: 0, stalledSettles: 0, clockResets: 0,
};
const gemroc: GemrocSummary = {
  datagrams: 5210, packets: 5210, hits: 901000, unmapped: 0, badPackets: 0, packetsLost: 12, duplicates: 0, reordered: 0, boardRestarts: 1,
  restartsUnaligned: 0, boards: [{ board: 0, packets: 2611, lost: 5, restarts: 0 }, { board: 1, packets: 2599, lost: 7, restarts: 1 }],
};
const values = (rows: Array<{ key: string; label: string; value: string; bad: boolean }> | null) =>
  rows && Object.fromEntries(rows.map((r) => [r.key, [r.label, r.value, r.bad]]));

describe('dashboard acquisition health rows', () => {
  it('the daemon’s counter types are what the page reads', () => {
    // Compile-time: a field renamed on the daemon side breaks this assignment.
    const f: FormationBlock = formation;
    const g: GemrocBlock = gemroc;
    assert.ok(f && g);
  });

  it('formation: efficiency = events over the mean of X and Y clusters, and the rejection breakdown', () => {
    const eff = formationEfficiency(formation)!;
    assert.ok(Math.abs(eff - 39305 / ((44419 + 44468) / 2)) < 1e-12);
    assert.deepEqual(values(formationRows(formation)), {
      efficiency: ['Clusters paired', '88.4 %', false],
      hits: ['Strip hits', '235,405 · 5.99 /event', false],
      unpaired: ['Unpaired X / Y', '5,062 / 5,111', false],
      rejected: ['Wide / long / ratio', '0 / 0 / 52', false],
      dropped: ['Late / bad hits', '0 / 0', false],
      clock: ['Clock resets', '0', false],
    });
    const rows = formationRows({ ...formation, hitsLate: 3, hitsBadStrip: 2, clockResets: 1 })!;
    assert.deepEqual(rows.filter((r) => r.bad).map((r) => r.key), ['dropped', 'clock']);
    assert.equal(rows.find((r) => r.key === 'dropped')!.value, '3 / 2');
  });

  it('formation: no block, no rows; zeros and junk show as dashes, never NaN', () => {
    assert.equal(formationRows(null), null);
    assert.equal(formationRows(undefined), null);
    const zero = values(formationRows(zeroFormationCounters()))!;
    assert.deepEqual(zero['efficiency'], ['Clusters paired', '–', false]);
    assert.deepEqual(zero['hits'], ['Strip hits', '0', false]);
    const junk = formationRows({ events: 'x', clustersX: null } as unknown as FormationBlock)!;
    assert.equal(junk.length, 6);
    for (const r of junk) assert.doesNotMatch(r.value + r.title, /NaN|undefined|null/, r.key);
    assert.equal(formationEfficiency({ ...formation, events: 50_000 }), 1, 'capped at 100 %');
  });

  it('gemroc: totals, restarts, and packets lost and restarts per board', () => {
    assert.equal(gemrocRows(null), null);
    assert.deepEqual(values(gemrocRows(gemroc)), {
      packets: ['Packets', '5,210 · 12 lost', true],
      restarts: ['Board restarts', '1', true],
      'board-0': ['Board 0', '5 lost · 0 restarts', true],
      'board-1': ['Board 1', '7 lost · 1 restart', true],
    });
    const clean = values(gemrocRows({ ...gemroc, packetsLost: 0, boardRestarts: 0, restartsUnaligned: 0, boards: [{ board: 3, packets: 10, lost: 0, restarts: 0 }] }));
    assert.deepEqual(clean, { packets: ['Packets', '5,210 · 0 lost', false], restarts: ['Board restarts', '0', false], 'board-3': ['Board 3', '0 lost · 0 restarts', false] });
    assert.equal(gemrocRows({ ...gemroc, restartsUnaligned: 1 })!.find((r) => r.key === 'restarts')!.value, '1 · 1 unaligned');
    // a malformed boards list is skipped, not thrown on
    assert.equal(gemrocRows({ ...gemroc, boards: 'no' as unknown as GemrocBlock['boards'] })!.length, 2);
    assert.equal(gemrocRows({ ...gemroc, boards: [null, { board: 'x' }] as unknown as GemrocBlock['boards'] })!.length, 2);
  });

  it('warnings: a map method’s or the model’s lastError, model timeouts and stuck workers', () => {
    assert.deepEqual(healthWarnings({}), []);
    assert.deepEqual(healthWarnings({ maps: null, inference: null }), []);
    assert.deepEqual(healthWarnings({ maps: { roi: { lastError: null }, fit: { lastError: null } }, inference: { lastError: null, timeouts: 0, stuckWorkers: 0 } }), []);
    assert.deepEqual(
      healthWarnings({
        maps: { roi: { lastError: null }, fit: { lastError: 'fit worker exited (code 1)' } },
        inference: { lastError: 'model run timed out after 60 s (inference.workerTimeoutSeconds); the worker was given up', timeouts: 1, stuckWorkers: 1 },
      }),
      [
        { key: 'maps.fit', text: 'fit maps: fit worker exited (code 1)' },
        { key: 'inference', text: 'model maps: model run timed out after 60 s (inference.workerTimeoutSeconds); the worker was given up' },
        { key: 'inference.workers', text: 'model workers: 1 timeout since the daemon started, 1 worker stuck in a run (holds a CPU core)' },
      ],
    );
    assert.deepEqual(healthWarnings({ inference: { timeouts: 3 } }), [{ key: 'inference.workers', text: 'model workers: 3 timeouts since the daemon started' }]);
    const long = healthWarnings({ maps: { fit: { lastError: 'x'.repeat(5000) } } })[0]!.text;
    assert.ok(long.length <= 400 && long.endsWith('…'));
  });
});
