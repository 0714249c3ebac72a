// uniform:El[,El...]: the same mixture at every pixel (equal element shares) — the phantom for spectrum tests.
import { DEFAULT_BACKGROUND, elementZ } from '../../physics/index.js';
import { checkGrid, type Phantom } from './types.js';

export function uniformPhantom(elements: string[], opts: { backgroundRate?: number } = {}): Phantom {
  if (elements.length === 0) throw new Error("uniform phantom needs at least one element, e.g. 'uniform:Fe'");
  const seen = new Set<string>();
  for (const el of elements) {
    elementZ(el);
    if (seen.has(el)) throw new Error(`uniform phantom: element ${el} given twice`);
    seen.add(el);
  }
  const backgroundRate = opts.backgroundRate ?? 0.2;
  if (!(backgroundRate >= 0)) throw new Error(`uniform phantom: background rate must be >= 0, got ${backgroundRate}`);
  const share = 1 / elements.length;
  return {
    name: `uniform:${elements.join(',')}`,
    description: `${elements.join(', ')} in equal shares at every pixel, background ${backgroundRate} per unit of element signal`,
    elements,
    background: { ...DEFAULT_BACKGROUND, substrate: 'none' },
    render(width, height) {
      checkGrid(width, height);
      const plane = width * height;
      const amounts = new Float32Array(elements.length * plane).fill(share);
      const backgroundAmount = new Float32Array(plane).fill(backgroundRate);
      return { width, height, elements, amounts, backgroundAmount };
    },
  };
}
