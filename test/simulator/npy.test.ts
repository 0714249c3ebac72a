import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NpyWriter, parseNpy, readNpy, writeNpy } from '../../simulator/dataset/npy.js';
import { parseHeaderByHand } from './npy-header.js';

describe('simulator/dataset npy', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'gemxrf-npy-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a v1.0 header numpy can read, little-endian C-order data', () => {
    const a = new Float32Array([1.5, -2, 3.25, 4, 5, 6]);
    const f = join(dir, 'a.npy');
    writeNpy(f, a, [2, 3]);
    const buf = readFileSync(f);
    const h = parseHeaderByHand(buf);
    assert.equal(h.descr, '<f4');
    assert.equal(h.fortran, 'False');
    assert.equal(h.shape, '(2, 3)');
    assert.equal(buf.length - h.dataOffset, 24);
    assert.equal(buf.readFloatLE(h.dataOffset + 4 * 2), 3.25); // row 0, column 2
    assert.equal(buf.readFloatLE(h.dataOffset + 4 * 3), 4); // row 1, column 0
  });

  it('round-trips every dtype, 1-d shapes included', () => {
    const cases = [
      [new Uint8Array([0, 1, 255]), [3], '|u1', '(3,)'],
      [new Int32Array([-7, 1 << 30]), [2, 1], '<i4', '(2, 1)'],
      [new Float64Array([Math.PI]), [1, 1], '<f8', '(1, 1)'],
      [new Uint16Array([65535, 2, 3, 4]), [2, 2], '<u2', '(2, 2)'],
    ] as const;
    for (const [data, shape, descr, shapeText] of cases) {
      const f = join(dir, `${descr.slice(1)}.npy`);
      writeNpy(f, data, shape);
      const h = parseHeaderByHand(readFileSync(f));
      assert.equal(h.descr, descr);
      assert.equal(h.shape, shapeText);
      const back = readNpy(f);
      assert.deepEqual(back.shape, [...shape]);
      assert.deepEqual([...back.data], [...data]);
    }
  });

  it('streams rows and checks the row count on close', () => {
    const f = join(dir, 'stream.npy');
    const w = new NpyWriter(f, 'float32', [4, 2]);
    w.write(new Float32Array([1, 2, 3, 4]));
    w.write(new Float32Array([5, 6]));
    assert.throws(() => w.write(new Float32Array([1, 2, 3])), /whole number of rows/);
    assert.throws(() => w.write(new Uint8Array([1, 2])), /holds float32/);
    assert.throws(() => w.close(), /wrote 3 rows, header says 4/);
    const w2 = new NpyWriter(f, 'float32', [1, 2]);
    assert.throws(() => w2.write(new Float32Array([1, 2, 3, 4])), /more than 1 rows/);
    w2.abort();
  });

  it('rejects files that are not .npy or are truncated', () => {
    assert.throws(() => parseNpy(Buffer.from('hello world, not numpy')), /bad magic/);
    const f = join(dir, 'trunc.npy');
    writeNpy(f, new Float32Array(10), [10]);
    const buf = readFileSync(f);
    writeFileSync(f, buf.subarray(0, buf.length - 4));
    assert.throws(() => readNpy(f), /expected 40 data bytes/);
  });
});
