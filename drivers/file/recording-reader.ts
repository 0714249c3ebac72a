// Reads a .gemx recording: the header, then the frames with their byte offsets (crash recovery resumes
// from a checkpoint's offset). Frames are found by the same streaming decoder the live link uses, so a
// damaged recording reads like a damaged link: bad bytes are skipped and counted, never thrown.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { GemxDecoder, zeroGemxCounters, type DecodedFrame, type GemxCounters } from '../codecs/gemx-decode.js';
import { parseRecordingHeader, type RecordingHeader } from '../codecs/recording-header.js';

export class RecordingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordingError';
  }
}

export interface FrameReadOptions {
  /** File offset to start at (default: just after the header). */
  fromOffset?: number;
  /** Stop before this file offset (default: end of file as it is now). */
  toOffset?: number;
  decodePayload?: boolean;
  keepRaw?: boolean;
  counters?: GemxCounters;
  /** Read size (bytes). */
  blockBytes?: number;
}

export class RecordingReader {
  private fd: number | null;

  static open(path: string): RecordingReader {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw new RecordingError(`cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    try {
      const size = fstatSync(fd).size;
      let want = 4096;
      for (;;) {
        const buf = new Uint8Array(Math.min(want, size));
        const n = readSync(fd, buf, 0, buf.length, 0);
        const r = parseRecordingHeader(buf.subarray(0, n));
        if (r.ok) return new RecordingReader(path, fd, r.header);
        if (r.error !== undefined) throw new RecordingError(`${path}: ${r.error}`);
        if (r.need <= n || n >= size) throw new RecordingError(`${path}: truncated recording header (${size} bytes)`);
        want = r.need;
      }
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  private constructor(readonly path: string, fd: number, readonly header: RecordingHeader) {
    this.fd = fd;
  }

  /** Current file size (a recording being written grows). */
  get fileSize(): number {
    return fstatSync(this.handle()).size;
  }

  /** Raw file bytes [from, to), clamped to the file. */
  readBytes(from: number, to: number): Uint8Array {
    const len = Math.max(0, to - from);
    const buf = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const n = readSync(this.handle(), buf, done, len - done, from + done);
      if (n === 0) break;
      done += n;
    }
    return done === len ? buf : buf.subarray(0, done);
  }

  /** Every frame from `fromOffset`, in file order, with `offset` = its file offset. */
  *frames(opts: FrameReadOptions = {}): Generator<DecodedFrame, GemxCounters, void> {
    const counters = opts.counters ?? zeroGemxCounters();
    const from = Math.max(opts.fromOffset ?? this.header.headerLength, this.header.headerLength);
    const to = opts.toOffset ?? this.fileSize;
    const decoder = new GemxDecoder({ counters, startOffset: from, decodePayload: opts.decodePayload ?? true, keepRaw: opts.keepRaw ?? false });
    const block = opts.blockBytes ?? 1 << 20;
    for (let pos = from; pos < to; ) {
      const chunk = this.readBytes(pos, Math.min(to, pos + block));
      if (chunk.length === 0) break;
      pos += chunk.length;
      yield* decoder.push(chunk);
    }
    yield* decoder.end();
    return counters;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private handle(): number {
    if (this.fd === null) throw new RecordingError(`${this.path}: reader is closed`);
    return this.fd;
  }
}
