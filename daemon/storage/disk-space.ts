// Free space of the data directory's filesystem (fs.promises.statfs), for health, the retained state and the
// storage.minFreeGB guard (scan/start refused below it, a running scan stopped with reason 'disk'). A sample
// is one statfs call, kept for minIntervalMs: health and state read the kept value, the daemon refreshes it on
// a timer (never from the detector data path), and scan/start asks for a fresh one.
// freeBytes counts the blocks available to unprivileged users (bavail), as df's "Avail": on ext4 the blocks
// reserved for root are not counted as free, so the guard keeps its margin even for a daemon running as root.
import { statfs } from 'node:fs/promises';

export const GIB = 2 ** 30;

export interface FreeSpace {
  /** Bytes available in the data directory's filesystem (bavail x bsize). */
  freeBytes: number;
  /** The filesystem's size (blocks x bsize). */
  totalBytes: number;
  sampledAt: string;
}

/** "1.23 GiB" / "512.0 MiB": bytes for an operator. */
export function formatBytes(bytes: number): string {
  if (bytes >= GIB) return `${(bytes / GIB).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

export class DiskSpace {
  /** The latest sample, null before the first or while statfs fails. */
  last: FreeSpace | null = null;
  /** Why the latest statfs failed (the directory was removed, ...), else null. */
  lastError: string | null = null;
  private lastAtMs = -Infinity;
  private inflight: Promise<FreeSpace | null> | null = null;

  constructor(readonly dir: string, private readonly minIntervalMs = 2000) {}

  /** The free space now: the kept sample while younger than minIntervalMs (unless `fresh`), else one statfs
   *  (concurrent callers share it). Never rejects: null when statfs fails (lastError says why). */
  sample(fresh = false): Promise<FreeSpace | null> {
    if (this.inflight) return this.inflight;
    if (!fresh && Date.now() - this.lastAtMs < this.minIntervalMs) return Promise.resolve(this.last);
    this.inflight = (async () => {
      try {
        const s = await statfs(this.dir);
        this.last = { freeBytes: Number(s.bavail) * Number(s.bsize), totalBytes: Number(s.blocks) * Number(s.bsize), sampledAt: new Date().toISOString() };
        this.lastError = null;
      } catch (e) {
        this.last = null;
        this.lastError = (e as Error).message;
      }
      this.lastAtMs = Date.now();
      return this.last;
    })().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /** Samples now and every intervalMs (the timer does not keep the process alive), calling onSample with each
   *  result (null: statfs failed). Returns the function that ends the watch. */
  watch(intervalMs: number, onSample: (s: FreeSpace | null) => void): () => void {
    let ended = false;
    const tick = () => void this.sample(true).then((s) => {
      if (!ended) onSample(s);
    });
    const timer = setInterval(tick, intervalMs);
    timer.unref();
    tick();
    return () => {
      ended = true;
      clearInterval(timer);
    };
  }
}
