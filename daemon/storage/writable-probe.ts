// Is the data directory writable right now? Asked by the health request. accessSync(W_OK) says yes to root
// whatever the directory became (read-only mount, replaced by a file, removed), so the probe really creates
// and removes a small file there. Requests can come often: the answer is kept for minIntervalMs.
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface WritableProbeOptions {
  /** A probe result is reused for this long (ms); default 5000. */
  minIntervalMs?: number;
  /** Clock (ms), for tests. */
  now?: () => number;
}

/** A function that answers whether `dir` takes a new file, probing at most once per minIntervalMs. */
export function writableProbe(dir: string, opts: WritableProbeOptions = {}): () => boolean {
  const minIntervalMs = opts.minIntervalMs ?? 5000;
  const now = opts.now ?? Date.now;
  const path = join(dir, `.health-write-test-${process.pid}`);
  let last: { at: number; ok: boolean } | null = null;
  return () => {
    const t = now();
    if (last && t - last.at < minIntervalMs) return last.ok;
    let ok = false;
    try {
      writeFileSync(path, 'ok');
      ok = true;
      unlinkSync(path);
    } catch {
      // a file written but not removable still says the directory takes writes; the next probe overwrites it
    }
    last = { at: t, ok };
    return ok;
  };
}
