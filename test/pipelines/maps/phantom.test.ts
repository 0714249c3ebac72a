// Maps of a recorded simulated scan of phantom-painting against the phantom's true element maps.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../../config/schema.js';
import { encodeEventsFrames } from '../../../drivers/codecs/gemx-encode.js';
import { RecordingWriter } from '../../../drivers/file/recording-writer.js';
import { EventGenerator } from '../../../simulator/generators/events.js';
import { truthMaps } from '../../../simulator/phantoms/index.js';
import { buildMaps, cubeGrid } from '../../../pipelines/maps/build.js';
import * as fitModule from '../../../pipelines/maps/fit.js';
import { pearson } from '../../../pipelines/maps/compare.js';
import { cubeFromRecording } from '../../../pipelines/maps/recording-cube.js';
import { elementMap } from '../../../pipelines/maps/types.js';
import { runCli } from '../../support/cli.js';

const W = 48;
const H = 40;
const EVENTS = 500_000; // ~260 counts per pixel: a short scan

/** Records a simulated phantom-painting scan (EVENTS frames, as the simulator's device would send). */
export async function recordPhantomScan(path: string, seed = 5): Promise<EventGenerator> {
  const config = configSchema.parse({ detector: { width: W, height: H } });
  const gen = new EventGenerator({ phantom: 'phantom-painting', width: W, height: H, ratePerSecond: 1e6, seed });
  const w = RecordingWriter.create(path, { instrumentId: 'test', meta: { config, source: 'simulator' } }, { sync: false });
  let seq = 0;
  for (let done = 0; done < EVENTS; done += 50_000) {
    for (const frame of encodeEventsFrames(seq, gen.next(50_000))) {
      w.append(frame);
      seq++;
    }
  }
  await w.close();
  return gen;
}

describe('pipelines/maps on a recorded phantom-painting scan', function () {
  this.timeout(60_000);
  let dir: string;
  let gen: EventGenerator;
  let built: ReturnType<typeof cubeFromRecording>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gemxrf-maps-'));
    gen = await recordPhantomScan(join(dir, 'scan.gemx'));
    // The default configuration is 100 x 100: the recording's own geometry (header snapshot) must win.
    built = cubeFromRecording(join(dir, 'scan.gemx'), configSchema.parse({}));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('rebuilds the cube from the recording on the recording own grid', () => {
    assert.equal(built.cube.width, W);
    assert.equal(built.cube.height, H);
    assert.equal(built.read.events, EVENTS);
    assert.equal(built.cube.counters().eventsAdded, EVENTS);
  });

  for (const method of ['roi', 'fit'] as const) {
    it(`${method} maps correlate with the phantom's true Cr, Cu and Pb maps`, () => {
      const elements = configSchema.parse({}).maps.elements; // 10 elements, most of them absent: realistic
      const { maps } = buildMaps(built.cube, cubeGrid(built.cube), method, elements);
      const truth = truthMaps(gen.phantom, W, H);
      const totals = built.cube.totals;
      for (const el of ['Cr', 'Cu', 'Pb']) {
        const e = truth.elements.indexOf(el);
        // Expected element counts per pixel: its true share of the pixel's counts x the pixel's counts.
        const expected = Float64Array.from({ length: W * H }, (_, p) => truth.maps[e * W * H + p]! * totals[p]!);
        const r = pearson(elementMap(maps, el), expected);
        assert.ok(r > (method === 'fit' ? 0.93 : 0.9), `${method} ${el}: correlation ${r.toFixed(3)}`);
      }
    });
  }

  it('fit of the sum spectrum recovers each element total within 4% (about 4 sigma); per-pixel fits within 15%', () => {
    // Per-pixel NNLS at ~260 counts per pixel is biased upwards (noise pushes coefficients that
    // belong at zero above it, never below), which is why the per-pixel bound is looser.
    const elements = configSchema.parse({}).maps.elements;
    const { LinearFitter } = fitModule;
    const fitter = new LinearFitter(cubeGrid(built.cube), elements);
    const { maps, chi2 } = fitter.fitCube(built.cube);
    const whole = fitter.fitSpectrum(built.cube.sumSpectrum);
    const truth = truthMaps(gen.phantom, W, H);
    const totals = built.cube.totals;
    let all = 0;
    for (let p = 0; p < W * H; p++) all += totals[p]!;
    elements.forEach((el, i) => {
      const fitted = elementMap(maps, el).reduce((s, v) => s + v, 0);
      const e = truth.elements.indexOf(el);
      let expected = 0;
      if (e >= 0) for (let p = 0; p < W * H; p++) expected += truth.maps[e * W * H + p]! * totals[p]!;
      if (e >= 0) {
        assert.ok(Math.abs(whole.netCounts[i]! - expected) < 0.04 * expected, `${el} (sum spectrum): ${whole.netCounts[i]!.toFixed(0)} vs ${expected.toFixed(0)}`);
        assert.ok(Math.abs(fitted - expected) < 0.15 * expected, `${el}: fit ${fitted.toFixed(0)} vs true ${expected.toFixed(0)}`);
      } else {
        assert.ok(whole.netCounts[i]! < 0.002 * all, `absent ${el} got ${whole.netCounts[i]!.toFixed(0)} of ${all} counts in the sum spectrum`);
        assert.ok(fitted < 0.03 * all, `absent ${el} got ${fitted.toFixed(0)} of ${all} counts`);
      }
    });
    let mean = 0;
    for (const v of chi2) mean += v / chi2.length;
    assert.ok(mean > 0.85 && mean < 1.15, `mean reduced chi2 ${mean} (a correct model at ~1 count per channel)`);
  });

  it('gemxrf maps writes a PNG per element and method, the count map and the chi2 map', () => {
    const png = join(dir, 'png');
    const r = runCli(['maps', '--from', join(dir, 'scan.gemx'), '--png', png, '--method', 'roi,fit', '--elements', 'Cr,cu,Pb', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { width: number; height: number; events: number; files: string[]; maps: Array<{ method: string; element: string; total: number }> };
    assert.deepEqual([out.width, out.height, out.events], [W, H, EVENTS]);
    const names = out.files.map((f) => f.slice(png.length + 1)).sort();
    assert.deepEqual(names, ['counts.png', 'fit-Cr.png', 'fit-Cu.png', 'fit-Pb.png', 'fit-all.png', 'fit-chi2.png', 'roi-Cr.png', 'roi-Cu.png', 'roi-Pb.png', 'roi-all.png']);
    for (const f of out.files) assert.deepEqual([...readFileSync(f).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], `${f} is not a PNG`);
    for (const m of out.maps) assert.ok(m.total > 0, `${m.method} ${m.element} map is empty`);
  });
});
