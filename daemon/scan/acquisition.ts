// One scan's data path: raw chunks from the detector link are appended to the scan's raw.gemx first (the
// recording is the source of truth), then decoded by a decoder that sees exactly the recorded bytes from the
// recording's first data byte, so replaying raw.gemx reproduces the live cube. Checkpoints store the cube
// with the offset of the last whole frame it contains.
// A udp:// source (gemroc-udp) is recorded as a gemroc-udp recording: each datagram wrapped in a gemx
// DATAGRAM frame, and that frame's bytes are what the decoder sees; FrameSink's FrameEvents decodes the
// packet (config.detector.channelMap) into strip hits for event formation, exactly as recovery and export do
// when they read raw.gemx back. Per-board packet accounting comes from that decoder (gemroc()); event
// formation's counters (hits-level streams: gemx HITS frames, gemroc-udp) from FrameSink too (formation()).
// For hits-level and gemroc-udp streams a checkpoint also saves the formation state (clusters pending in event
// formation, the gemroc decoder's per-board state) next to the cube, taken at the same frame boundary, so
// recovery from it is exact (checkpoint-files.ts).
import { join } from 'node:path';
import { redactSecrets } from '../../config/redact.js';
import type { GemxrfConfig } from '../../config/index.js';
import { GemxDecoder, zeroGemxCounters, type GemxCounters } from '../../drivers/codecs/gemx-decode.js';
import { summarizeGemroc, zeroGemrocCounters, type GemrocSummary } from '../../drivers/codecs/gemroc-decode.js';
import { StreamFormat } from '../../drivers/codecs/recording-header.js';
import { RecordingWriter } from '../../drivers/file/recording-writer.js';
import { streamFormatOfUrl } from '../../drivers/stream-format.js';
import { Cube } from '../../pipelines/cube/cube.js';
import { zeroFormationCounters, type FormationCounters } from '../../pipelines/formation/event-former.js';
import { FrameSink } from '../../pipelines/frame-sink.js';
import { saveCheckpointFiles } from './checkpoint-files.js';

export const RAW_FILE = 'raw.gemx';
export const CHECKPOINT_FILE = 'cube.ckpt';

export interface CheckpointResult {
  file: string;
  recordingOffset: number;
  events: number;
}

export class Acquisition {
  readonly cube: Cube;
  readonly counters: GemxCounters = zeroGemxCounters();
  private readonly writer: RecordingWriter;
  private readonly decoder: GemxDecoder;
  private readonly sink: FrameSink;
  private checkpointing: Promise<CheckpointResult> | null = null;
  /** gemroc-udp source: every chunk is one datagram. */
  private readonly datagrams: boolean;
  private readonly t0 = process.hrtime.bigint();
  private readonly config: GemxrfConfig;
  closed = false;

  constructor(readonly dir: string, config: GemxrfConfig, meta: { scanId: string; name: string; source: string }) {
    this.cube = Cube.fromConfig(config);
    this.config = config;
    const streamFormat = streamFormatOfUrl(meta.source);
    this.datagrams = streamFormat === StreamFormat.GEMROC_UDP;
    // The config snapshot in the header makes the recording self-describing (grid, formation, calibration).
    this.writer = RecordingWriter.create(
      join(dir, RAW_FILE),
      { instrumentId: config.instrument.id, streamFormat, meta: { config: redactSecrets(config), source: meta.source, software: 'gemxrf 0.1.0', scanId: meta.scanId, name: meta.name } },
      { flushMs: config.storage.flushSeconds * 1000 },
    );
    const start = this.writer.header.headerLength;
    this.decoder = new GemxDecoder({ counters: this.counters, startOffset: start });
    this.sink = new FrameSink(this.cube, config, start);
  }

  get recordedBytes(): number {
    return this.writer.offset;
  }

  get streamFormat(): number {
    return this.writer.header.streamFormat;
  }

  /** Record, then process. Throws (with the scan's data so far intact) when the recording cannot be written. */
  push(chunk: Uint8Array): void {
    if (this.closed) return;
    // A datagram is wrapped in a DATAGRAM frame (time: ns since the scan started); the frame is both what
    // is recorded and what is decoded.
    const bytes = this.datagrams ? this.writer.datagramFrame(chunk, Number(process.hrtime.bigint() - this.t0)) : chunk;
    this.writer.append(bytes);
    for (const f of this.decoder.push(bytes)) this.sink.accept(f);
  }

  /** gemroc-udp scans: packets, hits and losses, per board; null for gemx streams. */
  gemroc(): GemrocSummary | null {
    if (!this.datagrams) return null;
    const g = this.sink.gemroc;
    return summarizeGemroc(g ?? zeroGemrocCounters());
  }

  /** Event formation's counters (hits in, events formed, every rejection) for hits-level streams: gemroc-udp
   *  scans (zeros before the first packet) and gemx streams once a HITS frame arrived; else null. */
  formation(): FormationCounters | null {
    return this.sink.formation ?? (this.datagrams ? zeroFormationCounters() : null);
  }

  /**
   * Flushes the recording to disk, then writes the cube with the offset it covers, and the formation state
   * at that offset when there is one. The arrays and the state are copied synchronously (consistent with
   * frameEnd) and written without blocking the event loop.
   */
  checkpoint(): Promise<CheckpointResult> {
    if (this.checkpointing) return this.checkpointing;
    const file = join(this.dir, CHECKPOINT_FILE);
    const run = async (): Promise<CheckpointResult> => {
      this.writer.flush();
      const recordingOffset = this.sink.frameEnd;
      const events = this.cube.totalEvents;
      await saveCheckpointFiles(this.cube, file, recordingOffset, this.sink.formationState(), this.config);
      return { file: CHECKPOINT_FILE, recordingOffset, events };
    };
    this.checkpointing = run().finally(() => {
      this.checkpointing = null;
    });
    return this.checkpointing;
  }

  /** Stop recording: decode what is buffered, flush formation, close the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.checkpointing) await this.checkpointing.catch(() => undefined);
    for (const f of this.decoder.end()) this.sink.accept(f);
    this.sink.flush();
    await this.writer.close();
  }

  /** The final checkpoint after close(): covers the whole recording (formation flushed: no state to carry). */
  async finalCheckpoint(): Promise<CheckpointResult> {
    const file = join(this.dir, CHECKPOINT_FILE);
    const recordingOffset = this.sink.frameEnd;
    await saveCheckpointFiles(this.cube, file, recordingOffset, null, this.config);
    return { file: CHECKPOINT_FILE, recordingOffset, events: this.cube.totalEvents };
  }

  get writerError(): Error | null {
    return this.writer.error;
  }
}
