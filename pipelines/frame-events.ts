// From decoded gemx items to the event batches to histogram: the one place that says what an item does.
// EVENTS items pass through unchanged; HITS items go through event formation (an EventFormer made from
// config.formation / config.detector on the first HITS item); DATAGRAM items (a gemroc-udp recording's
// wrapped packets) are decoded by a GemrocDecoder (config.detector.channelMap, made on the first datagram)
// into strip hits that take the HITS path; STATUS items are counted; an END item (the sender's stream ended)
// is counted and flushes event formation, as flush() does at the end of the stream, releasing the clusters
// still waiting for their partner plane.
//
// Why one class: the ARCHITECTURE's "one model, one path" rule. The live scan (FrameSink, assemblePipeline),
// crash recovery, exports and the offline CLI (`gemxrf maps` / `calibrate`) all use it, so a cube rebuilt
// from a recording (or from a checkpoint plus the recording's tail) is filled by exactly the steps the live
// scan took. A second copy of this switch would drift (a formation setting, an empty batch, a late flush)
// and the rebuilt cube would silently differ from the live one.
import type { GemxrfConfig } from '../config/schema.js';
import type { EventBatch } from '../drivers/batches.js';
import type { GemxItem } from '../drivers/codecs/gemx-decode.js';
import { GemrocDecoder, type GemrocCounters, type GemrocDecoderState } from '../drivers/codecs/gemroc-decode.js';
import type { ChannelMapEntry } from '../config/schema.js';
import { EventFormer, type FormationCounters } from './formation/event-former.js';
import type { EventFormerState } from './formation/former-state.js';

/** What event formation needs from the configuration. */
export type FrameEventsConfig = Pick<GemxrfConfig, 'formation' | 'detector'>;

/** The item counters of a FrameEvents. */
export interface FrameItemCounts {
  eventFrames: number;
  hitFrames: number;
  statusFrames: number;
  endFrames: number;
  datagramFrames: number;
  eventsOut: number;
}

/**
 * What a FrameEvents holds between items that the cube does not (checkpoints): event formation's pending
 * state and the gemroc decoder's, each null when that stage was never created.
 */
export interface FrameEventsState {
  counts: FrameItemCounts;
  former: EventFormerState | null;
  gemroc: GemrocDecoderState | null;
}

export class FrameEvents {
  /** EVENTS items seen (empty ones included). */
  eventFrames = 0;
  /** HITS items seen. */
  hitFrames = 0;
  /** STATUS items seen. */
  statusFrames = 0;
  /** END items seen. */
  endFrames = 0;
  /** DATAGRAM items seen (gemroc-udp packets; their hits count in the gemroc counters). */
  datagramFrames = 0;
  /** Events handed out: EVENTS items' events plus formed events (flush included). */
  eventsOut = 0;

  private former: EventFormer | null;
  private readonly makeFormer: () => EventFormer;
  private gemrocDecoder: GemrocDecoder | null = null;
  private readonly channelMap: readonly ChannelMapEntry[] | null;

  /**
   * From the configuration: the former is created on the first HITS item, so an events-level stream never
   * holds one (and formsEvents stays false). Or around an existing former (assemblePipeline owns one and
   * exposes its counters): then formsEvents is true from the start and flush() always flushes it; datagram
   * items are decoded only when opts.channelMap is given (else counted and ignored).
   */
  constructor(source: FrameEventsConfig | EventFormer, opts: { channelMap?: readonly ChannelMapEntry[] } = {}) {
    if (source instanceof EventFormer) {
      this.former = source;
      this.makeFormer = () => source;
      this.channelMap = opts.channelMap ?? null;
    } else {
      this.former = null;
      this.makeFormer = () => new EventFormer(source.formation, source.detector);
      this.channelMap = opts.channelMap ?? source.detector.channelMap;
    }
  }

  /** The gemroc decoder's counters (per-board packets and losses), or null before the first datagram. */
  get gemroc(): GemrocCounters | null {
    return this.gemrocDecoder?.counters ?? null;
  }

  /** Event formation's counters (hits in, events formed, every rejection), or null while no former exists
   *  (an events-level stream never has one). */
  get formation(): FormationCounters | null {
    return this.former?.counters() ?? null;
  }

  /** True once an event former exists: clusters may be pending that only flush() releases (a checkpoint
   *  carries them as snapshot()). */
  get formsEvents(): boolean {
    return this.former !== null;
  }

  get endSeen(): boolean {
    return this.endFrames > 0;
  }

  /**
   * The event batch this item contributes, or null. An EVENTS item is returned as it is, even when empty
   * (callers that skip empty batches check n); formed events are returned only when there are some. A formed
   * batch is only valid until the next accept() or flush().
   */
  accept(item: GemxItem | null): EventBatch | null {
    if (!item) return null;
    switch (item.kind) {
      case 'events':
        this.eventFrames++;
        this.eventsOut += item.n;
        return item;
      case 'hits': {
        this.hitFrames++;
        this.former ??= this.makeFormer();
        return this.formed(this.former.push(item));
      }
      case 'status':
        this.statusFrames++;
        return null;
      case 'end':
        // The sender's stream ended (it numbers afresh after END, and a restarted device's clock starts again
        // near 0): release what formation holds and start it afresh, or every hit of the next stream would
        // be older than the time already settled and dropped as late.
        this.endFrames++;
        return this.former ? this.formed(this.former.flush()) : null;
      case 'datagram': {
        this.datagramFrames++;
        if (!this.channelMap) return null;
        this.gemrocDecoder ??= new GemrocDecoder(this.channelMap);
        // Rejected and duplicate packets decode to null; an empty packet forms nothing.
        const hits = this.gemrocDecoder.decode(item.payload);
        if (!hits || hits.n === 0) return null;
        this.former ??= this.makeFormer();
        return this.formed(this.former.push(hits));
      }
      default:
        return null;
    }
  }

  /**
   * The state to save with a checkpoint, or null when there is none (an events-level stream: the cube and
   * the recording offset are then the whole state). Copies; called at checkpoints, not per item.
   */
  snapshot(): FrameEventsState | null {
    if (!this.former && !this.gemrocDecoder) return null;
    const counts: FrameItemCounts = {
      eventFrames: this.eventFrames, hitFrames: this.hitFrames, statusFrames: this.statusFrames, endFrames: this.endFrames,
      datagramFrames: this.datagramFrames, eventsOut: this.eventsOut,
    };
    return { counts, former: this.former?.snapshot() ?? null, gemroc: this.gemrocDecoder?.snapshot() ?? null };
  }

  /** Continues from a snapshot (made with the same formation and channel-map configuration). */
  restore(s: FrameEventsState): void {
    if (s.gemroc && !this.channelMap) throw new Error('frame events state holds a gemroc decoder, but no channel map is configured');
    if (s.former) {
      this.former ??= this.makeFormer();
      this.former.restore(s.former);
    }
    if (s.gemroc) {
      this.gemrocDecoder ??= new GemrocDecoder(this.channelMap!);
      this.gemrocDecoder.restore(s.gemroc);
    }
    Object.assign(this, s.counts);
  }

  /** End of stream: the clusters still waiting in event formation, as events (or null when none). */
  flush(): EventBatch | null {
    return this.former ? this.formed(this.former.flush()) : null;
  }

  private formed(ev: EventBatch): EventBatch | null {
    this.eventsOut += ev.n;
    return ev.n > 0 ? ev : null;
  }
}
