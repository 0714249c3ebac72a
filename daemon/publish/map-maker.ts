// Elemental maps of the live cube on a cadence: roi and fit (the classical methods). The roi plan and the
// fitter are built once per energy grid and reused: building the fit components is the slow part.
// 'model' maps come from the scan's inference engine (daemon/inference/scan-inference.ts), not from here.
import { DEFAULT_DETECTOR } from '../../physics/index.js';
import type { Cube } from '../../pipelines/cube/cube.js';
import { cubeGrid } from '../../pipelines/maps/build.js';
import { LinearFitter } from '../../pipelines/maps/fit.js';
import { planRoi, roiMaps, type RoiPlan } from '../../pipelines/maps/roi.js';
import type { MapSet } from '../../pipelines/maps/types.js';

export type LiveMethod = 'roi' | 'fit';

export class MapMaker {
  private roiPlan: RoiPlan | null = null;
  private fitter: LinearFitter | null = null;
  private gridKey = '';
  readonly methods: LiveMethod[];

  constructor(methods: readonly string[], private readonly elements: readonly string[]) {
    this.methods = methods.filter((m): m is LiveMethod => m === 'roi' || m === 'fit');
  }

  private prepare(cube: Cube): void {
    const key = `${cube.channels}:${cube.eMinKeV}:${cube.eMaxKeV}`;
    if (key === this.gridKey) return;
    this.gridKey = key;
    const grid = cubeGrid(cube);
    this.roiPlan = this.methods.includes('roi') ? planRoi(grid, this.elements, { detector: DEFAULT_DETECTOR }) : null;
    this.fitter = this.methods.includes('fit') ? new LinearFitter(grid, this.elements, { detector: DEFAULT_DETECTOR }) : null;
  }

  /** One method's maps of the cube now (synchronous: ~0.1-0.5 s for a 100x100 fit, so call it on a cadence only). */
  make(cube: Cube, method: LiveMethod): MapSet {
    this.prepare(cube);
    if (method === 'roi') return roiMaps(this.roiPlan!, cube);
    return this.fitter!.fitCube(cube).maps;
  }
}
