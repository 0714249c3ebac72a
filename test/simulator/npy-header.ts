// Test helper: parses a .npy v1.0 header by hand, independently of simulator/dataset/npy.ts.
import assert from 'node:assert/strict';

/** Parses a .npy header by hand (independently of the module under test). */
export function parseHeaderByHand(buf: Buffer): { descr: string; fortran: string; shape: string; dataOffset: number } {
  assert.deepEqual([...buf.subarray(0, 6)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59], 'magic');
  assert.equal(buf[6], 1, 'major version');
  assert.equal(buf[7], 0, 'minor version');
  const len = buf[8]! + 256 * buf[9]!;
  const text = buf.subarray(10, 10 + len).toString('latin1');
  assert.ok(text.endsWith('\n'), 'header ends with a newline');
  assert.equal((10 + len) % 64, 0, 'data aligned to 64 bytes');
  const m = /^\{'descr': '([^']+)', 'fortran_order': (False|True), 'shape': (\([^)]*\)), \} *\n$/.exec(text);
  assert.ok(m, `header dict: ${JSON.stringify(text)}`);
  return { descr: m[1]!, fortran: m[2]!, shape: m[3]!, dataOffset: 10 + len };
}
