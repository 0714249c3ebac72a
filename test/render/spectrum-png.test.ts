import assert from 'node:assert/strict';
import type { RGB } from '../../daemon/render/canvas.js';
import { layoutSpectrum, renderSpectrumPng, type SpectrumPngOptions } from '../../daemon/render/spectrum-png.js';
import { decodePng, inkCount, pixel } from './png-helpers.js';

function energies(n: number, maxKeV: number): Float64Array {
  return new Float64Array(n).map((_, i) => ((i + 0.5) * maxKeV) / n);
}

function peak(e: Float64Array, centre: number, height: number, base = 5): Float64Array {
  return e.map((x) => base + height * Math.exp(-0.5 * ((x - centre) / 0.2) ** 2));
}

function columnPixels(img: ReturnType<typeof decodePng>, x: number, y0: number, y1: number, color: RGB): number {
  let n = 0;
  for (let y = y0; y < y1; y++) {
    const p = pixel(img, x, y);
    if (p[0] === color[0] && p[1] === color[1] && p[2] === color[2]) n++;
  }
  return n;
}

describe('render/spectrum-png', () => {
  const e = energies(1024, 20);
  const cuKa: RGB = [0, 200, 0];
  const escape: RGB = [200, 0, 200];
  const opts: SpectrumPngOptions = {
    energiesKeV: e,
    series: [{ label: 'sum', counts: peak(e, 8.048, 1000), color: [0, 0, 255] }],
    markers: [
      { energyKeV: 8.048, label: 'Cu Kα', color: cuKa },
      { energyKeV: 8.048 - 2.957, label: 'Cu esc', color: escape, dashed: true },
    ],
    title: 'Sum spectrum',
  };

  it('has the default size and maps the full bin range onto the plot', () => {
    const layout = layoutSpectrum(opts);
    const img = decodePng(renderSpectrumPng(opts));
    assert.equal(img.width, 900);
    assert.equal(img.height, 450);
    assert.equal(layout.xMin, 0);
    assert.equal(layout.xMax, 20);
    assert.equal(layout.xToPx(0), layout.plot.x);
    assert.equal(layout.xToPx(20), layout.plot.x + layout.plot.w - 1);
    assert.deepEqual(layout.xTicks.map((t) => t.label).slice(0, 3), ['0', '2', '4']);
  });

  it('draws a solid marker line at the energy column and a dashed one for escape peaks', () => {
    const layout = layoutSpectrum(opts);
    const img = decodePng(renderSpectrumPng(opts));
    const { plot } = layout;
    const below = plot.y + plot.h / 2; // below the label rows
    const x = Math.round(layout.xToPx(8.048));
    // Solid marker: drawn with 85% opacity over white, so its colour is a fixed blend.
    const solid: RGB = [38, 208, 38];
    assert.ok(columnPixels(img, x, below, plot.y + plot.h, solid) > plot.h / 3, 'solid marker in its column');
    assert.equal(columnPixels(img, x - 2, plot.y, plot.y + plot.h, solid), 0, 'nothing two columns off');
    const xe = Math.round(layout.xToPx(8.048 - 2.957));
    const dashed = columnPixels(img, xe, below, plot.y + plot.h, escape);
    const span = plot.y + plot.h - below;
    assert.ok(dashed > span * 0.4 && dashed < span * 0.7, `dashed coverage ${dashed}/${span}`);
  });

  it('draws marker labels, title, legend and axis labels as text', () => {
    const layout = layoutSpectrum(opts);
    const img = decodePng(renderSpectrumPng(opts));
    const label = layout.markerLabels.find((l) => l.marker.label === 'Cu Kα')!;
    assert.ok(inkCount(img, label.x, label.y, label.x + label.width, label.y + 9) > 15);
    assert.ok(inkCount(img, 0, 0, img.width, layout.plot.y - 2) > 100, 'title and legend');
    assert.ok(inkCount(img, 0, layout.plot.y + layout.plot.h + 2, img.width, img.height) > 100, 'x ticks and label');
    assert.ok(inkCount(img, 0, layout.plot.y, layout.plot.x - 2, layout.plot.y + layout.plot.h) > 100, 'y ticks and label');
  });

  it('keeps the data below the marker labels and puts the peak at its energy', () => {
    const layout = layoutSpectrum(opts);
    const img = decodePng(renderSpectrumPng(opts));
    const lowestLabel = Math.max(...layout.markerLabels.map((l) => l.y + 9));
    assert.ok(layout.yToPx(1005) > lowestLabel, 'peak top is below the label band');
    const x = Math.round(layout.xToPx(8.048));
    const y = Math.round(layout.yToPx(1005));
    let blue = 0;
    for (let dx = -2; dx <= 2; dx++) for (let dy = -3; dy <= 3; dy++) if (pixel(img, x + dx, y + dy)[2] > 200 && pixel(img, x + dx, y + dy)[0] < 120) blue++;
    assert.ok(blue > 0, 'series drawn through the peak top');
  });

  it('stacks close marker labels in separate rows instead of overprinting', () => {
    const layout = layoutSpectrum({
      ...opts,
      markers: [
        { energyKeV: 8.0, label: 'Cu Kα' },
        { energyKeV: 8.1, label: 'Zn esc' },
        { energyKeV: 8.2, label: 'Ni Kβ' },
      ],
    });
    const rows = new Set(layout.markerLabels.map((l) => l.row));
    assert.equal(rows.size, 3);
  });

  it('uses decade ticks on a log axis and keeps zero-count bins at the bottom', () => {
    const counts = new Uint32Array(e.length).map((_, i) => (i % 2 ? 0 : 1 + Math.round(5000 * Math.exp(-0.5 * ((e[i]! - 8) / 0.2) ** 2))));
    const layout = layoutSpectrum({ energiesKeV: e, series: [{ label: 'c', counts }], logY: true });
    const labels = layout.yTicks.map((t) => t.label);
    assert.ok(labels.includes('1') && labels.includes('10') && labels.includes('1000'), labels.join(' '));
    assert.equal(layout.yToPx(0), layout.plot.y + layout.plot.h - 1);
    const ten = layout.yToPx(10), hundred = layout.yToPx(100), thousand = layout.yToPx(1000);
    assert.ok(Math.abs(ten - hundred - (hundred - thousand)) < 1e-6, 'decades evenly spaced');
    decodePng(renderSpectrumPng({ energiesKeV: e, series: [{ label: 'c', counts }], logY: true }));
  });

  it('draws coarse spectra as steps covering each bin', () => {
    const ec = energies(16, 16);
    const counts = new Float64Array(16).fill(10);
    counts[8] = 100;
    const o: SpectrumPngOptions = { energiesKeV: ec, series: [{ label: '', counts, color: [255, 0, 0] }], width: 400, height: 300 };
    const layout = layoutSpectrum(o);
    const img = decodePng(renderSpectrumPng(o));
    const y = Math.round(layout.yToPx(100));
    // The top of bin 8 (8..9 keV) is a horizontal run of series colour across the bin.
    for (const kev of [8.1, 8.5, 8.9]) assert.deepEqual(pixel(img, Math.round(layout.xToPx(kev)), y), [255, 0, 0]);
    assert.notDeepEqual(pixel(img, Math.round(layout.xToPx(7.5)), y), [255, 0, 0]);
  });

  it('keeps narrow peaks visible when there are more bins than pixels', () => {
    const dense = energies(8192, 20);
    const counts = new Float64Array(dense.length);
    counts[4000] = 500; // a single-bin spike
    const o: SpectrumPngOptions = { energiesKeV: dense, series: [{ label: 's', counts, color: [255, 0, 0] }], width: 400, height: 300 };
    const layout = layoutSpectrum(o);
    const img = decodePng(renderSpectrumPng(o));
    const x = Math.round(layout.xToPx(dense[4000]!));
    assert.ok(columnPixels(img, x, layout.plot.y, layout.plot.y + layout.plot.h, [255, 0, 0]) > layout.plot.h * 0.6);
  });

  it('does not crash on empty, all-zero or non-finite input', () => {
    for (const o of [
      { energiesKeV: new Float64Array(0), series: [] },
      { energiesKeV: e, series: [] },
      { energiesKeV: e, series: [{ label: 'z', counts: new Float64Array(e.length) }], logY: true },
      { energiesKeV: e, series: [{ label: 'n', counts: new Float64Array(e.length).fill(NaN) }] },
      { energiesKeV: new Float64Array([5]), series: [{ label: 'one', counts: new Float64Array([3]) }] },
    ] as SpectrumPngOptions[]) {
      const img = decodePng(renderSpectrumPng(o));
      assert.equal(img.width, 900);
    }
  });
});
