// Small, strict readers for transport URL query parameters: a bad value is an error naming the key, never a
// silent default.

export function intParam(url: URL, key: string, fallback: number, opts: { min?: number; max?: number } = {}): number {
  const raw = url.searchParams.get(key);
  if (raw === null || raw === '') return fallback;
  const v = /^0x[0-9a-f]+$/i.test(raw) ? parseInt(raw, 16) : Number(raw);
  if (!Number.isInteger(v)) throw new Error(`${key}: expected an integer, got '${raw}'`);
  if (opts.min !== undefined && v < opts.min) throw new Error(`${key}: must be >= ${opts.min}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) throw new Error(`${key}: must be <= ${opts.max}, got ${v}`);
  return v;
}

export function boolParam(url: URL, key: string, fallback: boolean): boolean {
  const raw = url.searchParams.get(key);
  if (raw === null || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`${key}: expected true or false, got '${raw}'`);
}

/** Rejects query keys the transport does not know (a typo must not silently fall back to a default). */
export function checkKnownParams(url: URL, known: readonly string[]): void {
  for (const key of url.searchParams.keys()) {
    if (!known.includes(key)) throw new Error(`unknown parameter '${key}' (known: ${known.join(', ')})`);
  }
}

/** A hex (0x1234) or decimal id such as a USB vendor/product id, 0..0xffff. */
export function parseId(raw: string, what: string): number {
  const v = /^0x[0-9a-f]{1,4}$/i.test(raw) ? parseInt(raw, 16) : /^[0-9a-f]{4}$/i.test(raw) ? parseInt(raw, 16) : NaN;
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new Error(`${what}: expected a 16-bit hex id such as 0x0403, got '${raw}'`);
  return v;
}

export const RECONNECT_PARAMS = ['reconnect', 'reconnectMinMs', 'reconnectMaxMs'] as const;
