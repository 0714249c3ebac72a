// The emulator's clock: every framePeriodMs it asks the source for everything that arrived since the last
// tick (so the rate holds even when a tick is late), frames it, applies the wire faults and writes the tick's
// units to the endpoint in one go. The device clock starts when the first receiver connects (unless told
// otherwise), so a test or the daemon sees the stream from sequence number 0.
import { performance } from 'node:perf_hooks';
import type { PacedSource } from './paced-source.js';
import type { Framer } from './framer.js';
import type { WireEndpoint } from './endpoint.js';
import { FaultInjector, type FaultOptions } from './fault-injector.js';

export interface FramePumpOptions {
  source: PacedSource;
  framer: Framer;
  endpoint: WireEndpoint;
  /** Records per second the source is set to (for STATUS frames and the catch-up cap). */
  rate: number;
  /** Tick period (ms); one batch per tick. Default 5. */
  framePeriodMs?: number;
  /** Seconds between STATUS frames (0: none). Default 1. */
  statusEverySec?: number;
  /** Stop (END frame, close) after this many seconds of device time. */
  durationSec?: number;
  /** Stop (END frame, close) after this many data records. */
  maxRecords?: number;
  faults?: FaultOptions;
  seed?: number;
  /** When the device clock starts: once a receiver is there (default), at once, or on begin(). */
  start?: 'receiver' | 'now' | 'manual';
}

export interface EmulatorStats {
  running: boolean;
  /** Device time since the clock started (s). */
  elapsedSec: number;
  ticks: number;
  /** Units (frames/datagrams) the device produced, by fate. */
  framesGenerated: number;
  framesSent: number;
  framesDropped: number;
  framesCorrupted: number;
  /** Frames written while no receiver was connected (lost like an unplugged cable loses them). */
  framesUnheard: number;
  statusFrames: number;
  endFrames: number;
  /** Data records (events or hits) the device produced, and those in dropped / corrupted / unheard units. */
  records: number;
  recordsDropped: number;
  recordsCorrupted: number;
  recordsUnheard: number;
  bytesSent: number;
  garbageBytes: number;
  garbageChunks: number;
  disconnects: number;
  /** Records per second actually produced since the clock started. */
  achievedRate: number;
  /** Largest delay of a tick behind its due time (ms): the longest the thread was busy elsewhere. */
  maxTickLagMs: number;
  /**
   * Ticks that hit the catch-up cap (50 ms of records): the emulator could not keep up with the rate and
   * carried records over; non-zero means the achieved rate is below the requested one.
   */
  cappedTicks: number;
  /** Dropped / corrupted units (stream = 0 for gemx, the board for gemroc), for exact checks (first 10000). */
  droppedUnits: WireUnitId[];
  corruptedUnits: WireUnitId[];
  endpoint: Record<string, unknown>;
}

export interface WireUnitId {
  stream: number;
  seq: number;
}

const MAX_LISTED_UNITS = 10_000;

export class FramePump {
  private readonly s: EmulatorStats;
  private readonly faults: FaultInjector;
  private readonly periodMs: number;
  private readonly statusEveryNs: number;
  private readonly maxRecordsPerTick: number;
  private t0 = 0;
  private lastTickEndMs = 0;
  private generatedNs = 0;
  /** Device time of the last STATUS frame; -Infinity so the first tick announces the device state. */
  private lastStatusNs = -Infinity;
  /** Units and records queued for the wire in the current tick (for the unheard count). */
  private tickUnits = 0;
  private tickRecords = 0;
  private timer: NodeJS.Timeout | undefined;
  private disconnectTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private started = false;
  private resolveDone!: () => void;
  /** Resolves once the pump stopped (duration, maxRecords or stop()) and the endpoint closed. */
  readonly done: Promise<void>;

  constructor(private readonly o: FramePumpOptions) {
    this.faults = new FaultInjector(o.faults ?? {}, o.seed ?? 1);
    this.periodMs = o.framePeriodMs ?? 5;
    if (!(this.periodMs >= 0.5 && this.periodMs <= 1000)) throw new Error(`framePeriodMs: 0.5..1000, got ${this.periodMs}`);
    if (!(o.rate > 0)) throw new Error(`rate: must be > 0, got ${o.rate}`);
    this.statusEveryNs = (o.statusEverySec ?? 1) * 1e9;
    // A late tick catches up at most 50 ms of records at once (the remainder follows in the next, immediate
    // tick), so one stall does not turn into one giant, cache-unfriendly batch.
    this.maxRecordsPerTick = Math.max(1024, Math.ceil(o.rate * 0.05));
    this.s = {
      running: false, elapsedSec: 0, ticks: 0, framesGenerated: 0, framesSent: 0, framesDropped: 0, framesCorrupted: 0,
      framesUnheard: 0, statusFrames: 0, endFrames: 0, records: 0, recordsDropped: 0, recordsCorrupted: 0, recordsUnheard: 0,
      bytesSent: 0, garbageBytes: 0, garbageChunks: 0, disconnects: 0, achievedRate: 0, maxTickLagMs: 0, cappedTicks: 0,
      droppedUnits: [], corruptedUnits: [], endpoint: {},
    };
    this.done = new Promise<void>((r) => (this.resolveDone = r));
  }

  start(): void {
    const mode = this.o.start ?? 'receiver';
    if (mode === 'receiver') void this.o.endpoint.whenReceiver().then(() => this.begin());
    else if (mode === 'now') this.begin();
  }

  /** Starts the device clock now (start: 'manual'); no effect once started or stopped. */
  begin(): void {
    if (this.stopping || this.started) return;
    this.started = true;
    this.t0 = performance.now();
    this.s.running = true;
    if (this.o.faults?.disconnectEverySec) {
      this.disconnectTimer = setInterval(() => {
        this.s.disconnects++;
        void this.o.endpoint.disconnect();
      }, this.o.faults.disconnectEverySec * 1000);
    }
    this.schedule(1);
  }

  stats(): EmulatorStats {
    const elapsed = this.s.running ? (performance.now() - this.t0) / 1000 : this.s.elapsedSec;
    return {
      ...this.s,
      elapsedSec: elapsed,
      achievedRate: elapsed > 0 ? this.s.records / elapsed : 0,
      droppedUnits: [...this.s.droppedUnits],
      corruptedUnits: [...this.s.corruptedUnits],
      endpoint: this.o.endpoint.stats(),
    };
  }

  /** Sends END (when the clock ran) and closes the endpoint. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.finish();
    return this.stopping;
  }

  private schedule(k: number): void {
    const due = this.t0 + k * this.periodMs;
    this.timer = setTimeout(() => this.tick(k, due), Math.max(0, due - performance.now()));
  }

  private tick(k: number, dueMs: number): void {
    this.timer = undefined;
    if (this.stopping) return;
    const now = performance.now();
    // Delay beyond our own previous tick: time the thread spent on something else (or was not scheduled).
    this.s.maxTickLagMs = Math.max(this.s.maxTickLagMs, now - Math.max(dueMs, this.lastTickEndMs));
    let targetNs = (now - this.t0) * 1e6;
    const durationNs = this.o.durationSec !== undefined ? this.o.durationSec * 1e9 : Infinity;
    if (targetNs > durationNs) targetNs = durationNs;
    let cap = this.maxRecordsPerTick;
    if (this.o.maxRecords !== undefined) cap = Math.min(cap, this.o.maxRecords - this.s.records);
    const batch = this.o.source.generate(Math.max(0, targetNs - this.generatedNs), cap);
    this.generatedNs = targetNs;
    this.s.ticks++;
    if (batch.n >= cap && cap === this.maxRecordsPerTick) this.s.cappedTicks++;
    const out: Uint8Array[] = [];
    this.tickUnits = 0;
    this.tickRecords = 0;
    for (const u of this.o.framer.frames(batch)) {
      this.s.framesGenerated++;
      this.s.records += u.records;
      this.place(u.bytes, { stream: u.stream, seq: u.seq }, u.records, out);
    }
    if (this.statusEveryNs > 0 && targetNs - this.lastStatusNs >= this.statusEveryNs) {
      this.lastStatusNs = targetNs;
      const rate = this.o.rate;
      const st = this.o.framer.status(targetNs, { eventRateHz: this.o.source.level === 'events' ? rate : 0, hitRateHz: this.o.source.level === 'hits' ? rate : 0, deviceDropped: 0 });
      if (st) {
        this.s.statusFrames++;
        this.s.framesGenerated++;
        this.place(st.bytes, { stream: st.stream, seq: st.seq }, 0, out);
      }
    }
    this.send(out);
    const finished = targetNs >= durationNs || (this.o.maxRecords !== undefined && this.s.records >= this.o.maxRecords);
    if (finished) void this.stop();
    // Behind schedule, ticks run back to back, each catching up at most the cap: small batches stay in cache.
    else this.schedule(k + 1);
    this.lastTickEndMs = performance.now();
  }

  /** Applies the wire faults to one unit and queues what goes on the wire. */
  private place(bytes: Uint8Array, id: WireUnitId, records: number, out: Uint8Array[]): void {
    const g = this.faults.active ? this.faults.garbage() : null;
    if (g) {
      out.push(g);
      this.s.garbageBytes += g.length;
      this.s.garbageChunks++;
    }
    const fate = this.faults.active ? this.faults.fate() : 'send';
    if (fate === 'drop') {
      this.s.framesDropped++;
      this.s.recordsDropped += records;
      if (this.s.droppedUnits.length < MAX_LISTED_UNITS) this.s.droppedUnits.push(id);
      return;
    }
    if (fate === 'corrupt') {
      this.s.framesCorrupted++;
      this.s.recordsCorrupted += records;
      if (this.s.corruptedUnits.length < MAX_LISTED_UNITS) this.s.corruptedUnits.push(id);
      out.push(this.faults.corrupt(bytes));
    } else out.push(bytes);
    this.s.framesSent++;
    this.tickUnits++;
    this.tickRecords += records;
  }

  private send(out: Uint8Array[]): void {
    if (out.length === 0) return;
    const heard = this.o.endpoint.write(out);
    let bytes = 0;
    for (const b of out) bytes += b.length;
    if (heard) this.s.bytesSent += bytes;
    else {
      // Everything this tick put on the wire (dropped units excluded) went nowhere.
      this.s.framesUnheard += this.tickUnits;
      this.s.recordsUnheard += this.tickRecords;
    }
  }

  private async finish(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (this.disconnectTimer) clearInterval(this.disconnectTimer);
    if (this.s.running) {
      const end = this.o.framer.end(this.generatedNs, this.s.framesGenerated, this.s.records);
      if (end) {
        this.s.endFrames++;
        this.s.framesGenerated++;
        if (this.o.endpoint.write([end.bytes])) this.s.bytesSent += end.bytes.length;
      }
      this.s.elapsedSec = (performance.now() - this.t0) / 1000;
      this.s.running = false;
    }
    await this.o.endpoint.close();
    this.resolveDone();
  }
}
