// (board, ASIC, channel) <-> (plane, strip) from the configuration's channelMap, as flat lookup tables.
import type { ChannelMapEntry } from '../../config/index.js';
import { GEMROC_ASICS_PER_BOARD, GEMROC_CHANNELS_PER_ASIC, GEMROC_MAX_BOARDS } from './gemroc-format.js';

const MAX_STRIPS = 4096;

export class GemrocChannelMap {
  /** index (board * 4 + asic) * 32 + channel -> plane (0/1), or 255 unmapped */
  readonly plane = new Uint8Array(GEMROC_MAX_BOARDS * GEMROC_ASICS_PER_BOARD * GEMROC_CHANNELS_PER_ASIC).fill(255);
  readonly strip = new Uint16Array(GEMROC_MAX_BOARDS * GEMROC_ASICS_PER_BOARD * GEMROC_CHANNELS_PER_ASIC);
  /** plane * 4096 + strip -> (board << 7) | (asic << 5) | channel, or -1 (inverse, for the encoder) */
  readonly source = new Int32Array(2 * MAX_STRIPS).fill(-1);

  constructor(entries: readonly ChannelMapEntry[]) {
    for (const e of entries) {
      for (let ch = 0; ch < GEMROC_CHANNELS_PER_ASIC; ch++) {
        const strip = e.firstStrip + (e.step ?? 1) * ch;
        if (strip < 0 || strip >= MAX_STRIPS) continue; // a flipped connector near strip 0: channels off the edge stay unmapped
        const i = ((e.board * GEMROC_ASICS_PER_BOARD + e.asic) << 5) | ch;
        this.plane[i] = e.plane;
        this.strip[i] = strip;
        this.source[e.plane * MAX_STRIPS + strip] = (e.board << 7) | (e.asic << 5) | ch;
      }
    }
  }

  /** (board << 7) | (asic << 5) | channel reading this strip, or -1. */
  sourceOf(plane: number, strip: number): number {
    if (strip < 0 || strip >= MAX_STRIPS || (plane !== 0 && plane !== 1)) return -1;
    return this.source[plane * MAX_STRIPS + strip]!;
  }
}
