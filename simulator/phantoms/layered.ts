// A painting as a stack of layers: a ground everywhere, then paint layers (shapes) on top. A paint layer
// adds its elements where it covers and hides part of what lies beneath (upper paint absorbs the lower
// layers' fluorescence), so mixing at soft edges and overlaps comes out as it does on a real panel.
import { elementZ, type BackgroundParams } from '../../physics/index.js';
import type { Shape } from './shapes.js';
import { checkGrid, type Phantom, type PhantomRaster } from './types.js';

export interface PaintLayer {
  /** Pigment name, for documentation. */
  name: string;
  shape: Shape;
  /** Count rate per element where the layer fully covers (arbitrary units). */
  elements: Record<string, number>;
  /** Fraction of the signal from underlying layers this layer absorbs where it fully covers (0..1). */
  hides: number;
  /** Relative amplitude of the brush-stroke thickness texture (0: flat). */
  texture?: number;
}

export interface LayeredPhantomSpec {
  name: string;
  description: string;
  background: BackgroundParams;
  /** Background (substrate scatter) count rate with nothing painted on top. */
  backgroundRate: number;
  /** Fraction of the background a fully covering paint layer absorbs. */
  backgroundHiding: number;
  ground: Record<string, number>;
  layers: PaintLayer[];
}

export function layeredPhantom(spec: LayeredPhantomSpec): Phantom {
  const elements: string[] = [];
  const note = (el: string) => {
    elementZ(el); // throws on an unknown symbol
    if (!elements.includes(el)) elements.push(el);
  };
  for (const el of Object.keys(spec.ground)) note(el);
  for (const l of spec.layers) for (const el of Object.keys(l.elements)) note(el);
  // Map order by atomic number: stable and readable.
  elements.sort((a, b) => elementZ(a) - elementZ(b));
  const index = new Map(elements.map((e, i) => [e, i] as const));

  const render = (width: number, height: number): PhantomRaster => {
    checkGrid(width, height);
    const E = elements.length;
    const plane = width * height;
    const amounts = new Float32Array(E * plane);
    const backgroundAmount = new Float32Array(plane);
    const here = new Float64Array(E);
    for (let y = 0; y < height; y++) {
      const v = (y + 0.5) / height;
      for (let x = 0; x < width; x++) {
        const u = (x + 0.5) / width;
        here.fill(0);
        for (const [el, a] of Object.entries(spec.ground)) here[index.get(el)!] = a;
        let bg = spec.backgroundRate;
        for (let li = 0; li < spec.layers.length; li++) {
          const layer = spec.layers[li]!;
          const cov = layer.shape(u, v);
          if (cov <= 0) continue;
          const keep = 1 - cov * layer.hides;
          for (let e = 0; e < E; e++) here[e]! *= keep;
          bg *= 1 - cov * spec.backgroundHiding;
          const thickness = 1 + (layer.texture ?? 0.08) * strokeTexture(u, v, li);
          for (const [el, a] of Object.entries(layer.elements)) here[index.get(el)!]! += cov * a * thickness;
        }
        const p = y * width + x;
        for (let e = 0; e < E; e++) amounts[e * plane + p] = here[e]!;
        backgroundAmount[p] = bg;
      }
    }
    return { width, height, elements, amounts, backgroundAmount };
  };

  return { name: spec.name, description: spec.description, elements, background: spec.background, render };
}

/** Smooth deterministic texture in [-1, 1]: a few oblique waves, different per layer (brush strokes). */
function strokeTexture(u: number, v: number, layer: number): number {
  const a = 1 + layer * 0.37;
  return (
    0.5 * Math.sin(2 * Math.PI * (3.1 * a * u + 1.3 * v) + layer) +
    0.3 * Math.sin(2 * Math.PI * (0.7 * u - 4.3 * a * v) + 2 * layer) +
    0.2 * Math.sin(2 * Math.PI * (7.9 * u + 6.1 * v * a) + 3 * layer)
  );
}
