// One map on a canvas whose intrinsic size is the map's (CSS scales it, pixelated, inside a fixed box), so an
// update is a colour pass into a reused ImageData and one putImageData: nothing is allocated and nothing
// around the canvas moves. The canvas is resized only when a frame of another shape arrives.
import { paintMap, valueRange, type ColorScale } from './colormap.js';

export interface DrawnMap {
  width: number;
  height: number;
  scale: ColorScale;
}

export class MapCanvas {
  private readonly ctx: CanvasRenderingContext2D;
  private image: ImageData | null = null;
  last: DrawnMap | null = null;

  constructor(readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2d canvas context');
    this.ctx = ctx;
  }

  /** Draws values (height rows of width); the scale is min..max of the data unless given. */
  draw(values: Float32Array, width: number, height: number, opts: { log?: boolean; scale?: ColorScale } = {}): DrawnMap {
    if (!this.image || this.image.width !== width || this.image.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
      this.image = this.ctx.createImageData(width, height);
    }
    const n = width * height;
    let scale = opts.scale;
    if (!scale) {
      const r = valueRange(values, n);
      const log = opts.log ?? false;
      // Maps are counts or fractions: the scale starts at 0 (log: three decades below the top).
      const max = r.max > 0 ? r.max : 1;
      scale = { min: log ? max / 1000 : Math.min(0, r.min), max, log };
    }
    paintMap(values, n, scale, this.image.data);
    this.ctx.putImageData(this.image, 0, 0);
    this.last = { width, height, scale };
    return this.last;
  }

  /** The map pixel under a click (the canvas is drawn with object-fit: contain), or null outside the image. */
  pixelAt(clientX: number, clientY: number): { x: number; y: number } | null {
    if (!this.last) return null;
    const r = this.canvas.getBoundingClientRect();
    const { width: w, height: h } = this.last;
    const s = Math.min(r.width / w, r.height / h);
    const ox = r.left + (r.width - w * s) / 2;
    const oy = r.top + (r.height - h * s) / 2;
    const x = Math.floor((clientX - ox) / s);
    const y = Math.floor((clientY - oy) / s);
    return x >= 0 && y >= 0 && x < w && y < h ? { x, y } : null;
  }

  /** Where a map pixel sits inside the canvas box, as fractions of the box (for an overlay marker). */
  pixelBox(x: number, y: number): { left: number; top: number; width: number; height: number } | null {
    if (!this.last) return null;
    const r = this.canvas.getBoundingClientRect();
    const { width: w, height: h } = this.last;
    const s = Math.min(r.width / w, r.height / h);
    if (!(s > 0)) return null;
    const ox = (r.width - w * s) / 2;
    const oy = (r.height - h * s) / 2;
    return { left: (ox + x * s) / r.width, top: (oy + y * s) / r.height, width: s / r.width, height: s / r.height };
  }
}
