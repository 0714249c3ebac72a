// A phantom is the sample in front of the detector: where each element is and how much signal it gives.
import type { BackgroundParams } from '../../physics/index.js';

/** A phantom rasterised onto a width x height image grid. */
export interface PhantomRaster {
  readonly width: number;
  readonly height: number;
  /** The elements that occur in the phantom, in map order. */
  readonly elements: readonly string[];
  /** elements x height x width: each element's fluorescence count rate at each pixel (arbitrary units,
   *  comparable across elements and with backgroundAmount). Index: (e * height + y) * width + x. */
  readonly amounts: Float32Array;
  /** height x width: count rate of the substrate / scatter background at each pixel (same units). */
  readonly backgroundAmount: Float32Array;
}

export interface Phantom {
  /** The name it is selected by (e.g. 'phantom-painting', 'uniform:Fe', 'png:/path'). */
  readonly name: string;
  readonly description: string;
  readonly elements: readonly string[];
  /** Shape of the background spectrum (substrate, tube) for the whole phantom. */
  readonly background: BackgroundParams;
  /** Rasterises the phantom at any resolution (the phantom is defined on the unit square). */
  render(width: number, height: number): PhantomRaster;
}

export function checkGrid(width: number, height: number): void {
  for (const [name, v] of [['width', width], ['height', height]] as const)
    if (!Number.isInteger(v) || v < 1 || v > 4096) throw new Error(`phantom ${name} must be an integer in 1..4096, got ${v}`);
}
