// request/pixel/get {x, y, radius?} (docs/mqtt.md): one pixel's spectrum from the running (or last) scan's cube,
// with each element's roi and fit values computed from that spectrum, so a dashboard can show why a map pixel
// has the value it has. radius > 0 sums the (2r+1)^2 neighbourhood (clipped to the grid): single pixels of
// a short scan hold a few counts only.
//
// roi counts equal the roi map's value at the pixel (same window plan); the fit is fitSpectrum's own
// two-pass Poisson fit of this one spectrum, not the map's cube fit with shared weights and background,
// so it can differ from the fit map by the statistical scatter. The model's values come from the inference
// engine when one is wired in (modelAt); otherwise `model` is null and clients read the model map frames.
import { z } from 'zod';
import { DEFAULT_DETECTOR } from '../physics/index.js';
import type { Cube } from '../pipelines/cube/cube.js';
import { cubeGrid } from '../pipelines/maps/build.js';
import { LinearFitter } from '../pipelines/maps/fit.js';
import { planRoi, roiCounts, type RoiBackgroundOptions, type RoiPlan } from '../pipelines/maps/roi.js';
import { RequestError, type MqttBridge } from './mqtt/bridge.js';

export const MAX_PIXEL_RADIUS = 8;

const pixelSchema = z.strictObject({
  x: z.number().int().min(0),
  y: z.number().int().min(0),
  radius: z.number().int().min(0).max(MAX_PIXEL_RADIUS).optional(),
});

export interface PixelModelValues {
  elements: string[];
  /** Share of the pixel's counts per element. */
  fractions: number[];
  /** Presence probability per element, when the model gives one. */
  presence?: number[];
}

export interface PixelRequestContext {
  bridge: MqttBridge;
  /** The cube to read (the running scan's, or the last scan's). */
  cube(): { cube: Cube; scanId: string } | null;
  elements: readonly string[];
  /** roi: the continuum under the windows, as the roi maps (maps.roi; default snip). */
  roi?: RoiBackgroundOptions;
  /** The inference engine's values at a pixel, when it runs. */
  modelAt?(x: number, y: number): PixelModelValues | null;
}

export interface PixelAnswer {
  scanId: string;
  x: number;
  y: number;
  radius: number;
  /** Pixels summed (fewer than (2r+1)^2 at the edges). */
  pixels: number;
  channels: number;
  eMinKeV: number;
  eMaxKeV: number;
  binWidthKeV: number;
  total: number;
  counts: number[];
  elements: string[];
  roi: { counts: number[]; fractions: number[] };
  fit: { netCounts: number[]; fractions: number[]; chi2: number };
  model: PixelModelValues | null;
}

/** The roi plan and the fitter are built once per energy grid (building the fit components is the slow part). */
class PixelAnalyzer {
  private key = '';
  private plan: RoiPlan | null = null;
  private fitter: LinearFitter | null = null;

  constructor(
    private readonly elements: readonly string[],
    private readonly roi: RoiBackgroundOptions = {},
  ) {}

  prepare(cube: Cube): { plan: RoiPlan; fitter: LinearFitter } {
    const key = `${cube.channels}:${cube.eMinKeV}:${cube.eMaxKeV}`;
    if (key !== this.key || !this.plan || !this.fitter) {
      const grid = cubeGrid(cube);
      this.plan = planRoi(grid, this.elements, { ...this.roi, detector: DEFAULT_DETECTOR });
      this.fitter = new LinearFitter(grid, this.elements, { detector: DEFAULT_DETECTOR });
      this.key = key;
    }
    return { plan: this.plan, fitter: this.fitter };
  }
}

const round = (v: number, digits = 6) => Number(v.toPrecision(digits));

export function analyzePixel(analyzer: { prepare(c: Cube): { plan: RoiPlan; fitter: LinearFitter } }, cube: Cube, scanId: string, x: number, y: number, radius: number): Omit<PixelAnswer, 'model'> {
  if (x >= cube.width || y >= cube.height) throw new RequestError(`pixel (${x}, ${y}) is outside the ${cube.width}x${cube.height} image`);
  const spectrum = cube.regionSpectrum(x - radius, y - radius, 2 * radius + 1, 2 * radius + 1);
  const pixels = (Math.min(cube.width, x + radius + 1) - Math.max(0, x - radius)) * (Math.min(cube.height, y + radius + 1) - Math.max(0, y - radius));
  const { plan, fitter } = analyzer.prepare(cube);
  let total = 0;
  for (let c = 0; c < spectrum.length; c++) total += spectrum[c]!;
  const roi = roiCounts(plan, spectrum);
  const roiFractions = Array.from(roi, (v, e) => {
    const cap = plan.windows[e]!.capture;
    return total > 0 && cap > 0 ? round(Math.min(1, v / cap / total)) : 0;
  });
  const fit = fitter.fitSpectrum(spectrum);
  return {
    scanId, x, y, radius, pixels,
    channels: cube.channels, eMinKeV: cube.eMinKeV, eMaxKeV: cube.eMaxKeV, binWidthKeV: (cube.eMaxKeV - cube.eMinKeV) / cube.channels,
    total,
    counts: Array.from(spectrum),
    elements: [...plan.elements],
    roi: { counts: Array.from(roi, (v) => round(v)), fractions: roiFractions },
    fit: { netCounts: Array.from(fit.netCounts, (v) => round(v)), fractions: Array.from(fit.fractions, (v) => round(v)), chi2: round(fit.chi2, 4) },
  };
}

export function registerPixelRequest(ctx: PixelRequestContext): void {
  const analyzer = new PixelAnalyzer(ctx.elements, ctx.roi);
  ctx.bridge.handle('pixel/get', (data) => {
    const r = pixelSchema.safeParse(data);
    if (!r.success) {
      const msg = r.error.issues
        .map((i) => (i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.map((k) => `'${k}'`).join(', ')}` : `${i.path.map(String).join('.') || 'payload'}: ${i.message}`))
        .join('; ');
      throw new RequestError(`bad request: ${msg}`);
    }
    const cur = ctx.cube();
    if (!cur) throw new RequestError('no cube yet: start a scan first');
    const { x, y } = r.data;
    const answer = analyzePixel(analyzer, cur.cube, cur.scanId, x, y, r.data.radius ?? 0);
    return { ...answer, model: ctx.modelAt?.(x, y) ?? null } satisfies PixelAnswer;
  });
}
