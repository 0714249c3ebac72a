// The page's pure parts, run in Node: the GXMP decoder against the daemon's encoder, the map colouring
// against the daemon's PNG colouring, line/escape markers, label rows and the scan/start payload.
import assert from 'node:assert/strict';
import { encodeMapFrame } from '../../daemon/mqtt/map-frame.js';
import { applyColormap } from '../../daemon/render/colormap.js';
import { linesDocument } from '../../daemon/http/lines.js';
import { decodeGxmp } from '../../web/src/gxmp.js';
import { paintMap, scalePosition, valueRange } from '../../web/src/colormap.js';
import { buildMarkers, labelRows } from '../../web/src/markers.js';
import { startPayload } from '../../web/src/scan-request.js';

describe('dashboard page modules', () => {
  const data = Float32Array.from({ length: 7 * 5 }, (_, i) => (i * 37) % 101 + 0.25);
  const frame = { element: 'Pb', method: 'presence', scanId: '20261126-101500-Panel_Ä', width: 7, height: 5, sequence: 4_000_000_001, timestampMs: 1_764_000_000_123.5, data };

  it('decodes GXMP frames as the daemon encodes them, aligned (view) or not (copy)', () => {
    const buf = encodeMapFrame(frame);
    const aligned = new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    const f = decodeGxmp(aligned);
    assert.deepEqual({ ...f, data: Array.from(f.data) }, { ...frame, data: Array.from(data) });
    assert.equal(f.data.buffer, aligned.buffer, 'aligned data is a view, not a copy');
    const shifted = new Uint8Array(buf.length + 1);
    shifted.set(buf, 1);
    const g = decodeGxmp(shifted.subarray(1));
    assert.deepEqual(Array.from(g.data), Array.from(data));
    // As a Node Buffer (what mqtt.js hands a subscriber): a view at an unaligned offset of a larger pool, whose
    // slice() is another view (an earlier decoder read the pool's first bytes as the values).
    const pool = Buffer.alloc(8192, 0x7f);
    buf.copy(pool, 187);
    const h = decodeGxmp(pool.subarray(187, 187 + buf.length));
    assert.deepEqual(Array.from(h.data), Array.from(data));
    assert.throws(() => decodeGxmp(aligned.subarray(0, aligned.length - 4)), /length/);
    const bad = aligned.slice();
    bad[0] = 0x58;
    assert.throws(() => decodeGxmp(bad), /magic/);
  });

  it('colours maps exactly like the daemon PNG renderer (viridis), into a reused buffer', () => {
    const n = data.length;
    const { min, max } = valueRange(data, n);
    const out = new Uint8ClampedArray(n * 4);
    paintMap(data, n, { min, max, log: false }, out);
    assert.deepEqual(Array.from(out), Array.from(applyColormap(data, 7, 5, { min, max, name: 'viridis' })));
    paintMap(data, n, { min: 1, max, log: true }, out);
    assert.deepEqual(Array.from(out), Array.from(applyColormap(data, 7, 5, { min: 1, max, name: 'viridis', log: true })));
    const nan = Float32Array.of(NaN, 0, 1);
    paintMap(nan, 3, { min: 0, max: 1, log: false }, out);
    assert.deepEqual(Array.from(out.subarray(0, 12)), [128, 128, 128, 255, 68, 1, 84, 255, 253, 231, 37, 255]);
    assert.equal(scalePosition(10, { min: 1, max: 100, log: true }), 0.5);
    assert.equal(scalePosition(5, { min: 5, max: 5, log: false }), 0);
  });

  it('scales maps on their finite values: one Infinity pixel does not collapse the scale', () => {
    assert.deepEqual(valueRange(Float32Array.of(0, 5, Infinity, 20, NaN), 5), { min: 0, max: 20 });
    assert.deepEqual(valueRange(Float32Array.of(-Infinity, 3, 4), 3), { min: 3, max: 4 });
    assert.deepEqual(valueRange(Float32Array.of(NaN, Infinity), 2), { min: 0, max: 0 });
  });

  it('puts line markers at the physics energies and escape peaks 2.957 keV below lines above 3.206 keV', () => {
    const doc = linesDocument(['Fe', 'Ca', 'Pb', 'Cr'], 20.48);
    const m = buildMarkers(doc, ['Fe', 'Pb', 'Cr', 'Ca'], true, 0, 20.48);
    const at = (label: string) => m.find((x) => x.label === label)?.energyKeV;
    const escapes = (el: string) => m.filter((x) => x.escape && x.element === el).map((x) => x.energyKeV);
    assert.ok(Math.abs(at('Fe Ka1')! - 6.404) < 0.002);
    assert.equal(escapes('Fe').length, 1, 'escape markers only for the strong lines (Fe Ka, not Kb)');
    assert.ok(Math.abs(escapes('Fe')[0]! - (6.404 - 2.957)) < 0.002);
    assert.ok(Math.abs(escapes('Ca')[0]! - (3.692 - 2.957)) < 0.002, 'Ca Ka (3.69 keV) is above the Ar K edge');
    assert.ok(escapes('Pb').every((e) => e > 7), 'Pb Ma (2.35 keV) is below the Ar K edge: no escape');
    assert.ok(m.every((x, i) => i === 0 || x.energyKeV >= m[i - 1]!.energyKeV));
    assert.ok(!buildMarkers(doc, ['Fe'], false, 0, 20.48).some((x) => x.escape));
    assert.deepEqual(buildMarkers(doc, ['Pb'], true, 0, 10).map((x) => x.label), ['Pb Ma1', 'Pb Mb', 'Pb esc', 'Pb esc']);
  });

  it('stacks marker labels in rows without overlap', () => {
    const xs = [100, 104, 108, 300];
    const widths = [30, 30, 30, 30];
    const rows = labelRows(xs, widths, 3);
    assert.deepEqual(rows, [0, 1, 2, 0]);
  });

  it('sends the form as scan/start without empty fields, leaving validation to the daemon', () => {
    assert.deepEqual(startPayload({ name: ' Panel A ', duration: '60', counts: '', notes: '' }), { name: 'Panel A', duration: 60 });
    assert.deepEqual(startPayload({ name: '../x', duration: '', counts: '1000', notes: 'n' }), { name: '../x', counts: 1000, notes: 'n' });
  });
});
