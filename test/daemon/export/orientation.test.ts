// Map orientation end to end: one asymmetric cube (7 x 5; an Fe pixel at (x=3, y=1), a Pb pixel at (x=5, y=4),
// everything else empty) through every map method (roi, fit, model, count map) and every output path (MQTT
// GXMP frame decoded by the page, the page's canvas and its pixel click, PNG, npy, NeXus HDF5). Each must put
// the feature at the same (x, y): row = y, column = x, no transpose, no flip.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as h5wasm from 'h5wasm/node';
import { PNG } from 'pngjs';
import { configSchema } from '../../../config/schema.js';
import { exportScan } from '../../../daemon/export/index.js';
import { modelMapsOf } from '../../../daemon/export/scan-maps.js';
import type { ExportMapSet } from '../../../daemon/export/types.js';
import { encodeMapFrame } from '../../../daemon/mqtt/map-frame.js';
import { colormapLut } from '../../../daemon/render/colormap.js';
import { layoutMapPanel, renderMapPng } from '../../../daemon/render/map-png.js';
import { Cube } from '../../../pipelines/cube/cube.js';
import { buildMaps, cubeGrid } from '../../../pipelines/maps/build.js';
import { elementMap, type MapSet } from '../../../pipelines/maps/types.js';
import { DEFAULT_DETECTOR, elementResponse } from '../../../physics/index.js';
import { decodeGxmp } from '../../../web/src/gxmp.js';
import { repoRoot } from '../../support/cli.js';

const W = 7;
const H = 5;
const FE = { x: 3, y: 1 };
const PB = { x: 5, y: 4 };

function cubeWithTwoPixels(): Cube {
  const config = configSchema.parse({ detector: { width: W, height: H } });
  const cube = Cube.fromConfig(config);
  const C = cube.channels;
  const put = (el: string, at: { x: number; y: number }, n: number) => {
    const r = elementResponse(cubeGrid(cube), el, DEFAULT_DETECTOR);
    const p = at.y * W + at.x;
    let t = 0;
    for (let c = 0; c < C; c++) {
      const v = Math.round(r[c]! * n);
      cube.counts[p * C + c] = v;
      t += v;
    }
    cube.totals[p] = t;
  };
  put('Fe', FE, 20_000);
  put('Pb', PB, 20_000);
  return cube;
}

interface PageMap {
  draw(values: Float32Array, width: number, height: number): unknown;
  pixelAt(clientX: number, clientY: number): { x: number; y: number } | null;
  pixelBox(x: number, y: number): { left: number; top: number; width: number; height: number } | null;
}

/** (x, y) of the largest value of a row-major width x height map. */
function argmax(map: ArrayLike<number>, width: number): { x: number; y: number } {
  let best = -Infinity;
  let at = -1;
  for (let i = 0; i < map.length; i++) if (map[i]! > best) ((best = map[i]!), (at = i));
  return { x: at % width, y: Math.floor(at / width) };
}

describe('map orientation end to end (7 x 5 cube, Fe at (3, 1), Pb at (5, 4))', function () {
  this.timeout(60_000);
  let dir: string;
  let cube: Cube;
  const sets: MapSet[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gemxrf-orientation-'));
    cube = cubeWithTwoPixels();
    sets.push(buildMaps(cube, cubeGrid(cube), 'roi', ['Fe', 'Pb']).maps);
    sets.push(buildMaps(cube, cubeGrid(cube), 'fit', ['Fe', 'Pb']).maps);
    const model = await modelMapsOf(cube, 'lt-vit', join(repoRoot, 'models'));
    sets.push(...model.maps.map((m) => ({ ...m, data: m.data.slice() })));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('every map method puts Fe at (3, 1) and Pb at (5, 4), and the count map too', () => {
    const counts = cube.countMapFloat32();
    const lit = [...counts.keys()].filter((p) => counts[p]! > 0);
    assert.deepEqual(lit, [FE.y * W + FE.x, PB.y * W + PB.x]);
    for (const set of sets) {
      if (set.method === 'model' && (set as ExportMapSet).name === 'model-presence') continue; // probabilities may saturate
      assert.deepEqual(argmax(elementMap(set, 'Fe'), W), FE, `${set.method} ${(set as ExportMapSet).name ?? ''} Fe`);
      assert.deepEqual(argmax(elementMap(set, 'Pb'), W), PB, `${set.method} ${(set as ExportMapSet).name ?? ''} Pb`);
    }
  });

  it('the MQTT frame, decoded by the page, keeps row = y and column = x', () => {
    for (const set of sets) {
      const fe = elementMap(set, 'Fe');
      const f = decodeGxmp(new Uint8Array(encodeMapFrame({ element: 'Fe', method: set.method, scanId: 's', width: W, height: H, sequence: 1, timestampMs: 0, data: fe })));
      assert.equal(f.width, W);
      assert.equal(f.height, H);
      assert.deepEqual(Array.from(f.data), Array.from(fe));
    }
  });

  it('the page paints canvas row y, column x from map pixel (x, y), and a click there asks for (x, y)', async () => {
    // web/src/map-canvas.ts is typed against the DOM (not in the daemon's tsconfig): loaded by a computed
    // specifier so tsc does not follow it; tsx runs it as is with the stand-in canvas below.
    const spec = '../../../web/src/map-canvas.js';
    const { MapCanvas } = (await import(spec)) as { MapCanvas: new (c: unknown) => PageMap };
    const image = { width: 0, height: 0, data: new Uint8ClampedArray(0) };
    const ctx = {
      createImageData: (w: number, h: number) => Object.assign(image, { width: w, height: h, data: new Uint8ClampedArray(w * h * 4) }),
      putImageData: () => undefined,
    };
    // A 300 x 300 box showing a 7 x 5 map with object-fit: contain (letterboxed top and bottom).
    const rect = { left: 20, top: 40, width: 300, height: 300 };
    const canvas = { width: 0, height: 0, getContext: () => ctx, getBoundingClientRect: () => rect } as { width: number; height: number };
    const mc = new MapCanvas(canvas);
    const fe = elementMap(sets[0]!, 'Fe');
    mc.draw(fe, W, H);
    assert.equal(canvas.width, W);
    assert.equal(canvas.height, H);
    const top = colormapLut('viridis').subarray(255 * 3, 256 * 3);
    const px = (x: number, y: number) => Array.from(image.data.subarray((y * W + x) * 4, (y * W + x) * 4 + 3));
    assert.deepEqual(px(FE.x, FE.y), Array.from(top));
    const s = Math.min(rect.width / W, rect.height / H);
    const ox = rect.left + (rect.width - W * s) / 2;
    const oy = rect.top + (rect.height - H * s) / 2;
    assert.deepEqual(mc.pixelAt(ox + (FE.x + 0.5) * s, oy + (FE.y + 0.5) * s), FE);
    assert.deepEqual(mc.pixelAt(ox + (PB.x + 0.5) * s, oy + (PB.y + 0.5) * s), PB);
    const box = mc.pixelBox(FE.x, FE.y)!;
    assert.ok(Math.abs(rect.left + box.left * rect.width - (ox + FE.x * s)) < 1e-9);
    assert.ok(Math.abs(rect.top + box.top * rect.height - (oy + FE.y * s)) < 1e-9);
  });

  it('the PNG shows the pixel at image row y, column x', () => {
    const fe = elementMap(sets[1]!, 'Fe');
    const opts = { title: 'Fe', unit: 'counts', scale: 10 };
    const layout = layoutMapPanel(fe, W, H, opts);
    const png = PNG.sync.read(renderMapPng(fe, W, H, opts));
    const top = Array.from(colormapLut('viridis').subarray(255 * 3, 256 * 3));
    const at = (x: number, y: number) => {
      const i = ((layout.image.y + y * 10 + 5) * png.width + layout.image.x + x * 10 + 5) * 4;
      return Array.from(png.data.subarray(i, i + 3));
    };
    assert.deepEqual(at(FE.x, FE.y), top);
    assert.notDeepEqual(at(FE.y, FE.x), top);
    assert.notDeepEqual(at(FE.x, H - 1 - FE.y), top);
  });

  it('npy and NeXus HDF5 exports hold maps as [element, y, x], the count map as [y, x] and the cube as [y, x, channel]', async () => {
    await exportScan({ cube, maps: sets.map((s, i) => ({ ...s, name: (s as ExportMapSet).name ?? `${s.method}${i}` })), metadata: {}, formats: ['npy', 'hdf5'], outDir: dir });
    // npy: C order, so flat index ((e * H) + y) * W + x.
    const npy = readFileSync(join(dir, 'maps_fit1.npy'));
    const hl = npy.readUInt16LE(8);
    assert.match(npy.subarray(10, 10 + hl).toString('latin1'), /'shape': \(2, 5, 7\)/);
    const fit = new Float32Array(npy.buffer.slice(npy.byteOffset + 10 + hl, npy.byteOffset + npy.length));
    assert.equal(fit.length, 2 * W * H);
    assert.deepEqual(argmax(fit.subarray(0, W * H), W), FE);
    assert.deepEqual(argmax(fit.subarray(W * H), W), PB);

    await h5wasm.ready;
    const f = new h5wasm.File(join(dir, 'scan.h5'), 'r');
    try {
      const maps = f.get('entry/maps/fit1/data') as h5wasm.Dataset;
      assert.deepEqual(maps.shape, [2, H, W]);
      const v = maps.value as Float32Array;
      assert.deepEqual(argmax(v.subarray(0, W * H), W), FE);
      const cm = f.get('entry/count_map/data') as h5wasm.Dataset;
      assert.deepEqual(cm.shape, [H, W]);
      assert.deepEqual(argmax(cm.value as Uint32Array, W), argmax(cube.totals, W));
      const data = f.get('entry/data/data') as h5wasm.Dataset;
      assert.deepEqual(data.shape, [H, W, cube.channels]);
      const spectrum = data.slice([[FE.y, FE.y + 1], [FE.x, FE.x + 1], []]) as Uint32Array;
      assert.deepEqual(Array.from(spectrum), Array.from(cube.pixelSpectrum(FE.x, FE.y)));
    } finally {
      f.close();
    }
  });
});
