// The built-in phantoms, defined on the unit square (u right, v down) so any image size renders them.
import { DEFAULT_BACKGROUND } from '../../physics/index.js';
import { layeredPhantom } from './layered.js';
import { band, disk, ellipse, polygon, rect, union } from './shapes.js';
import type { Phantom } from './types.js';

/** After the poster's Figure 6: chrome green (Cr), azurite (Cu) and minium (Pb) on a chalk/gesso ground.
 *  The green disk and the blue rectangle overlap; the orange triangle touches both. */
export function phantomPainting(): Phantom {
  const soft = 0.03;
  return layeredPhantom({
    name: 'phantom-painting',
    description: 'chrome green (Cr) disk, azurite (Cu) rectangle, minium (Pb) triangle on a chalk ground (Ca), canvas',
    background: { ...DEFAULT_BACKGROUND, substrate: 'canvas' },
    backgroundRate: 0.35,
    backgroundHiding: 0.3,
    ground: { Ca: 0.5 },
    layers: [
      { name: 'chrome green', shape: disk(0.32, 0.33, 0.2, soft), elements: { Cr: 1.0 }, hides: 0.6 },
      { name: 'azurite', shape: rect(0.45, 0.12, 0.88, 0.5, soft), elements: { Cu: 0.9 }, hides: 0.6 },
      { name: 'minium', shape: polygon([[0.12, 0.9], [0.88, 0.9], [0.5, 0.52]], soft), elements: { Pb: 1.6 }, hides: 0.7 },
    ],
  });
}

/** A mock 16th-century panel: lead white sky and priming, smalt (Co with K, As, Ni) in the sky, a vermilion
 *  (Hg, S) robe, ochre (Fe, some Mn) ground, copper green (Cu) foliage, on wood. */
export function oldMaster(): Phantom {
  const soft = 0.025;
  const wave = (v0: number, amp: number, f: number) => (u: number) => v0 + amp * Math.sin(2 * Math.PI * f * u + 0.7);
  return layeredPhantom({
    name: 'old-master',
    description: 'lead white (Pb) priming and sky, smalt (Co, K, As) sky, vermilion (Hg, S) robe, ochre (Fe, Mn) ground, copper green (Cu) trees, on wood',
    background: { ...DEFAULT_BACKGROUND, substrate: 'wood' },
    backgroundRate: 0.4,
    backgroundHiding: 0.25,
    // Chalk ground with a thin lead white priming over the whole panel.
    ground: { Ca: 0.3, Pb: 0.35 },
    layers: [
      { name: 'lead white sky', shape: band(() => -1, wave(0.42, 0.03, 1.5), soft), elements: { Pb: 1.0 }, hides: 0.4 },
      { name: 'smalt', shape: band(() => -1, wave(0.25, 0.04, 2.2), soft * 2), elements: { Co: 0.7, K: 0.15, As: 0.1, Ni: 0.05 }, hides: 0.3 },
      { name: 'ochre', shape: band(wave(0.45, 0.03, 1.5), () => 2, soft), elements: { Fe: 1.0, Mn: 0.06 }, hides: 0.5 },
      {
        name: 'copper green',
        shape: union(disk(0.15, 0.42, 0.12, soft * 2), disk(0.27, 0.36, 0.1, soft * 2), disk(0.85, 0.4, 0.11, soft * 2)),
        elements: { Cu: 0.8 },
        hides: 0.5,
      },
      { name: 'vermilion', shape: ellipse(0.55, 0.7, 0.12, 0.22, soft), elements: { Hg: 1.3, S: 0.05 }, hides: 0.7 },
      { name: 'lead white face', shape: disk(0.55, 0.42, 0.06, soft), elements: { Pb: 1.2 }, hides: 0.6 },
      { name: 'ochre frame', shape: union(rect(0, 0, 1, 0.03, 0.005), rect(0, 0.97, 1, 1, 0.005)), elements: { Fe: 0.6 }, hides: 0.3 },
    ],
  });
}
