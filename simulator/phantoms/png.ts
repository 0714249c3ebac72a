// png:DIR — one grayscale PNG per element (DIR/Fe.png, DIR/Pb.png, ...; white = full amount), optional
// DIR/background.png (substrate background rate) and DIR/phantom.json:
//   { "background": { "substrate": "wood", ... }, "backgroundRate": 0.3, "scale": { "Pb": 1.5 } }
// Images are resampled bilinearly to the requested grid, so one set of images serves any resolution.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PNG } from 'pngjs';
import { DEFAULT_BACKGROUND, elementZ, type BackgroundParams } from '../../physics/index.js';
import { checkGrid, type Phantom } from './types.js';

interface Gray {
  width: number;
  height: number;
  /** Luminance x alpha in [0, 1], row-major. */
  values: Float32Array;
}

interface PngPhantomOptions {
  background?: Partial<BackgroundParams>;
  backgroundRate?: number;
  scale?: Record<string, number>;
}

const SUBSTRATES = ['wood', 'canvas', 'chalk', 'none'];
const ANODES = ['W', 'Mo', 'Rh', 'Ag', 'Cu'];

export function pngPhantom(dir: string): Phantom {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (err) {
    throw new Error(`png phantom: cannot read directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const opts = readOptions(dir, files);
  const elementFiles = files.filter((f) => /^[A-Z][a-z]?\.png$/.test(f)).sort();
  if (elementFiles.length === 0) throw new Error(`png phantom: no element images (like Fe.png) in ${dir}`);
  const elements: string[] = [];
  const images: Gray[] = [];
  for (const f of elementFiles) {
    const el = basename(f, '.png');
    try {
      elementZ(el);
    } catch {
      throw new Error(`png phantom: ${f} does not name an element`);
    }
    elements.push(el);
    images.push(readGray(join(dir, f)));
  }
  const order = elements.map((_, i) => i).sort((a, b) => elementZ(elements[a]!) - elementZ(elements[b]!));
  const sortedElements = order.map((i) => elements[i]!);
  const sortedImages = order.map((i) => images[i]!);
  const bgImage = files.includes('background.png') ? readGray(join(dir, 'background.png')) : null;
  const { width: w0, height: h0 } = sortedImages[0]!;
  for (const [i, img] of [...sortedImages.entries(), ...(bgImage ? [[-1, bgImage] as const] : [])]) {
    if (img.width !== w0 || img.height !== h0) {
      const name = i === -1 ? 'background.png' : `${sortedElements[i]}.png`;
      throw new Error(`png phantom: ${name} is ${img.width}x${img.height}, expected ${w0}x${h0} like the other images`);
    }
  }
  for (const el of Object.keys(opts.scale ?? {}))
    if (!sortedElements.includes(el)) throw new Error(`png phantom: phantom.json scales ${el} but there is no ${el}.png`);
  const backgroundRate = opts.backgroundRate ?? 0.3;
  const background: BackgroundParams = { ...DEFAULT_BACKGROUND, ...opts.background };

  return {
    name: `png:${dir}`,
    description: `element images ${sortedElements.map((e) => e + '.png').join(', ')} from ${dir} (${w0}x${h0})`,
    elements: sortedElements,
    background,
    render(width, height) {
      checkGrid(width, height);
      const plane = width * height;
      const amounts = new Float32Array(sortedElements.length * plane);
      sortedImages.forEach((img, e) => {
        const k = opts.scale?.[sortedElements[e]!] ?? 1;
        resample(img, width, height, amounts.subarray(e * plane, (e + 1) * plane), k);
      });
      const backgroundAmount = new Float32Array(plane);
      if (bgImage) resample(bgImage, width, height, backgroundAmount, backgroundRate);
      else backgroundAmount.fill(backgroundRate);
      return { width, height, elements: sortedElements, amounts, backgroundAmount };
    },
  };
}

function readOptions(dir: string, files: string[]): PngPhantomOptions {
  if (!files.includes('phantom.json')) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(dir, 'phantom.json'), 'utf8'));
  } catch (err) {
    throw new Error(`png phantom: ${join(dir, 'phantom.json')} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('png phantom: phantom.json must hold an object');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!['background', 'backgroundRate', 'scale'].includes(k)) throw new Error(`png phantom: phantom.json: unknown key '${k}'`);
  if (o.backgroundRate !== undefined && !(typeof o.backgroundRate === 'number' && o.backgroundRate >= 0))
    throw new Error('png phantom: phantom.json: backgroundRate must be a number >= 0');
  if (o.scale !== undefined) {
    if (typeof o.scale !== 'object' || o.scale === null) throw new Error('png phantom: phantom.json: scale must be an object');
    for (const [k, v] of Object.entries(o.scale))
      if (!(typeof v === 'number' && v >= 0)) throw new Error(`png phantom: phantom.json: scale.${k} must be a number >= 0`);
  }
  if (o.background !== undefined) {
    const b = o.background as Record<string, unknown>;
    if (b.substrate !== undefined && !SUBSTRATES.includes(b.substrate as string))
      throw new Error(`png phantom: phantom.json: background.substrate must be one of ${SUBSTRATES.join(', ')}`);
    if (b.tubeAnode !== undefined && !ANODES.includes(b.tubeAnode as string))
      throw new Error(`png phantom: phantom.json: background.tubeAnode must be one of ${ANODES.join(', ')}`);
  }
  return o as PngPhantomOptions;
}

function readGray(file: string): Gray {
  let png: PNG;
  try {
    png = PNG.sync.read(readFileSync(file));
  } catch (err) {
    throw new Error(`png phantom: cannot read ${file}: ${(err as Error).message}`);
  }
  const { width, height, data } = png;
  const values = new Float32Array(width * height);
  for (let i = 0; i < values.length; i++) {
    const r = data[4 * i]!, g = data[4 * i + 1]!, b = data[4 * i + 2]!, a = data[4 * i + 3]!;
    values[i] = ((0.2126 * r + 0.7152 * g + 0.0722 * b) / 255) * (a / 255);
  }
  return { width, height, values };
}

/** Bilinear resampling at the target pixel centres (edge pixels clamp). */
function resample(img: Gray, width: number, height: number, out: Float32Array, scale: number): void {
  const sx = img.width / width;
  const sy = img.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const wx = fx - x0;
      const v =
        (1 - wy) * ((1 - wx) * img.values[y0 * img.width + x0]! + wx * img.values[y0 * img.width + x1]!) +
        wy * ((1 - wx) * img.values[y1 * img.width + x0]! + wx * img.values[y1 * img.width + x1]!);
      out[y * width + x] = v * scale;
    }
  }
}
