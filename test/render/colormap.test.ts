import assert from 'node:assert/strict';
import {
  applyColormap,
  colormapColor,
  colormapLut,
  COLORMAP_NAMES,
  makeNormalizer,
  NO_DATA_COLOR,
  noDataColor,
} from '../../daemon/render/colormap.js';

/** CIE L* (D65) of an sRGB colour: the lightness a perceptual colormap must increase monotonically. */
function lightness([r, g, b]: readonly number[]): number {
  const lin = (c: number) => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const y = 0.2126 * lin(r!) + 0.7152 * lin(g!) + 0.0722 * lin(b!);
  return y > 216 / 24389 ? 116 * Math.cbrt(y) - 16 : (24389 / 27) * y;
}

function rgbaAt(rgba: Uint8ClampedArray, i: number): number[] {
  return Array.from(rgba.subarray(i * 4, i * 4 + 4));
}

describe('render/colormap', () => {
  it('has the published viridis / magma endpoints and midpoint', () => {
    assert.deepEqual(colormapColor('viridis', 0), [68, 1, 84]);
    assert.deepEqual(colormapColor('viridis', 1), [253, 231, 37]);
    // matplotlib viridis(0.5) = (0.128729, 0.563265, 0.551229) -> (33, 144, 141)
    const mid = colormapColor('viridis', 0.5);
    assert.ok(Math.abs(mid[0] - 33) <= 2 && Math.abs(mid[1] - 144) <= 2 && Math.abs(mid[2] - 141) <= 2, `${mid}`);
    assert.deepEqual(colormapColor('magma', 1), [252, 253, 191]);
    assert.deepEqual(colormapColor('gray', 0), [0, 0, 0]);
    assert.deepEqual(colormapColor('gray', 1), [255, 255, 255]);
  });

  it('increases monotonically in lightness (viridis, magma, inferno, gray)', () => {
    for (const name of COLORMAP_NAMES) {
      const lut = colormapLut(name);
      let prev = -Infinity;
      for (let i = 0; i < 256; i++) {
        const l = lightness([lut[i * 3]!, lut[i * 3 + 1]!, lut[i * 3 + 2]!]);
        assert.ok(l >= prev - 0.05, `${name} lightness drops at ${i}: ${prev} -> ${l}`);
        prev = l;
      }
      const lo = lightness([lut[0]!, lut[1]!, lut[2]!]);
      assert.ok(prev - lo > 60, `${name} spans a wide lightness range`);
    }
  });

  it('maps min, max and out-of-range values to the ends, NaN to the no-data colour', () => {
    const values = new Float32Array([0, 10, 5, -3, 99, NaN, Infinity, -Infinity]);
    const rgba = applyColormap(values, 8, 1, { min: 0, max: 10 });
    const bottom = [...colormapColor('viridis', 0), 255];
    const top = [...colormapColor('viridis', 1), 255];
    assert.deepEqual(rgbaAt(rgba, 0), bottom);
    assert.deepEqual(rgbaAt(rgba, 1), top);
    assert.deepEqual(rgbaAt(rgba, 2), [...colormapColor('viridis', 0.5), 255]);
    assert.deepEqual(rgbaAt(rgba, 3), bottom);
    assert.deepEqual(rgbaAt(rgba, 4), top);
    assert.deepEqual(rgbaAt(rgba, 5), [...NO_DATA_COLOR, 255]);
    assert.deepEqual(rgbaAt(rgba, 6), top);
    assert.deepEqual(rgbaAt(rgba, 7), bottom);
  });

  it('keeps the no-data colour distinct from every colormap colour', () => {
    for (const name of COLORMAP_NAMES) {
      const lut = colormapLut(name);
      const nd = noDataColor(name);
      assert.deepEqual(rgbaAt(applyColormap([NaN], 1, 1, { min: 0, max: 1, name }), 0), [...nd, 255]);
      for (let i = 0; i < 256; i++) {
        const d = Math.max(...[0, 1, 2].map((c) => Math.abs(lut[i * 3 + c]! - nd[c]!)));
        assert.ok(d > 20, `${name}[${i}] is too close to the no-data grey`);
      }
    }
  });

  it('shows a constant map (degenerate range) in the bottom colour', () => {
    const rgba = applyColormap(new Float32Array([7, 7, 7, 7]), 2, 2, { min: 7, max: 7, name: 'magma' });
    for (let i = 0; i < 4; i++) assert.deepEqual(rgbaAt(rgba, i), [...colormapColor('magma', 0), 255]);
  });

  it('supports a log scale: decades are evenly spaced, non-positive values at the bottom', () => {
    const norm = makeNormalizer({ min: 1, max: 1000, log: true });
    assert.equal(norm(1), 0);
    assert.ok(Math.abs(norm(10) - 1 / 3) < 1e-12);
    assert.ok(Math.abs(norm(100) - 2 / 3) < 1e-12);
    assert.equal(norm(1000), 1);
    assert.equal(norm(0), 0);
    assert.equal(norm(-5), 0);
  });

  it('rejects short inputs and unknown names', () => {
    assert.throws(() => applyColormap(new Float32Array(3), 2, 2, { min: 0, max: 1 }), RangeError);
    assert.throws(() => colormapLut('jet' as never), RangeError);
  });
});
