// Appends a raw gemx stream to a .gemx recording: header first, then bytes exactly as received.
// Bytes are staged in memory and written through on an interval (default 1 s, config storage.flushSeconds)
// followed by fdatasync, so a process or machine crash loses at most about one interval.
import { closeSync, fdatasync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { encodeDatagramFrame } from '../codecs/gemx-encode.js';
import { encodeRecordingHeader, parseRecordingHeader, StreamFormat, type RecordingHeader, type RecordingMeta, type StreamFormatCode } from '../codecs/recording-header.js';

export interface RecordingWriterOptions {
  /** Write-through interval (ms). Default 1000. */
  flushMs?: number;
  /** fdatasync after each write-through (default true; off only for throwaway files and benchmarks). */
  sync?: boolean;
  /** Write through early once this much is staged (bytes). Default 4 MiB. */
  maxStagedBytes?: number;
  /** Replace an existing file (default false: refuse, a recording is never overwritten by accident). */
  overwrite?: boolean;
}

export interface NewRecording {
  instrumentId: string;
  meta: RecordingMeta;
  streamFormat?: StreamFormatCode;
  /** Default: now. */
  startTimeNs?: bigint;
}

export class RecordingWriter {
  readonly header: RecordingHeader;
  private fd: number | null;
  private staged = new Uint8Array(1 << 16);
  private stagedLen = 0;
  /** File offset of staged[0]. */
  private writtenBytes: number;
  private timer: NodeJS.Timeout | null = null;
  private syncing = false;
  private readonly sync: boolean;
  private readonly maxStaged: number;
  private datagramSeq = 0;
  /** First write/sync failure (e.g. disk full); append() and close() rethrow it. */
  error: Error | null = null;

  static create(path: string, rec: NewRecording, opts: RecordingWriterOptions = {}): RecordingWriter {
    return new RecordingWriter(path, rec, opts);
  }

  private constructor(readonly path: string, rec: NewRecording, opts: RecordingWriterOptions) {
    const startTimeNs = rec.startTimeNs ?? BigInt(Date.now()) * 1_000_000n;
    const headerBytes = encodeRecordingHeader({ streamFormat: rec.streamFormat ?? StreamFormat.GEMX, startTimeNs, instrumentId: rec.instrumentId, meta: rec.meta });
    const parsed = parseRecordingHeader(headerBytes);
    if (!parsed.ok) throw new Error(`recording header did not round-trip: ${parsed.error ?? 'short'}`);
    this.header = parsed.header;
    this.sync = opts.sync ?? true;
    this.maxStaged = opts.maxStagedBytes ?? 4 << 20;
    try {
      this.fd = openSync(path, opts.overwrite ? 'w' : 'wx');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(code === 'EEXIST' ? `${path} already exists (a recording is never overwritten)` : `cannot create ${path}: ${code ?? String(e)}`);
    }
    writeSync(this.fd, headerBytes);
    if (this.sync) fdatasyncSync(this.fd);
    this.writtenBytes = headerBytes.length;
    const flushMs = opts.flushMs ?? 1000;
    this.timer = setInterval(() => this.flushQuietly(), flushMs);
    this.timer.unref();
  }

  /** File offset where the next appended byte will land (what a checkpoint stores to resume from). */
  get offset(): number {
    return this.writtenBytes + this.stagedLen;
  }

  /** Bytes not yet handed to the OS. */
  get stagedBytes(): number {
    return this.stagedLen;
  }

  /** Appends raw stream bytes (copied); returns the file offset they start at. */
  append(bytes: Uint8Array): number {
    if (this.error) throw this.error;
    if (this.fd === null) throw new Error(`recording ${this.path} is closed`);
    const at = this.offset;
    if (this.stagedLen + bytes.length > this.staged.length) {
      const grown = new Uint8Array(Math.max(this.staged.length * 2, this.stagedLen + bytes.length));
      grown.set(this.staged.subarray(0, this.stagedLen));
      this.staged = grown;
    }
    this.staged.set(bytes, this.stagedLen);
    this.stagedLen += bytes.length;
    if (this.stagedLen >= this.maxStaged) this.writeThrough();
    return at;
  }

  /** For datagram streams (gemroc-udp): wraps one datagram in a gemx DATAGRAM frame, keeping its boundary. */
  appendDatagram(datagram: Uint8Array, timeNs: number, tag = 0): number {
    return this.append(this.datagramFrame(datagram, timeNs, tag));
  }

  /** The DATAGRAM frame appendDatagram would write (numbered in this recording's sequence), for a caller that
   *  appends it itself and also hands the same bytes to a decoder (the daemon's acquisition). */
  datagramFrame(datagram: Uint8Array, timeNs: number, tag = 0): Uint8Array {
    const frame = encodeDatagramFrame(this.datagramSeq, Math.max(0, Math.round(timeNs)), tag, datagram);
    this.datagramSeq = (this.datagramSeq + 1) % 0x1_0000_0000;
    return frame;
  }

  /** Writes staged bytes through to the OS now and syncs them to disk. */
  flush(): void {
    if (this.error) throw this.error;
    this.writeThrough();
    if (this.fd !== null && this.sync) fdatasyncSync(this.fd);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.fd === null) return;
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  private writeThrough(): void {
    if (this.fd === null || this.stagedLen === 0) return;
    let done = 0;
    while (done < this.stagedLen) done += writeSync(this.fd, this.staged, done, this.stagedLen - done);
    this.writtenBytes += this.stagedLen;
    this.stagedLen = 0;
  }

  /** Interval flush: never throws (a timer cannot), keeps the first error for the next append. */
  private flushQuietly(): void {
    if (this.error || this.fd === null) return;
    try {
      this.writeThrough();
    } catch (e) {
      this.error = new Error(`recording ${this.path}: write failed: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      return;
    }
    if (!this.sync || this.syncing) return;
    this.syncing = true;
    const fd = this.fd;
    fdatasync(fd, (err) => {
      this.syncing = false;
      if (err && !this.error && this.fd === fd) this.error = new Error(`recording ${this.path}: sync failed: ${err.code ?? err.message}`);
    });
  }
}
