// NPY format v1.0 (numpy's .npy): magic "\x93NUMPY", version 1.0, u16 little-endian header length, then an
// ASCII dict {'descr': '<f4', 'fortran_order': False, 'shape': (N, C), } padded with spaces and a newline
// so the data starts on a 64-byte boundary; then the array in C order, little-endian.
// The writer streams rows: the shape is fixed up front, rows are appended, close() checks the count.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

export type NpyDtype = 'float32' | 'float64' | 'uint8' | 'int32' | 'uint16';
export type NpyArray = Float32Array | Float64Array | Uint8Array | Int32Array | Uint16Array;

const DESCR: Record<NpyDtype, string> = { float32: '<f4', float64: '<f8', uint8: '|u1', int32: '<i4', uint16: '<u2' };
const BYTES: Record<NpyDtype, number> = { float32: 4, float64: 8, uint8: 1, int32: 4, uint16: 2 };
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('npy: big-endian hosts are not supported');

export function npyHeader(dtype: NpyDtype, shape: readonly number[]): Buffer {
  for (const d of shape) if (!Number.isInteger(d) || d < 0) throw new Error(`npy: bad dimension ${d} in shape [${shape.join(', ')}]`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // magic(6) + version(2) + length(2) + dict + padding + '\n' is a multiple of 64.
  const unpadded = 10 + dict.length + 1;
  const total = Math.ceil(unpadded / 64) * 64;
  const text = dict + ' '.repeat(total - unpadded) + '\n';
  if (text.length > 0xffff) throw new Error('npy: header too long for format 1.0');
  const out = Buffer.alloc(total);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(text.length, 8);
  out.write(text, 10, 'latin1');
  return out;
}

/** Appends rows of a fixed-shape array to a .npy file. */
export class NpyWriter {
  readonly rowElements: number;
  private fd: number;
  private rowsWritten = 0;

  constructor(readonly path: string, readonly dtype: NpyDtype, readonly shape: readonly number[]) {
    if (shape.length < 1) throw new Error('npy: shape needs at least one dimension');
    this.rowElements = shape.slice(1).reduce((a, b) => a * b, 1);
    this.fd = openSync(path, 'w');
    writeSync(this.fd, npyHeader(dtype, shape));
  }

  /** Appends whole rows; `data.length` must be a multiple of the row size and of the writer's dtype. */
  write(data: NpyArray): void {
    if (this.fd < 0) throw new Error(`npy: ${this.path} is closed`);
    if (dtypeOf(data) !== this.dtype) throw new Error(`npy: ${this.path} holds ${this.dtype}, got ${dtypeOf(data)}`);
    if (data.length % this.rowElements !== 0) throw new Error(`npy: ${data.length} values is not a whole number of rows of ${this.rowElements}`);
    const rows = data.length / this.rowElements;
    if (this.rowsWritten + rows > this.shape[0]!) throw new Error(`npy: ${this.path}: more than ${this.shape[0]} rows written`);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let off = 0;
    while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
    this.rowsWritten += rows;
  }

  get rows(): number {
    return this.rowsWritten;
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
    if (this.rowsWritten !== this.shape[0]) throw new Error(`npy: ${this.path}: wrote ${this.rowsWritten} rows, header says ${this.shape[0]}`);
  }

  /** Closes without the row-count check (on an error path). */
  abort(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export function dtypeOf(a: NpyArray): NpyDtype {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int32Array) return 'int32';
  return 'uint16';
}

/** Writes a whole array at once. */
export function writeNpy(path: string, data: NpyArray, shape: readonly number[]): void {
  const w = new NpyWriter(path, dtypeOf(data), shape);
  try {
    w.write(data);
    w.close();
  } catch (err) {
    w.abort();
    throw err;
  }
}

export interface NpyFile {
  dtype: NpyDtype;
  shape: number[];
  fortranOrder: boolean;
  data: NpyArray;
}

/** Reads a .npy v1.0/2.0 file written little-endian in C order (what numpy writes on common hosts). */
export function readNpy(path: string): NpyFile {
  return parseNpy(readFileSync(path), path);
}

export function parseNpy(buf: Buffer, name = 'npy data'): NpyFile {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error(`${name}: not a .npy file (bad magic)`);
  const major = buf[6]!;
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLen = buf.readUInt32LE(8);
    start = 12;
  } else throw new Error(`${name}: unsupported .npy version ${major}`);
  const header = buf.subarray(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new Error(`${name}: malformed .npy header: ${header.trim()}`);
  const dtype = (Object.keys(DESCR) as NpyDtype[]).find((d) => DESCR[d] === descr || (d === 'uint8' && descr === '<u1'));
  if (!dtype) throw new Error(`${name}: unsupported dtype '${descr}'`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  const bytes = count * BYTES[dtype];
  if (buf.length - dataStart !== bytes) throw new Error(`${name}: expected ${bytes} data bytes for shape (${shape.join(', ')}), found ${buf.length - dataStart}`);
  // Copy into an aligned buffer: typed arrays need their element alignment.
  const copy = new Uint8Array(bytes);
  copy.set(buf.subarray(dataStart, dataStart + bytes));
  const ab = copy.buffer;
  const data =
    dtype === 'float32' ? new Float32Array(ab) :
    dtype === 'float64' ? new Float64Array(ab) :
    dtype === 'uint8' ? new Uint8Array(ab) :
    dtype === 'int32' ? new Int32Array(ab) : new Uint16Array(ab);
  return { dtype, shape, fortranOrder: fortran === 'True', data };
}
