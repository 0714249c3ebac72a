// The model maps in SharedArrayBuffers: the inference worker writes them, the main thread reads them when it
// publishes (no copies, no per-pixel messages). Each map is Float32 elements x height x width, the MapSet layout.
// A reader may see a cycle half written (some pixels updated, others not); every float it reads is whole.

export interface SharedMapBuffers {
  width: number;
  height: number;
  elements: string[];
  /** fraction of each pixel's counts per element */
  fractions: SharedArrayBuffer;
  /** presence probability per element */
  presence: SharedArrayBuffer;
  /** fraction x the pixel's own total counts (net counts per element) */
  netCounts: SharedArrayBuffer;
  /** Uint8 height x width: block size the pixel was last inferred at (0: never) */
  levels: SharedArrayBuffer;
}

export class SharedMaps {
  readonly width: number;
  readonly height: number;
  readonly elements: string[];
  readonly fractions: Float32Array;
  readonly presence: Float32Array;
  readonly netCounts: Float32Array;
  readonly levels: Uint8Array;

  constructor(readonly buffers: SharedMapBuffers) {
    const { width, height, elements } = buffers;
    const n = width * height * elements.length;
    this.width = width;
    this.height = height;
    this.elements = elements;
    this.fractions = new Float32Array(buffers.fractions);
    this.presence = new Float32Array(buffers.presence);
    this.netCounts = new Float32Array(buffers.netCounts);
    this.levels = new Uint8Array(buffers.levels);
    if (this.fractions.length !== n || this.presence.length !== n || this.netCounts.length !== n || this.levels.length !== width * height)
      throw new Error('inference: shared map buffers do not match width x height x elements');
  }

  static allocate(width: number, height: number, elements: readonly string[]): SharedMaps {
    const bytes = width * height * elements.length * 4;
    return new SharedMaps({
      width, height, elements: [...elements],
      fractions: new SharedArrayBuffer(bytes),
      presence: new SharedArrayBuffer(bytes),
      netCounts: new SharedArrayBuffer(bytes),
      levels: new SharedArrayBuffer(width * height),
    });
  }

  clear(): void {
    this.fractions.fill(0);
    this.presence.fill(0);
    this.netCounts.fill(0);
    this.levels.fill(0);
  }
}
