// Reconnect delays shared by the stream transports (serial, tcp, usb): exponential growth from minMs to
// maxMs with jitter, so several daemons (or several links of one daemon) that lost the same detector do not
// hammer it in lockstep. A successful connection resets the sequence.

export interface BackoffOptions {
  /** First delay (ms); source.reconnectMinMs in the config. */
  minMs: number;
  /** Ceiling (ms); source.reconnectMaxMs in the config. */
  maxMs: number;
  /** Uniform [0, 1) source; injectable so tests are deterministic. */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions) {
    if (!(opts.minMs >= 0) || !(opts.maxMs >= 0)) throw new Error(`backoff: minMs and maxMs must be >= 0 (got ${opts.minMs}, ${opts.maxMs})`);
    this.minMs = opts.minMs;
    this.maxMs = Math.max(opts.minMs, opts.maxMs);
    this.random = opts.random ?? Math.random;
  }

  /** Number of delays handed out since the last reset (= consecutive failed attempts). */
  get attempts(): number {
    return this.attempt;
  }

  /**
   * The next delay: the exponential ceiling min * 2^attempt (capped at max), then "equal jitter" — half the
   * ceiling plus a random share of the other half — never below min.
   */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.max(this.minMs, Math.round(ceiling / 2 + this.random() * (ceiling / 2)));
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Reads reconnect bounds from a transport URL (?reconnectMinMs=&reconnectMaxMs=), else the given defaults. */
export function backoffFromUrl(url: URL, defaults: { minMs: number; maxMs: number } = DEFAULT_RECONNECT): BackoffOptions {
  const num = (key: string, fallback: number): number => {
    const raw = url.searchParams.get(key);
    if (raw === null) return fallback;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${key}: expected a number of milliseconds >= 0, got '${raw}'`);
    return v;
  };
  return { minMs: num('reconnectMinMs', defaults.minMs), maxMs: num('reconnectMaxMs', defaults.maxMs) };
}

/** The config schema's defaults (source.reconnectMinMs / reconnectMaxMs). */
export const DEFAULT_RECONNECT = { minMs: 200, maxMs: 10_000 } as const;

/**
 * Adds the config's reconnect bounds (source.reconnectMinMs / reconnectMaxMs) to a transport URL unless the
 * URL already sets them: how the daemon hands its config to openTransport(url), which only takes a URL.
 */
export function withReconnectParams(urlString: string, source: { reconnectMinMs: number; reconnectMaxMs: number }): string {
  let url: URL;
  try {
    url = new URL(urlString);
  } catch {
    return urlString; // openTransport reports the bad URL with its own message
  }
  if (url.protocol === 'file:') return urlString;
  if (!url.searchParams.has('reconnectMinMs')) url.searchParams.set('reconnectMinMs', String(source.reconnectMinMs));
  if (!url.searchParams.has('reconnectMaxMs')) url.searchParams.set('reconnectMaxMs', String(source.reconnectMaxMs));
  return url.toString();
}
