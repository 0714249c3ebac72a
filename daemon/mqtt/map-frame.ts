// The binary payload of live/maps/<method>/<element> (docs/mqtt.md): a small self-describing header, then
// little-endian float32 data, height rows of width values. Dashboards decode it without other context.
//
//  offset size field
//  0      4    magic "GXMP"
//  4      1    version (1)
//  5      1    dtype (1 = float32 little-endian)
//  6      2    header length H in bytes (data starts at H; H is a multiple of 4)
//  8      2    width
//  10     2    height
//  12     4    sequence (u32, per method, increments on each publication)
//  16     8    timestamp (f64, ms since the Unix epoch)
//  24     ...  three strings, each u8 length + UTF-8: element, method, scan id; then zero padding to H
//  H      4*width*height  data

export const MAP_FRAME_MAGIC = 'GXMP';
export const MAP_FRAME_VERSION = 1;
export const DTYPE_FLOAT32 = 1;

export interface MapFrame {
  element: string;
  method: string;
  scanId: string;
  width: number;
  height: number;
  sequence: number;
  timestampMs: number;
  data: Float32Array;
}

export function encodeMapFrame(f: MapFrame): Buffer {
  const strings = [f.element, f.method, f.scanId].map((s) => {
    const b = Buffer.from(s, 'utf8');
    if (b.length > 255) throw new Error(`map frame string too long: ${s.slice(0, 20)}...`);
    return b;
  });
  const raw = 24 + strings.reduce((a, b) => a + 1 + b.length, 0);
  const headerLen = Math.ceil(raw / 4) * 4;
  const n = f.width * f.height;
  if (f.data.length < n) throw new Error(`map data has ${f.data.length} values, expected ${n}`);
  const buf = Buffer.alloc(headerLen + 4 * n);
  buf.write(MAP_FRAME_MAGIC, 0, 'latin1');
  buf.writeUInt8(MAP_FRAME_VERSION, 4);
  buf.writeUInt8(DTYPE_FLOAT32, 5);
  buf.writeUInt16LE(headerLen, 6);
  buf.writeUInt16LE(f.width, 8);
  buf.writeUInt16LE(f.height, 10);
  buf.writeUInt32LE(f.sequence >>> 0, 12);
  buf.writeDoubleLE(f.timestampMs, 16);
  let o = 24;
  for (const s of strings) {
    buf.writeUInt8(s.length, o);
    s.copy(buf, o + 1);
    o += 1 + s.length;
  }
  // Little-endian hosts (x86, ARM) can copy the Float32Array bytes as they are.
  Buffer.from(f.data.buffer, f.data.byteOffset, n * 4).copy(buf, headerLen);
  return buf;
}

export function decodeMapFrame(buf: Uint8Array): MapFrame {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 24 || b.toString('latin1', 0, 4) !== MAP_FRAME_MAGIC) throw new Error('not a gemxrf map frame (bad magic)');
  const version = b.readUInt8(4);
  if (version !== MAP_FRAME_VERSION) throw new Error(`unsupported map frame version ${version}`);
  if (b.readUInt8(5) !== DTYPE_FLOAT32) throw new Error(`unsupported map dtype ${b.readUInt8(5)}`);
  const headerLen = b.readUInt16LE(6);
  const width = b.readUInt16LE(8);
  const height = b.readUInt16LE(10);
  const strings: string[] = [];
  let o = 24;
  for (let i = 0; i < 3; i++) {
    const len = b.readUInt8(o);
    strings.push(b.toString('utf8', o + 1, o + 1 + len));
    o += 1 + len;
  }
  if (b.length !== headerLen + 4 * width * height) throw new Error(`map frame length ${b.length} != header ${headerLen} + data ${4 * width * height}`);
  const data = new Float32Array(width * height);
  Buffer.from(data.buffer).set(b.subarray(headerLen));
  return {
    element: strings[0]!,
    method: strings[1]!,
    scanId: strings[2]!,
    width,
    height,
    sequence: b.readUInt32LE(12),
    timestampMs: b.readDoubleLE(16),
    data,
  };
}
