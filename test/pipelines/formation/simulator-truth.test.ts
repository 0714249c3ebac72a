// Event formation against the simulator's strip-hit generator (simulator/generators/hits.ts): its own geometry,
// charge sharing, thresholds, jitter, noise hits; the truth comes with every batch.
import assert from 'node:assert/strict';
import { configSchema } from '../../../config/schema.js';
import type { HitBatch } from '../../../drivers/batches.js';
import { EventFormer } from '../../../pipelines/formation/event-former.js';
import { HitGenerator } from '../../../simulator/generators/hits.js';

describe('pipelines/formation vs the simulator hit generator', () => {
  it('efficiency, position resolution and energy resolution within tolerances', () => {
    const config = configSchema.parse({});
    const W = config.detector.width;
    const S = config.detector.stripsPerPlane;
    const gen = new HitGenerator({ phantom: 'uniform:Fe', width: W, height: config.detector.height, ratePerSecond: 50_000, seed: 7 });
    const former = new EventFormer(config.formation, config.detector);
    const truthT: number[] = [], truthX: number[] = [], truthY: number[] = [], truthAdc: number[] = [];
    const formed: Array<[number, number, number, number]> = [];
    const take = (b: { n: number; x: Uint16Array; y: Uint16Array; adc: Uint16Array; t: Float64Array }) => {
      for (let i = 0; i < b.n; i++) formed.push([b.x[i]!, b.y[i]!, b.adc[i]!, b.t[i]!]);
    };
    for (let k = 0; k < 8; k++) {
      const g = gen.next(500);
      for (let i = 0; i < g.truth.n; i++) {
        truthT.push(g.truth.t[i]!);
        truthX.push((g.truthStripX[i]! * W) / S);
        truthY.push((g.truthStripY[i]! * config.detector.height) / S);
        truthAdc.push(g.truth.adc[i]!);
      }
      const h = g.hits;
      const copy: HitBatch = { kind: 'hits', n: h.n, plane: h.plane.slice(0, h.n), strip: h.strip.slice(0, h.n), adc: h.adc.slice(0, h.n), t: h.t.slice(0, h.n) };
      take(former.push(copy));
    }
    take(former.flush());

    let j = 0, matched = 0, inPixel = 0, sx = 0, sy = 0;
    const ratios: number[] = [];
    for (const [x, y, adc, t] of formed) {
      while (j < truthT.length && truthT[j]! < t - 100) j++;
      if (j >= truthT.length || Math.abs(truthT[j]! - t) > 100) continue;
      matched++;
      if (x === Math.floor(truthX[j]!) && y === Math.floor(truthY[j]!)) inPixel++;
      sx += (x + 0.5 - truthX[j]!) ** 2;
      sy += (y + 0.5 - truthY[j]!) ** 2;
      if (truthAdc[j]! > 200) ratios.push(adc / truthAdc[j]!);
      j++;
    }
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    const sd = Math.sqrt(ratios.reduce((a, b) => a + (b - mean) ** 2, 0) / ratios.length);
    const c = former.counters();
    const efficiency = matched / truthT.length;
    console.log(`      ${truthT.length} true events: efficiency ${(100 * efficiency).toFixed(1)}%, position rms x ${Math.sqrt(sx / matched).toFixed(3)} ` +
      `y ${Math.sqrt(sy / matched).toFixed(3)} px, in the true pixel ${((100 * inPixel) / matched).toFixed(1)}%, adc scale ${mean.toFixed(4)}, ` +
      `adc resolution ${(100 * sd / mean).toFixed(2)}% rms; x-only ${c.xOnly}, y-only ${c.yOnly}, ratio ${c.ratio}, wide ${c.tooWide}, long ${c.tooLong}`);
    assert.ok(efficiency > 0.95, `efficiency ${efficiency}`);
    assert.ok(formed.length - matched < 0.01 * truthT.length, `${formed.length - matched} events without a true photon`);
    assert.ok(Math.sqrt(sx / matched) < 0.45 && Math.sqrt(sy / matched) < 0.45, 'position rms');
    assert.ok(inPixel / matched > 0.75, `in pixel ${inPixel / matched}`);
    assert.ok(Math.abs(mean - 1) < 0.05, `adc scale ${mean}`);
    assert.ok(sd / mean < 0.06, `adc resolution ${sd / mean}`);
    assert.equal(c.clustersX, c.events + c.tooWide + c.tooLong + c.ratio + c.xOnly);
  });
});
