// Test helpers: decode PNG bytes with pngjs (independently of the encoder's canvas) and read pixels.
import { PNG } from 'pngjs';

export interface DecodedPng {
  width: number;
  height: number;
  data: Buffer;
}

export function decodePng(bytes: Buffer): DecodedPng {
  const png = PNG.sync.read(bytes);
  return { width: png.width, height: png.height, data: png.data };
}

export function pixel(img: DecodedPng, x: number, y: number): [number, number, number] {
  const i = (y * img.width + x) * 4;
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
}

export function isWhite(p: readonly number[]): boolean {
  return p[0] === 255 && p[1] === 255 && p[2] === 255;
}

/** Pixels in the rectangle that differ from white. */
export function inkCount(img: DecodedPng, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = Math.max(0, y0); y < Math.min(img.height, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(img.width, x1); x++) if (!isWhite(pixel(img, x, y))) n++;
  }
  return n;
}

export function colorDistance(a: readonly number[], b: readonly number[]): number {
  return Math.max(Math.abs(a[0]! - b[0]!), Math.abs(a[1]! - b[1]!), Math.abs(a[2]! - b[2]!));
}
