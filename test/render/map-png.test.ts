import assert from 'node:assert/strict';
import { colormapColor, NO_DATA_COLOR } from '../../daemon/render/colormap.js';
import { autoMapScale, layoutMapPanel, renderMapGridPng, renderMapPng } from '../../daemon/render/map-png.js';
import { colorDistance, decodePng, inkCount, pixel } from './png-helpers.js';

/** A w×h ramp with the maximum at the right edge and zero at the left. */
function ramp(w: number, h: number): Float32Array {
  const m = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) m[y * w + x] = x;
  return m;
}

describe('render/map-png', () => {
  it('scales the map to about 400 px and puts the colormap ends at the map minimum and maximum', () => {
    const w = 32, h = 16;
    const map = ramp(w, h);
    const opts = { title: 'Cu — fit', unit: 'counts' };
    const layout = layoutMapPanel(map, w, h, opts);
    assert.equal(layout.scale, autoMapScale(w, h));
    assert.equal(layout.scale, 13);
    const img = decodePng(renderMapPng(map, w, h, opts));
    assert.equal(img.width, layout.width);
    assert.equal(img.height, layout.height);
    const { image, scale } = layout;
    // Map pixel (0, y) holds 0 (bottom colour); (31, y) holds the maximum (top colour: the ramp's
    // 99.5th percentile is 31 here since every column repeats 16 times).
    assert.deepEqual(pixel(img, image.x, image.y), colormapColor('viridis', 0));
    assert.deepEqual(pixel(img, image.x + scale - 1, image.y + image.h - 1), colormapColor('viridis', 0));
    assert.deepEqual(pixel(img, image.x + image.w - 1, image.y), colormapColor('viridis', 1));
    // Nearest neighbour: a whole scale×scale block has one colour.
    const c = pixel(img, image.x + 10 * scale, image.y + 3 * scale);
    assert.deepEqual(pixel(img, image.x + 11 * scale - 1, image.y + 4 * scale - 1), c);
    assert.deepEqual(c, colormapColor('viridis', 10 / 31));
  });

  it('draws a colorbar from the top colour down to the bottom colour, with tick labels and a title', () => {
    const w = 20, h = 20;
    const map = ramp(w, h);
    const opts = { title: 'Pb — roi', colormap: 'magma' as const, min: 0, max: 19 };
    const layout = layoutMapPanel(map, w, h, opts);
    const img = decodePng(renderMapPng(map, w, h, opts));
    const { colorbar } = layout;
    const cx = colorbar.x + Math.floor(colorbar.w / 2);
    assert.deepEqual(pixel(img, cx, colorbar.y), colormapColor('magma', 1));
    assert.deepEqual(pixel(img, cx, colorbar.y + colorbar.h - 1), colormapColor('magma', 0));
    assert.ok(layout.ticks.length >= 3, 'several ticks');
    assert.equal(layout.ticks[0]!.label, '0');
    // Tick labels are ink to the right of the bar; the title is ink above the image.
    assert.ok(inkCount(img, colorbar.x + colorbar.w + 2, colorbar.y - 5, img.width, colorbar.y + colorbar.h + 5) > 50);
    assert.ok(inkCount(img, 0, 0, img.width, layout.image.y - 2) > 50);
  });

  it('honours explicit min / max and clamps outside values', () => {
    const map = new Float32Array([-5, 0, 50, 100, 500, 1e9]);
    const opts = { title: 't', min: 0, max: 100, scale: 4 };
    const layout = layoutMapPanel(map, 6, 1, opts);
    const img = decodePng(renderMapPng(map, 6, 1, opts));
    const at = (i: number) => pixel(img, layout.image.x + i * 4 + 1, layout.image.y + 1);
    assert.deepEqual(at(0), colormapColor('viridis', 0));
    assert.deepEqual(at(1), colormapColor('viridis', 0));
    assert.deepEqual(at(2), colormapColor('viridis', 0.5));
    assert.deepEqual(at(3), colormapColor('viridis', 1));
    assert.deepEqual(at(5), colormapColor('viridis', 1));
  });

  it('marks a clipped colour scale with a triangle in the end colour', () => {
    const map = ramp(10, 10);
    const opts = { title: 'clipped', max: 5, min: 2, colormap: 'inferno' as const };
    const layout = layoutMapPanel(map, 10, 10, opts);
    assert.ok(layout.clippedHigh && layout.clippedLow);
    const img = decodePng(renderMapPng(map, 10, 10, opts));
    const cx = layout.colorbar.x + Math.floor(layout.colorbar.w / 2);
    assert.deepEqual(pixel(img, cx, layout.colorbar.y - 3), colormapColor('inferno', 1));
    assert.deepEqual(pixel(img, cx, layout.colorbar.y + layout.colorbar.h + 2), colormapColor('inferno', 0));
    const unclipped = layoutMapPanel(map, 10, 10, { title: 'full', min: 0, max: 9 });
    assert.ok(!unclipped.clippedHigh && !unclipped.clippedLow);
  });

  it('shows NaN pixels in the no-data colour and explains it in the footer', () => {
    const map = ramp(8, 8);
    map[9] = NaN; // (1, 1)
    const opts = { title: 'Fe — model' };
    const layout = layoutMapPanel(map, 8, 8, opts);
    assert.equal(layout.noData, 1);
    const img = decodePng(renderMapPng(map, 8, 8, opts));
    const s = layout.scale;
    assert.deepEqual(pixel(img, layout.image.x + s + 1, layout.image.y + s + 1), NO_DATA_COLOR);
    // The footer swatch: a no-data coloured square somewhere below the image.
    let swatch = 0;
    for (let y = layout.image.y + layout.image.h + 2; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) if (colorDistance(pixel(img, x, y), NO_DATA_COLOR) === 0) swatch++;
    }
    assert.ok(swatch >= 9, `swatch pixels ${swatch}`);
  });

  it('does not crash on constant, all-zero, all-NaN, 1×1 and log-scaled maps', () => {
    const cases: [Float32Array, number, number, boolean][] = [
      [new Float32Array(16).fill(3), 4, 4, false],
      [new Float32Array(16), 4, 4, false],
      [new Float32Array(16).fill(NaN), 4, 4, false],
      [new Float32Array([42]), 1, 1, false],
      [new Float32Array(16), 4, 4, true],
      [ramp(4, 4), 4, 4, true],
    ];
    for (const [map, w, h, log] of cases) {
      const layout = layoutMapPanel(map, w, h, { title: 'x', log });
      const img = decodePng(renderMapPng(map, w, h, { title: 'x', log }));
      assert.equal(img.width, layout.width);
      const p = pixel(img, layout.image.x + 1, layout.image.y + 1);
      if (Number.isNaN(map[0]!)) assert.deepEqual(p, NO_DATA_COLOR);
      else if (!log && map.every((v) => v === 0)) assert.deepEqual(p, colormapColor('viridis', 0));
    }
  });

  it('log scale on a sparse map: the few counted pixels get the top colour, the range is never inverted', () => {
    // One lit pixel in 35: the 99.5th percentile (interpolated) falls below the only positive value.
    for (const v of [1, 50, 1e-30]) {
      const map = new Float32Array(35);
      map[1 * 7 + 3] = v;
      const opts = { title: 'sparse', log: true, scale: 4 };
      const layout = layoutMapPanel(map, 7, 5, opts);
      assert.ok(layout.min < layout.max, `log range ${layout.min} .. ${layout.max} for a pixel of ${v}`);
      const img = decodePng(renderMapPng(map, 7, 5, opts));
      assert.deepEqual(pixel(img, layout.image.x + 3 * 4 + 1, layout.image.y + 1 * 4 + 1), colormapColor('viridis', 1), `pixel of ${v}`);
      assert.deepEqual(pixel(img, layout.image.x + 1, layout.image.y + 1), colormapColor('viridis', 0));
    }
  });

  it('shows a constant non-zero map in one colour (0 .. value scale)', () => {
    const map = new Float32Array(9).fill(3);
    const layout = layoutMapPanel(map, 3, 3, { title: 'c' });
    assert.deepEqual([layout.min, layout.max], [0, 3]);
  });

  it('rejects a map whose length does not match its size', () => {
    assert.throws(() => renderMapPng(new Float32Array(5), 2, 2, { title: 'bad' }), RangeError);
    assert.throws(() => renderMapPng(new Float32Array(0), 0, 0, { title: 'empty' }), RangeError);
  });

  it('lays out a grid of panels, each with its own scale', () => {
    const w = 10, h = 6;
    const maps = [
      { title: 'Cu', data: ramp(w, h) },
      { title: 'Pb', data: ramp(w, h).map((v) => v * 1000) },
      { title: 'Hg', data: new Float32Array(w * h) },
    ];
    const single = decodePng(renderMapPng(maps[0]!.data, w, h, { title: 'Cu', scale: 20 }));
    const grid = decodePng(renderMapGridPng(maps, w, h, { title: 'scan 7 — fit', columns: 2, scale: 20 }));
    assert.ok(grid.width >= 2 * single.width - 40, `grid ${grid.width} vs panel ${single.width}`);
    assert.ok(grid.height >= 2 * single.height);
    const empty = decodePng(renderMapGridPng([], w, h, { title: 'nothing yet' }));
    assert.ok(empty.width > 0 && inkCount(empty, 0, 0, empty.width, empty.height) > 0);
  });
});
