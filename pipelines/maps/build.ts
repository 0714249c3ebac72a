// One entry point for the classical map methods on a whole cube, used by `gemxrf maps` and the daemon.
import { DEFAULT_DETECTOR, type DetectorParams, type EnergyGrid } from '../../physics/index.js';
import { LinearFitter, type FitOptions } from './fit.js';
import { planRoi, roiMaps, type RoiOptions } from './roi.js';
import type { MapSet, SpectralCube } from './types.js';

export type ClassicalMethod = 'roi' | 'fit';

export interface BuildMapsOptions {
  detector?: DetectorParams;
  roi?: Omit<RoiOptions, 'detector'>;
  fit?: Omit<FitOptions, 'detector'>;
  /** Cube fit background: 'shared' (default) or 'free' (see LinearFitter.fitCube). */
  background?: 'shared' | 'free';
}

export interface BuiltMaps {
  maps: MapSet;
  /** fit only: reduced chi-square per pixel (height x width). */
  chi2?: Float32Array;
  /** fit only: counts given to the background components per pixel. */
  background?: Float32Array;
}

/** The energy grid of a cube that carries its energy range (pipelines/cube's Cube does). */
export function cubeGrid(cube: { channels: number; eMinKeV: number; eMaxKeV: number }): EnergyGrid {
  return { channels: cube.channels, eMinKeV: cube.eMinKeV, eMaxKeV: cube.eMaxKeV };
}

export function buildMaps(cube: SpectralCube, grid: EnergyGrid, method: ClassicalMethod, elements: readonly string[], opts: BuildMapsOptions = {}): BuiltMaps {
  const detector = opts.detector ?? DEFAULT_DETECTOR;
  if (method === 'roi') return { maps: roiMaps(planRoi(grid, elements, { ...opts.roi, detector }), cube) };
  const r = new LinearFitter(grid, elements, { ...opts.fit, detector }).fitCube(cube, { background: opts.background });
  return { maps: r.maps, chi2: r.chi2, background: r.background };
}
