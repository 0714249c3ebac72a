// Decoder of the daemon's binary map frames (GXMP v1, docs/mqtt.md; encoder in daemon/mqtt/map-frame.ts).
// The values are a Float32Array view into the received message when its data is 4-byte aligned (it is:
// the header length is a multiple of 4 and MQTT payloads usually start aligned), else one copy.

export interface GxmpFrame {
  element: string;
  method: string;
  scanId: string;
  width: number;
  height: number;
  sequence: number;
  timestampMs: number;
  data: Float32Array;
}

const utf8 = new TextDecoder();

export function decodeGxmp(buf: Uint8Array): GxmpFrame {
  if (buf.byteLength < 24 || buf[0] !== 0x47 || buf[1] !== 0x58 || buf[2] !== 0x4d || buf[3] !== 0x50) throw new Error('not a GXMP map frame (bad magic)');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint8(4) !== 1) throw new Error(`unsupported GXMP version ${dv.getUint8(4)}`);
  if (dv.getUint8(5) !== 1) throw new Error(`unsupported GXMP dtype ${dv.getUint8(5)}`);
  const headerLen = dv.getUint16(6, true);
  const width = dv.getUint16(8, true);
  const height = dv.getUint16(10, true);
  const n = width * height;
  if (buf.byteLength !== headerLen + 4 * n) throw new Error(`GXMP length ${buf.byteLength} != ${headerLen} + 4*${n}`);
  const strings: string[] = [];
  let o = 24;
  for (let i = 0; i < 3; i++) {
    const len = dv.getUint8(o);
    strings.push(utf8.decode(buf.subarray(o + 1, o + 1 + len)));
    o += 1 + len;
  }
  const start = buf.byteOffset + headerLen;
  // Float32Array views need 4-byte alignment; the payload is little-endian like every host a browser runs on.
  // The copy is explicit: a Node (or mqtt.js's browser polyfill) Buffer's slice() is a view, whose .buffer is the
  // whole receive pool, not the values.
  let data: Float32Array;
  if (start % 4 === 0) data = new Float32Array(buf.buffer, start, n);
  else {
    data = new Float32Array(n);
    new Uint8Array(data.buffer).set(buf.subarray(headerLen, headerLen + 4 * n));
  }
  return { element: strings[0]!, method: strings[1]!, scanId: strings[2]!, width, height, sequence: dv.getUint32(12, true), timestampMs: dv.getFloat64(16, true), data };
}
