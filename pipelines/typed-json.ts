// JSON with typed arrays kept binary: each typed array becomes {"$typed": type, "at": byte offset, "n": length}
// in the JSON and its bytes go into one blob area (8-byte aligned, host byte order: little-endian on every
// platform the daemon runs on, as in the cube checkpoint). Non-finite numbers (-Infinity clocks) become
// {"$num": "-Infinity"} since JSON has no spelling for them. Used for the formation-state checkpoint sidecar.
// Decoding never trusts the input: unknown types and out-of-range blobs throw.

const TYPES = {
  Float64Array, Uint16Array, Int32Array, Uint8Array,
} as const;
type TypedName = keyof typeof TYPES;
type Typed = InstanceType<(typeof TYPES)[TypedName]>;

function typedName(v: unknown): TypedName | null {
  for (const name of Object.keys(TYPES) as TypedName[]) if (v instanceof TYPES[name]) return name;
  return null;
}

const align8 = (n: number): number => (n + 7) & ~7;

/** The JSON text and the blob area for a value made of plain objects, arrays, numbers, strings, booleans,
 *  null and the typed arrays above. */
export function encodeTypedJson(value: unknown): { json: string; blobs: Uint8Array } {
  const parts: Uint8Array[] = [];
  let size = 0;
  const json = JSON.stringify(value, function (this: unknown, _key, v: unknown) {
    if (typeof v === 'number' && !Number.isFinite(v)) return { $num: String(v) };
    if (ArrayBuffer.isView(v)) {
      const name = typedName(v);
      if (!name) throw new Error(`typed JSON: ${v.constructor.name} is not supported`);
      const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      const at = size;
      parts.push(bytes);
      size = align8(size + bytes.length);
      return { $typed: name, at, n: (v as Typed).length };
    }
    return v;
  });
  const blobs = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    blobs.set(p, at);
    at = align8(at + p.length);
  }
  return { json, blobs };
}

/** The value back; typed arrays are fresh copies (not views of `blobs`). */
export function decodeTypedJson(json: string, blobs: Uint8Array): unknown {
  return JSON.parse(json, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const o = v as Record<string, unknown>;
    if ('$num' in o) {
      const n = Number(o.$num);
      if (Number.isFinite(n) || (Number.isNaN(n) && o.$num !== 'NaN')) throw new Error(`typed JSON: bad number ${String(o.$num)}`);
      return n;
    }
    if ('$typed' in o) {
      const name = o.$typed as TypedName;
      const Ctor = Object.hasOwn(TYPES, name) ? TYPES[name] : null;
      const at = o.at;
      const n = o.n;
      if (!Ctor || !Number.isSafeInteger(at) || !Number.isSafeInteger(n) || (at as number) < 0 || (n as number) < 0)
        throw new Error(`typed JSON: bad typed array reference ${JSON.stringify(o)}`);
      const bytes = (n as number) * Ctor.BYTES_PER_ELEMENT;
      if ((at as number) % 8 !== 0 || (at as number) + bytes > blobs.length) throw new Error(`typed JSON: typed array ${JSON.stringify(o)} outside the ${blobs.length}-byte blob area`);
      const out = new Ctor(n as number);
      new Uint8Array(out.buffer).set(blobs.subarray(at as number, (at as number) + bytes));
      return out;
    }
    return v;
  });
}
