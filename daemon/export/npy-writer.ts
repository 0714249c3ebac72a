// A minimal .npy (format 1.0) writer for the dtypes an export needs, including uint32 (the cube), which the
// dataset writer in simulator/ does not cover. Header: magic, version, u16 length, a Python dict literal
// padded so the data starts on a 64-byte boundary; data little-endian in C order.
import { closeSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';

export type NpyExportArray = Uint32Array | Float32Array | Float64Array | Uint8Array;

function descr(a: NpyExportArray): string {
  if (a instanceof Uint32Array) return '<u4';
  if (a instanceof Float32Array) return '<f4';
  if (a instanceof Float64Array) return '<f8';
  return '|u1';
}

export function npyHeaderFor(a: NpyExportArray, shape: readonly number[]): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr(a)}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const header = Buffer.alloc(total, 0x20);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(header, 0);
  header.writeUInt16LE(total - 10, 8);
  header.write(dict, 10, 'latin1');
  header[total - 1] = 0x0a;
  return header;
}

/** Writes the array (any typed array view, SharedArrayBuffer-backed included) with the given shape. */
export function writeNpyFile(path: string, a: NpyExportArray, shape: readonly number[]): number {
  const count = shape.reduce((x, y) => x * y, 1);
  if (count !== a.length) throw new Error(`npy: shape (${shape.join(', ')}) holds ${count} values, array has ${a.length}`);
  const header = npyHeaderFor(a, shape);
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, header);
    // 16 MiB at a time: a SharedArrayBuffer-backed cube is written without a full copy.
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, Math.min(bytes.length - off, 16 << 20));
  } finally {
    closeSync(fd);
  }
  return header.length + bytes.length;
}

/** writeNpyFile without holding the event loop (fs/promises): the same header and bytes. The array must not
 *  change until the promise settles (the writes read it in place). */
export async function writeNpyFileAsync(path: string, a: NpyExportArray, shape: readonly number[]): Promise<number> {
  const count = shape.reduce((x, y) => x * y, 1);
  if (count !== a.length) throw new Error(`npy: shape (${shape.join(', ')}) holds ${count} values, array has ${a.length}`);
  const header = npyHeaderFor(a, shape);
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const fh = await open(path, 'w');
  try {
    await fh.write(header);
    for (let off = 0; off < bytes.length; ) off += (await fh.write(bytes, off, Math.min(bytes.length - off, 16 << 20))).bytesWritten;
  } finally {
    await fh.close();
  }
  return header.length + bytes.length;
}
