// Raw-ADC histograms of a recording for `gemxrf calibrate`: one over the whole detector and one per
// block of blockSize x blockSize pixels (single pixels hold too few counts for a peak position).
import type { GemxrfConfig } from '../../config/schema.js';
import { forEachRecordedEvent, type RecordingEventsResult } from './recording-cube.js';

export interface AdcHistograms {
  width: number;
  height: number;
  blockSize: number;
  blocksX: number;
  blocksY: number;
  /** ADC bins (2^adcBits); larger values are counted in `overflow`. */
  bins: number;
  sum: Float64Array;
  /** blocksY x blocksX x bins, block-major. */
  blocks: Uint32Array;
  /** Events per block. */
  blockEvents: Uint32Array;
  overflow: number;
  read: RecordingEventsResult;
}

export function collectAdcHistograms(path: string, config: GemxrfConfig, blockSize: number, onProgress?: (bytes: number, total: number) => void): AdcHistograms {
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new Error(`block size must be a positive integer, got ${blockSize}`);
  const bins = 2 ** config.detector.adcBits;
  let h: AdcHistograms | null = null;
  const read = forEachRecordedEvent(
    path,
    config,
    (batch) => {
      // The geometry is the recording's own (see recordingConfig), known once reading starts.
      const hist = h!;
      const { sum, blocks, blockEvents, width, height, blocksX } = hist;
      const xs = batch.x;
      const ys = batch.y;
      const adcs = batch.adc;
      for (let i = 0; i < batch.n; i++) {
        const x = xs[i]!;
        const y = ys[i]!;
        const a = adcs[i]!;
        if (x >= width || y >= height) continue;
        if (a >= bins) {
          hist.overflow++;
          continue;
        }
        const b = ((y / blockSize) | 0) * blocksX + ((x / blockSize) | 0);
        sum[a]!++;
        blocks[b * bins + a]!++;
        blockEvents[b]!++;
      }
    },
    onProgress,
    (cfg) => {
      const { width, height } = cfg.detector;
      const blocksX = Math.ceil(width / blockSize);
      const blocksY = Math.ceil(height / blockSize);
      h = {
        width, height, blockSize, blocksX, blocksY, bins,
        sum: new Float64Array(bins),
        blocks: new Uint32Array(blocksX * blocksY * bins),
        blockEvents: new Uint32Array(blocksX * blocksY),
        overflow: 0,
        read: null as unknown as RecordingEventsResult,
      };
    },
  );
  const out = h as AdcHistograms | null;
  if (!out) throw new Error(`${path}: could not read the recording`);
  out.read = read;
  return out;
}
