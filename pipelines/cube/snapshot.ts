// Cube checkpoints: a 256-byte header + the raw shared arrays, written straight from the SharedArrayBuffers.
//
//   offset  size  field
//   0       8     magic "GXRFCUBE"
//   8       4     u32 version (1)
//   12      4     u32 header bytes (256)
//   16      4     u32 width
//   20      4     u32 height
//   24      4     u32 channels
//   28      4     u32 reserved (0)
//   32      8     f64 eMinKeV
//   40      8     f64 eMaxKeV
//   48      8     i64 recordingOffset (opaque to the cube: the daemon stores where in the raw recording this state was taken)
//   56      64    f64 x 8 counters (meta slots, see cube.ts META)
//   120     8     f64 saved at (ms since epoch)
//   128     4     u32 companion present (1) or not (0): a file written with this checkpoint that belongs to it
//   132     4     u32 companion length in bytes
//   136     4     u32 companion crc32
//   140     116   reserved (0)
//   256           counts u32[width*height*channels], totals u32[width*height], inferredTotals u32[width*height], sumSpectrum f64[channels]
// All little-endian. Writes go to NAME.tmp, are fsynced, then renamed: a crash leaves the old checkpoint or the new one.
// Companion (the daemon's formation state, formation-state-file.ts): the bytes' length and crc32 in the header
// pair it with exactly this checkpoint. It is written and fsynced with the cube and renamed just before it,
// so a crash between the two renames leaves a new companion next to the old cube: its crc32 then does not
// match and the reader knows the pair is broken. Files written before companions have zeros here.
import { closeSync, fsyncSync, openSync, readSync, renameSync, writeSync, fstatSync } from 'node:fs';
import { open as openAsync, rename as renameAsync } from 'node:fs/promises';
import { crc32 } from '../../drivers/codecs/crc32.js';
import { Cube, META, type CubeDims } from './cube.js';

const MAGIC = 'GXRFCUBE';
const VERSION = 1;
const HEADER_BYTES = 256;
const META_SLOTS = 8;

export class SnapshotError extends Error {
  constructor(file: string, reason: string) {
    super(`cube snapshot ${file}: ${reason}`);
    this.name = 'SnapshotError';
  }
}

export interface SnapshotHeader extends CubeDims {
  version: number;
  recordingOffset: bigint;
  meta: Float64Array;
  savedAtMs: number;
  /** The companion file this checkpoint was written with, or null (none, or a file from before companions). */
  companion: { bytes: number; crc32: number } | null;
}

/** A file written with the checkpoint and paired with it through the header (see above). */
export interface SnapshotCompanion {
  file: string;
  bytes: Uint8Array;
}

function encodeHeader(cube: Cube, recordingOffset: bigint, meta: Float64Array, companion?: Uint8Array): Uint8Array {
  const h = new Uint8Array(HEADER_BYTES);
  const v = new DataView(h.buffer);
  for (let i = 0; i < MAGIC.length; i++) h[i] = MAGIC.charCodeAt(i);
  v.setUint32(8, VERSION, true);
  v.setUint32(12, HEADER_BYTES, true);
  v.setUint32(16, cube.width, true);
  v.setUint32(20, cube.height, true);
  v.setUint32(24, cube.channels, true);
  v.setFloat64(32, cube.eMinKeV, true);
  v.setFloat64(40, cube.eMaxKeV, true);
  v.setBigInt64(48, recordingOffset, true);
  for (let i = 0; i < META_SLOTS; i++) v.setFloat64(56 + i * 8, meta[i] ?? 0, true);
  v.setFloat64(120, Date.now(), true);
  if (companion) {
    v.setUint32(128, 1, true);
    v.setUint32(132, companion.length, true);
    v.setUint32(136, crc32(companion), true);
  }
  return h;
}

function decodeHeader(h: Uint8Array, file: string): SnapshotHeader {
  if (h.length < HEADER_BYTES) throw new SnapshotError(file, 'shorter than its header');
  for (let i = 0; i < MAGIC.length; i++) if (h[i] !== MAGIC.charCodeAt(i)) throw new SnapshotError(file, 'not a cube snapshot (bad magic)');
  const v = new DataView(h.buffer, h.byteOffset, h.byteLength);
  const version = v.getUint32(8, true);
  if (version !== VERSION) throw new SnapshotError(file, `version ${version} not supported (expected ${VERSION})`);
  if (v.getUint32(12, true) !== HEADER_BYTES) throw new SnapshotError(file, 'unexpected header size');
  const meta = new Float64Array(META_SLOTS);
  for (let i = 0; i < META_SLOTS; i++) meta[i] = v.getFloat64(56 + i * 8, true);
  return {
    version,
    width: v.getUint32(16, true),
    height: v.getUint32(20, true),
    channels: v.getUint32(24, true),
    eMinKeV: v.getFloat64(32, true),
    eMaxKeV: v.getFloat64(40, true),
    recordingOffset: v.getBigInt64(48, true),
    meta,
    savedAtMs: v.getFloat64(120, true),
    companion: v.getUint32(128, true) === 1 ? { bytes: v.getUint32(132, true), crc32: v.getUint32(136, true) } : null,
  };
}

/** The byte views written after the header, in file order. */
function sections(cube: Cube): Uint8Array[] {
  const s = cube.shared();
  return [new Uint8Array(s.counts), new Uint8Array(s.totals), new Uint8Array(s.inferredTotals), new Uint8Array(s.sumSpectrum)];
}

function expectedBytes(d: CubeDims): number {
  const px = d.width * d.height;
  return HEADER_BYTES + px * d.channels * 4 + px * 4 * 2 + d.channels * 8;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

/**
 * Writes the cube to file synchronously (consistent: nothing can add events meanwhile). About as fast as the
 * disk: the SharedArrayBuffers are written directly, no copy.
 */
export function saveSnapshot(cube: Cube, file: string, recordingOffset: bigint = 0n): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeAll(fd, encodeHeader(cube, recordingOffset, cube.meta));
    for (const s of sections(cube)) writeAll(fd, s);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/**
 * Asynchronous variant for large cubes: copies the arrays first (a memcpy, so the snapshot is consistent)
 * and writes the copy without blocking the event loop. With a companion, both files are written and
 * fsynced before either is renamed, the companion first (see the header comment).
 */
export async function saveSnapshotAsync(cube: Cube, file: string, recordingOffset: bigint = 0n, companion?: SnapshotCompanion): Promise<void> {
  const header = encodeHeader(cube, recordingOffset, cube.meta, companion?.bytes);
  const copies = sections(cube).map((s) => s.slice());
  const tmp = `${file}.tmp`;
  if (companion) await writeSyncedAsync(`${companion.file}.tmp`, [companion.bytes]);
  await writeSyncedAsync(tmp, [header, ...copies]);
  if (companion) await renameAsync(`${companion.file}.tmp`, companion.file);
  await renameAsync(tmp, file);
}

async function writeSyncedAsync(file: string, parts: Uint8Array[]): Promise<void> {
  const fh = await openAsync(file, 'w');
  try {
    await fh.writev(parts);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Checks that `bytes` are the companion this checkpoint was written with; throws SnapshotError if not. */
export function verifyCompanion(header: SnapshotHeader, bytes: Uint8Array, file: string): void {
  if (!header.companion) throw new SnapshotError(file, 'the checkpoint has no companion');
  if (bytes.length !== header.companion.bytes) throw new SnapshotError(file, `companion is ${bytes.length} bytes, the checkpoint was written with ${header.companion.bytes}`);
  if (crc32(bytes) !== header.companion.crc32) throw new SnapshotError(file, 'companion crc32 differs from the one the checkpoint was written with (damaged, or from another checkpoint)');
}

function readExactly(fd: number, dst: Uint8Array, position: number, file: string): void {
  let off = 0;
  while (off < dst.length) {
    const n = readSync(fd, dst, off, dst.length - off, position + off);
    if (n === 0) throw new SnapshotError(file, 'truncated');
    off += n;
  }
}

export function readSnapshotHeader(file: string): SnapshotHeader {
  const fd = openSync(file, 'r');
  try {
    const h = new Uint8Array(HEADER_BYTES);
    const n = readSync(fd, h, 0, HEADER_BYTES, 0);
    return decodeHeader(h.subarray(0, n), file);
  } finally {
    closeSync(fd);
  }
}

/**
 * Loads a snapshot into an existing cube (same dims and energy grid), so a worker attached to its buffers
 * keeps seeing the live cube. Returns the header (recordingOffset: where to resume the recording).
 */
export function restoreSnapshotInto(cube: Cube, file: string): SnapshotHeader {
  const fd = openSync(file, 'r');
  try {
    const h = new Uint8Array(HEADER_BYTES);
    readExactly(fd, h, 0, file);
    const header = decodeHeader(h, file);
    if (header.width !== cube.width || header.height !== cube.height || header.channels !== cube.channels)
      throw new SnapshotError(file, `is ${header.width}x${header.height}x${header.channels}, cube is ${cube.width}x${cube.height}x${cube.channels}`);
    if (header.eMinKeV !== cube.eMinKeV || header.eMaxKeV !== cube.eMaxKeV)
      throw new SnapshotError(file, `energy grid ${header.eMinKeV}..${header.eMaxKeV} keV differs from the cube's ${cube.eMinKeV}..${cube.eMaxKeV} keV`);
    const size = fstatSync(fd).size;
    if (size !== expectedBytes(header)) throw new SnapshotError(file, `size ${size} bytes, expected ${expectedBytes(header)}`);
    let pos = HEADER_BYTES;
    for (const s of sections(cube)) {
      readExactly(fd, s, pos, file);
      pos += s.length;
    }
    const generation = cube.meta[META.generation]!;
    cube.meta.set(header.meta);
    cube.meta[META.generation] = generation + 1; // a restore is a deliberate change of counts, like reset()
    return header;
  } finally {
    closeSync(fd);
  }
}

/** A new cube holding the snapshot. */
export function loadSnapshot(file: string): { cube: Cube; header: SnapshotHeader } {
  const header = readSnapshotHeader(file);
  const cube = new Cube(header);
  return { cube, header: restoreSnapshotInto(cube, file) };
}
