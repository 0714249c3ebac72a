// Per-pixel relative gain maps (GEM gain varies across the active area: recorded adc = true adc x g(x, y)).
// File format, either of:
//   - raw: width x height little-endian float32, row-major (index = y * width + x), no header (.f32 / .bin / any);
//   - .npy: numpy format 1.0/2.0/3.0, dtype '<f4' (or '<f8', converted), C order, shape (height, width).
// The reader picks .npy by its magic bytes, not by the file name.
import { readFileSync, writeFileSync } from 'node:fs';

export class GainMapError extends Error {
  constructor(file: string, reason: string) {
    super(`gain map ${file}: ${reason}`);
    this.name = 'GainMapError';
  }
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= 10 && NPY_MAGIC.every((b, i) => bytes[i] === b);
}

/** Parses an .npy file holding a (height, width) float32/float64 C-order array. */
function parseNpy(bytes: Uint8Array, width: number, height: number, file: string): Float32Array {
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerStart = major === 1 ? 10 : 12;
  if (bytes.length < headerStart) throw new GainMapError(file, 'truncated .npy header');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (bytes.length < headerStart + headerLen) throw new GainMapError(file, 'truncated .npy header');
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new GainMapError(file, 'unreadable .npy header');
  if (fortran === 'True') throw new GainMapError(file, '.npy in Fortran order is not supported (save with C order)');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const okShape = (shape.length === 2 && shape[0] === height && shape[1] === width) || (shape.length === 1 && n === width * height);
  if (!okShape) throw new GainMapError(file, `shape (${shape.join(', ')}) does not match the image grid (${height}, ${width})`);
  const dataStart = headerStart + headerLen;
  const out = new Float32Array(n);
  if (descr === '<f4') {
    if (bytes.length - dataStart < n * 4) throw new GainMapError(file, 'truncated data');
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(dataStart + i * 4, true);
  } else if (descr === '<f8') {
    if (bytes.length - dataStart < n * 8) throw new GainMapError(file, 'truncated data');
    for (let i = 0; i < n; i++) out[i] = view.getFloat64(dataStart + i * 8, true);
  } else {
    throw new GainMapError(file, `dtype '${descr}' not supported (expected '<f4' or '<f8')`);
  }
  return out;
}

/** Reads a gain map for a width x height grid; throws GainMapError with the reason on any mismatch. */
export function readGainMap(file: string, width: number, height: number): Float32Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new GainMapError(file, e instanceof Error ? e.message : String(e));
  }
  if (isNpy(bytes)) return parseNpy(bytes, width, height, file);
  if (bytes.length !== width * height * 4)
    throw new GainMapError(file, `raw float32 map must be ${width}x${height}x4 = ${width * height * 4} bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** Writes a gain map as raw little-endian float32 (or .npy when the name ends in .npy). */
export function writeGainMap(file: string, gain: Float32Array, width: number, height: number): void {
  if (gain.length !== width * height) throw new GainMapError(file, `expected ${width * height} values, got ${gain.length}`);
  const data = new Uint8Array(gain.length * 4);
  const view = new DataView(data.buffer);
  for (let i = 0; i < gain.length; i++) view.setFloat32(i * 4, gain[i]!, true);
  if (!file.endsWith('.npy')) {
    writeFileSync(file, data);
    return;
  }
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${height}, ${width}), }`;
  // Total header (magic 6 + version 2 + length 2 + text + '\n') padded to a multiple of 64 bytes.
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = header + ' '.repeat(pad % 64) + '\n';
  const pre = new Uint8Array(10 + header.length);
  pre.set(NPY_MAGIC, 0);
  pre[6] = 1;
  pre[7] = 0;
  new DataView(pre.buffer).setUint16(8, header.length, true);
  pre.set(new TextEncoder().encode(header), 10);
  const out = new Uint8Array(pre.length + data.length);
  out.set(pre, 0);
  out.set(data, pre.length);
  writeFileSync(file, out);
}
