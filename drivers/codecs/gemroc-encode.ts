// gemroc-udp encoder: strip hits -> 1458-byte packets, one packet counter per board. The UDP emulator
// uses it; tests use it to craft packets.
import type { ChannelMapEntry } from '../../config/index.js';
import type { HitBatch } from '../batches.js';
import { GemrocChannelMap } from './gemroc-channel-map.js';
import { ASIC_TICK_NS, FPGA_TICK_NS, GEMROC_HITS_AT, GEMROC_MAX_HITS, GEMROC_PACKET_BYTES, GEMROC_TRAILER_AT, packHitWord } from './gemroc-format.js';

/**
 * One packet from raw hit words given as low/high 32-bit halves, words [from, to) (at most 180).
 * `statusHi`/`statusLo` other than the board id bits are passed through as given.
 */
export function encodeGemrocPacket(packetNumber: number, board: number, lo: ArrayLike<number>, hi: ArrayLike<number>, from = 0, to = lo.length, statusLoExtra = 0, statusHi = 0): Uint8Array {
  const n = to - from;
  if (n < 0 || n > GEMROC_MAX_HITS) throw new RangeError(`gemroc: ${n} hits do not fit a packet (max ${GEMROC_MAX_HITS})`);
  if (!Number.isSafeInteger(packetNumber) || packetNumber < 0) throw new RangeError(`gemroc: bad packet number ${packetNumber}`);
  const p = new Uint8Array(GEMROC_PACKET_BYTES);
  const dv = new DataView(p.buffer);
  dv.setUint32(0, packetNumber % 0x1_0000_0000, true);
  dv.setUint32(4, Math.floor(packetNumber / 0x1_0000_0000), true);
  dv.setUint32(8, ((statusLoExtra & ~0xf) | (board & 0xf)) >>> 0, true);
  dv.setUint32(12, statusHi >>> 0, true);
  for (let i = 0; i < n; i++) {
    dv.setUint32(GEMROC_HITS_AT + 8 * i, lo[from + i]! >>> 0, true);
    dv.setUint32(GEMROC_HITS_AT + 8 * i + 4, hi[from + i]! >>> 0, true);
  }
  dv.setUint16(GEMROC_TRAILER_AT, n << 3, true);
  return p;
}

/**
 * Turns strip hits into packets through the inverse channel map, keeping each board's packet counter
 * across calls. Hits on strips no board reads are counted in `unmappable` and skipped. Times are
 * quantised to the 4 ns ASIC tick.
 */
export class GemrocEncoder {
  private readonly map: GemrocChannelMap;
  private readonly nextPacket = new Array<number>(16).fill(0);
  unmappable = 0;

  constructor(channelMap: readonly ChannelMapEntry[] | GemrocChannelMap, firstPacketNumber = 0) {
    this.map = channelMap instanceof GemrocChannelMap ? channelMap : new GemrocChannelMap(channelMap);
    this.nextPacket.fill(firstPacketNumber);
  }

  /** Packets for hits [from, to); each board's hits go into its own packets, in input order. */
  encode(hits: HitBatch, from = 0, to = hits.n): Uint8Array[] {
    const lo: number[][] = Array.from({ length: 16 }, () => []);
    const hi: number[][] = Array.from({ length: 16 }, () => []);
    for (let i = from; i < to; i++) {
      const src = this.map.sourceOf(hits.plane[i]!, hits.strip[i]!);
      if (src < 0) {
        this.unmappable++;
        continue;
      }
      const t = Math.max(0, hits.t[i]!);
      const fpgaTs = Math.floor(t / FPGA_TICK_NS);
      const asicTs = Math.min(0xfff, Math.round((t - fpgaTs * FPGA_TICK_NS) / ASIC_TICK_NS));
      const [l, h] = packHitWord({ adc: Math.min(hits.adc[i]!, 0xfff), fpgaTs, asicTs, channel: src & 0x1f, asic: (src >>> 5) & 3, pileup: false, overflow: hits.adc[i]! > 0xfff });
      const board = src >>> 7;
      lo[board]!.push(l);
      hi[board]!.push(h);
    }
    const packets: Uint8Array[] = [];
    for (let b = 0; b < 16; b++) {
      const L = lo[b]!;
      for (let k = 0; k < L.length; k += GEMROC_MAX_HITS) {
        packets.push(encodeGemrocPacket(this.nextPacket[b]!++, b, L, hi[b]!, k, Math.min(L.length, k + GEMROC_MAX_HITS)));
      }
    }
    return packets;
  }
}
