// A tiny opaque RGBA raster with the few drawing primitives the map and spectrum renderers need.
// Pure TypeScript on a Uint8ClampedArray (no native canvas), written out with pngjs.
import { writeFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import { GLYPH_ADVANCE, GLYPH_ASCENT, GLYPH_HEIGHT, GLYPH_WIDTH, glyphFor, glyphInk, textWidth } from './font.js';

/** An sRGB colour, each channel 0..255. */
export type RGB = readonly [number, number, number];

export const WHITE: RGB = [255, 255, 255];
export const BLACK: RGB = [0, 0, 0];

export type HAlign = 'left' | 'center' | 'right';
/** top: y is the top of the text box; middle: y is the middle of the cap height (centres digits on a
 * tick); baseline: y is the bottom row of the capitals; bottom: y is the bottom of the descenders. */
export type VAlign = 'top' | 'middle' | 'baseline' | 'bottom';

export interface TextOptions {
  /** Integer pixel scale of the 5×7 font (1..3 are legible sizes). */
  scale?: number;
  align?: HAlign;
  baseline?: VAlign;
  /** 90 draws the text rotated a quarter turn counter-clockwise (reads bottom to top, for y-axis labels). */
  rotate?: 0 | 90;
}

export interface DashOptions {
  dash?: number;
  gap?: number;
}

export class Canvas {
  readonly data: Uint8ClampedArray;
  // The same bytes viewed as whole pixels (native byte order matches the packing in fillRect).
  private readonly pixels32: Uint32Array;
  // Drawing is limited to this half-open box (plot areas clip their series and markers).
  private clipX0 = 0;
  private clipY0 = 0;
  private clipX1: number;
  private clipY1: number;

  constructor(
    readonly width: number,
    readonly height: number,
    background: RGB = WHITE,
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw new RangeError(`canvas size must be positive integers, got ${width}×${height}`);
    }
    this.data = new Uint8ClampedArray(width * height * 4);
    this.pixels32 = new Uint32Array(this.data.buffer);
    this.clipX1 = width;
    this.clipY1 = height;
    this.fillRect(0, 0, width, height, background);
  }

  /** Restricts drawing to the rectangle (x, y, w, h) until clearClip(). */
  setClip(x: number, y: number, w: number, h: number): void {
    this.clipX0 = Math.max(0, Math.round(x));
    this.clipY0 = Math.max(0, Math.round(y));
    this.clipX1 = Math.min(this.width, Math.round(x + w));
    this.clipY1 = Math.min(this.height, Math.round(y + h));
  }

  clearClip(): void {
    this.clipX0 = 0;
    this.clipY0 = 0;
    this.clipX1 = this.width;
    this.clipY1 = this.height;
  }

  /** The RGBA bytes at (x, y), for tests and sampling. */
  getPixel(x: number, y: number): [number, number, number, number] {
    const i = (y * this.width + x) * 4;
    const d = this.data;
    return [d[i]!, d[i + 1]!, d[i + 2]!, d[i + 3]!];
  }

  /** Paints one pixel, blending `alpha` (0..1) of the colour over what is there; clipped to the canvas. */
  setPixel(x: number, y: number, color: RGB, alpha = 1): void {
    if (x < this.clipX0 || y < this.clipY0 || x >= this.clipX1 || y >= this.clipY1 || !(alpha > 0)) return;
    const i = (y * this.width + x) * 4;
    const d = this.data;
    if (alpha >= 1) {
      d[i] = color[0];
      d[i + 1] = color[1];
      d[i + 2] = color[2];
    } else {
      d[i] = d[i]! + (color[0] - d[i]!) * alpha;
      d[i + 1] = d[i + 1]! + (color[1] - d[i + 1]!) * alpha;
      d[i + 2] = d[i + 2]! + (color[2] - d[i + 2]!) * alpha;
    }
    d[i + 3] = 255;
  }

  fillRect(x: number, y: number, w: number, h: number, color: RGB, alpha = 1): void {
    const x0 = Math.max(this.clipX0, Math.round(x));
    const y0 = Math.max(this.clipY0, Math.round(y));
    const x1 = Math.min(this.clipX1, Math.round(x + w));
    const y1 = Math.min(this.clipY1, Math.round(y + h));
    if (x1 <= x0 || y1 <= y0) return;
    if (alpha >= 1) {
      // Opaque fills write whole pixels at once: backgrounds and colorbars are most of the pixels drawn.
      const packed = packPixel(color);
      for (let yy = y0; yy < y1; yy++) this.pixels32.fill(packed, yy * this.width + x0, yy * this.width + x1);
      return;
    }
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) this.setPixel(xx, yy, color, alpha);
  }

  /** A one-pixel outline whose outer edge is the rectangle (x, y, w, h). */
  strokeRect(x: number, y: number, w: number, h: number, color: RGB): void {
    this.hLine(x, x + w - 1, y, color);
    this.hLine(x, x + w - 1, y + h - 1, color);
    this.vLine(x, y, y + h - 1, color);
    this.vLine(x + w - 1, y, y + h - 1, color);
  }

  /** Crisp horizontal line from x0 to x1 inclusive. */
  hLine(x0: number, x1: number, y: number, color: RGB, alpha = 1): void {
    const [a, b] = x0 <= x1 ? [x0, x1] : [x1, x0];
    const yy = Math.round(y);
    for (let x = Math.round(a); x <= Math.round(b); x++) this.setPixel(x, yy, color, alpha);
  }

  /** Crisp vertical line from y0 to y1 inclusive. */
  vLine(x: number, y0: number, y1: number, color: RGB, alpha = 1): void {
    const [a, b] = y0 <= y1 ? [y0, y1] : [y1, y0];
    const xx = Math.round(x);
    for (let y = Math.round(a); y <= Math.round(b); y++) this.setPixel(xx, y, color, alpha);
  }

  /** Vertical dashed line (escape-peak markers, reference lines): `dash` pixels on, `gap` off. */
  dashedVLine(x: number, y0: number, y1: number, color: RGB, { dash = 4, gap = 3 }: DashOptions = {}): void {
    const [a, b] = y0 <= y1 ? [Math.round(y0), Math.round(y1)] : [Math.round(y1), Math.round(y0)];
    const period = Math.max(1, dash + gap);
    const xx = Math.round(x);
    for (let y = a; y <= b; y++) if ((y - a) % period < dash) this.setPixel(xx, y, color);
  }

  /** Horizontal dashed line (grid lines). */
  dashedHLine(x0: number, x1: number, y: number, color: RGB, { dash = 4, gap = 3 }: DashOptions = {}): void {
    const [a, b] = x0 <= x1 ? [Math.round(x0), Math.round(x1)] : [Math.round(x1), Math.round(x0)];
    const period = Math.max(1, dash + gap);
    const yy = Math.round(y);
    for (let x = a; x <= b; x++) if ((x - a) % period < dash) this.setPixel(x, yy, color);
  }

  /**
   * Antialiased line (Xiaolin Wu) between pixel-centre coordinates. `width` > 1 draws parallel Wu lines
   * one pixel apart along the normal, which reads as a thicker smooth stroke.
   */
  line(x0: number, y0: number, x1: number, y1: number, color: RGB, width = 1): void {
    const n = Math.max(1, Math.round(width));
    if (n === 1) return this.wuLine(x0, y0, x1, y1, color);
    const len = Math.hypot(x1 - x0, y1 - y0) || 1;
    const nx = -(y1 - y0) / len;
    const ny = (x1 - x0) / len;
    for (let k = 0; k < n; k++) {
      const o = k - (n - 1) / 2;
      this.wuLine(x0 + nx * o, y0 + ny * o, x1 + nx * o, y1 + ny * o, color);
    }
  }

  /** Connected antialiased line through (xs[i], ys[i]); non-finite points break the line. */
  polyline(xs: ArrayLike<number>, ys: ArrayLike<number>, color: RGB, width = 1): void {
    for (let i = 1; i < xs.length; i++) {
      const ax = xs[i - 1]!, ay = ys[i - 1]!, bx = xs[i]!, by = ys[i]!;
      if (Number.isFinite(ax) && Number.isFinite(ay) && Number.isFinite(bx) && Number.isFinite(by)) {
        this.line(ax, ay, bx, by, color, width);
      }
    }
  }

  private wuLine(x0: number, y0: number, x1: number, y1: number, color: RGB): void {
    const steep = Math.abs(y1 - y0) > Math.abs(x1 - x0);
    // plot(a, b) writes along the major axis a and minor axis b.
    const plot = steep
      ? (a: number, b: number, c: number) => this.setPixel(b, a, color, c)
      : (a: number, b: number, c: number) => this.setPixel(a, b, color, c);
    let [a0, b0, a1, b1] = steep ? [y0, x0, y1, x1] : [x0, y0, x1, y1];
    if (a0 > a1) [a0, a1, b0, b1] = [a1, a0, b1, b0];
    const da = a1 - a0;
    const gradient = da === 0 ? 0 : (b1 - b0) / da;
    const start = Math.round(a0);
    const end = Math.round(a1);
    for (let a = start; a <= end; a++) {
      const b = b0 + gradient * (a - a0);
      const bi = Math.floor(b);
      const frac = b - bi;
      // The end pixels get full coverage along the major axis: strokes join without gaps.
      plot(a, bi, 1 - frac);
      plot(a, bi + 1, frac);
    }
  }

  /**
   * Draws text in the built-in bitmap font; returns the width in pixels along the text direction.
   * Newlines are not interpreted: one call, one line.
   */
  text(text: string, x: number, y: number, color: RGB, opts: TextOptions = {}): number {
    const scale = Math.max(1, Math.round(opts.scale ?? 1));
    const chars = [...text];
    const w = textWidth(text, scale);
    const h = GLYPH_HEIGHT * scale;
    // Offsets of the text box's top-left corner from the anchor, in text space.
    const dx = opts.align === 'center' ? -Math.floor(w / 2) : opts.align === 'right' ? -w + 1 : 0;
    const dy =
      opts.baseline === 'middle'
        ? -Math.floor((GLYPH_ASCENT * scale) / 2)
        : opts.baseline === 'baseline'
          ? -(GLYPH_ASCENT * scale - 1)
          : opts.baseline === 'bottom'
            ? -h + 1
            : 0;
    const ax = Math.round(x);
    const ay = Math.round(y);
    const rotated = opts.rotate === 90;
    chars.forEach((ch, ci) => {
      const glyph = glyphFor(ch);
      for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
        for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
          if (!glyphInk(glyph, gx, gy)) continue;
          const tx = dx + (ci * GLYPH_ADVANCE + gx) * scale; // text-space position of this font pixel
          const ty = dy + gy * scale;
          for (let sy = 0; sy < scale; sy++) {
            for (let sx = 0; sx < scale; sx++) {
              // Rotating a quarter turn counter-clockwise maps text (u, v) to canvas (v, -u).
              if (rotated) this.setPixel(ax + ty + sy, ay - (tx + sx), color);
              else this.setPixel(ax + tx + sx, ay + ty + sy, color);
            }
          }
        }
      }
    });
    return w;
  }

  /**
   * Copies an RGBA image (e.g. a colour-mapped map) with its top-left corner at (x, y), each source
   * pixel becoming a `scale`×`scale` block (nearest neighbour: map pixels stay sharp squares).
   */
  drawImage(rgba: Uint8Array | Uint8ClampedArray, w: number, h: number, x: number, y: number, scale = 1): void {
    const s = Math.max(1, Math.round(scale));
    for (let sy = 0; sy < h; sy++) {
      for (let sx = 0; sx < w; sx++) {
        const si = (sy * w + sx) * 4;
        const a = rgba[si + 3]! / 255;
        this.fillRect(x + sx * s, y + sy * s, s, s, [rgba[si]!, rgba[si + 1]!, rgba[si + 2]!], a);
      }
    }
  }
}

// Scratch pixel for packing a colour into one native-order 32-bit word without allocating.
const scratchBytes = new Uint8ClampedArray(4);
const scratchWord = new Uint32Array(scratchBytes.buffer);

function packPixel(color: RGB): number {
  scratchBytes[0] = color[0];
  scratchBytes[1] = color[1];
  scratchBytes[2] = color[2];
  scratchBytes[3] = 255;
  return scratchWord[0]!;
}

/** Encodes the canvas as an RGB PNG (the canvas is opaque, so the alpha channel is dropped). */
export function encodePng(canvas: Canvas): Buffer {
  const png = new PNG({ width: canvas.width, height: canvas.height });
  png.data = Buffer.from(canvas.data.buffer, canvas.data.byteOffset, canvas.data.byteLength);
  // Paeth filtering at zlib level 6: a few percent larger than pngjs's exhaustive default, 3-5× faster.
  return PNG.sync.write(png, { colorType: 2, inputColorType: 6, inputHasAlpha: true, deflateLevel: 6, filterType: 4 });
}

/** Writes the canvas to `path` as a PNG. */
export async function writePng(path: string, canvas: Canvas | Buffer): Promise<void> {
  await writeFile(path, Buffer.isBuffer(canvas) ? canvas : encodePng(canvas));
}
