// The GEMROC readout's UDP packet (docs/protocol.md, "gemroc-udp"): 1458 bytes, little-endian.
//
//   0     u64  packet number (each board counts its own)
//   8     u64  status word (bits 0..3: board id — our assumption, see protocol.md)
//   16    u64  hit word x 180
//   1456  u16  trailer: hit count in bits 15..3 (13 bits), bits 2..0 reserved
//
// Hit word (u64): ADC bits 63..52 | FPGA timestamp bits 51..21 | ASIC timestamp bits 20..9 |
// channel bits 8..4 | ASIC id bits 3..2 | pile-up bit 1 | overflow bit 0.
// Time (ns, assumed unit) = FPGA_ts * 16384 + ASIC_ts * 4.

export const GEMROC_PACKET_BYTES = 1458;
export const GEMROC_MAX_HITS = 180;
export const GEMROC_HITS_AT = 16;
export const GEMROC_TRAILER_AT = 16 + GEMROC_MAX_HITS * 8; // 1456
export const GEMROC_DEFAULT_PORT = 48350;
export const GEMROC_BOARD_MASK = 0xf;
export const GEMROC_CHANNELS_PER_ASIC = 32;
export const GEMROC_ASICS_PER_BOARD = 4;
export const GEMROC_MAX_BOARDS = 16;

export const FPGA_TICK_NS = 16384;
export const ASIC_TICK_NS = 4;

/** The fields of one hit word, as numbers. */
export interface GemrocHitFields {
  adc: number;
  fpgaTs: number;
  asicTs: number;
  channel: number;
  asic: number;
  pileup: boolean;
  overflow: boolean;
}

/** Splits a hit word given as its low and high 32-bit halves (what a DataView read gives, no BigInt). */
export function unpackHitWord(lo: number, hi: number): GemrocHitFields {
  return {
    adc: hi >>> 20,
    fpgaTs: (hi & 0xfffff) * 2048 + (lo >>> 21),
    asicTs: (lo >>> 9) & 0xfff,
    channel: (lo >>> 4) & 0x1f,
    asic: (lo >>> 2) & 0x3,
    pileup: ((lo >>> 1) & 1) === 1,
    overflow: (lo & 1) === 1,
  };
}

/** Packs hit fields into [lo, hi] 32-bit halves; fields are masked to their widths. */
export function packHitWord(f: GemrocHitFields): [number, number] {
  const fpga = (f.fpgaTs >>> 0) & 0x7fffffff;
  const lo = (((fpga & 0x7ff) << 21) | ((f.asicTs & 0xfff) << 9) | ((f.channel & 0x1f) << 4) | ((f.asic & 0x3) << 2) | (f.pileup ? 2 : 0) | (f.overflow ? 1 : 0)) >>> 0;
  const hi = (((f.adc & 0xfff) << 20) | (fpga >>> 11)) >>> 0;
  return [lo, hi];
}

export function hitTimeNs(fpgaTs: number, asicTs: number): number {
  return fpgaTs * FPGA_TICK_NS + asicTs * ASIC_TICK_NS;
}
