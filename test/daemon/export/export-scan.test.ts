// exportScan read back by independent readers: .npy headers parsed here (and numpy.load when python3 has numpy),
// HDF5 through h5dump (Debian hdf5-tools) or h5py, PNGs decoded with pngjs. Every number must equal the cube's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { exportScan } from '../../../daemon/export/index.js';
import type { ExportMapSet } from '../../../daemon/export/types.js';
import { buildMaps, cubeGrid } from '../../../pipelines/maps/build.js';
import { phantomCube } from '../../pipelines/inference/support/phantom-cube.js';

const W = 20;
const H = 13;

function have(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0;
}
const H5DUMP = have('h5dump', ['--version']);
const PY = '/usr/bin/python3';
const NUMPY = existsSync(PY) && have(PY, ['-c', 'import numpy']);
const H5PY = existsSync(PY) && have(PY, ['-c', 'import h5py']);

/** An independent .npy reader: header dict by regex, data as raw little-endian bytes. */
function readNpyHere(path: string): { descr: string; shape: number[]; data: Buffer } {
  const b = readFileSync(path);
  assert.deepEqual([...b.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const len = b.readUInt16LE(8);
  assert.equal((10 + len) % 64, 0, 'data not 64-byte aligned');
  const header = b.subarray(10, 10 + len).toString('latin1');
  assert.ok(header.endsWith('\n'));
  const descr = /'descr': '([^']+)'/.exec(header)![1]!;
  assert.match(header, /'fortran_order': False/);
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1]!.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  return { descr, shape, data: b.subarray(10 + len) };
}

const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('scan export (npy, NeXus HDF5, PNG)', function () {
  this.timeout(60_000);
  let dir: string;
  let fill: ReturnType<typeof phantomCube>;
  let maps: ExportMapSet[];
  let files: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gemxrf-export-'));
    fill = phantomCube(W, H, 3);
    fill.add(W * H * 80);
    const roi = buildMaps(fill.cube, cubeGrid(fill.cube), 'roi', ['Cr', 'Cu', 'Pb']).maps;
    const presence: ExportMapSet = { method: 'model', name: 'model-presence', unit: 'probability', elements: ['Cr', 'Pb'], width: W, height: H, data: Float32Array.from({ length: 2 * W * H }, (_, i) => (i % 7) / 7) };
    maps = [{ ...roi, unit: 'counts' }, presence];
    const r = await exportScan({
      cube: fill.cube, maps, sumSpectrum: fill.cube.sumSpectrum, countMap: fill.cube.totals,
      metadata: {
        energyCalibration: { offsetKeV: 0, gainKeVPerAdc: 0.005 },
        geometry: { width: W, height: H, stripPitchMm: 0.8 },
        modelCard: { name: 'smoke', elements: ['Cr', 'Pb'] },
        scan: { id: '20250101-120000-test', name: 'test scan', startedAt: '2025-01-01T12:00:00Z' },
      },
      formats: ['npy', 'hdf5', 'png'], outDir: dir,
    });
    files = r.files;
    assert.ok(r.bytes > W * H * 256 * 4 / 10);
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('writes .npy files whose headers and bytes match the cube, count map, sum spectrum and maps', () => {
    const cube = readNpyHere(join(dir, 'cube.npy'));
    assert.equal(cube.descr, '<u4');
    assert.deepEqual(cube.shape, [H, W, 256]);
    assert.ok(cube.data.equals(bytesOf(fill.cube.counts)));
    const cm = readNpyHere(join(dir, 'count_map.npy'));
    assert.deepEqual([cm.descr, cm.shape], ['<u4', [H, W]]);
    assert.ok(cm.data.equals(bytesOf(fill.cube.totals)));
    const sum = readNpyHere(join(dir, 'sum_spectrum.npy'));
    assert.deepEqual([sum.descr, sum.shape], ['<f8', [256]]);
    assert.ok(sum.data.equals(bytesOf(fill.cube.sumSpectrum)));
    const energy = readNpyHere(join(dir, 'energy.npy'));
    const e = new Float64Array(Uint8Array.from(energy.data).buffer);
    assert.ok(Math.abs(e[0]! - 0.04) < 1e-12 && Math.abs(e[255]! - (20.48 - 0.04)) < 1e-9);
    const roi = readNpyHere(join(dir, 'maps_roi.npy'));
    assert.deepEqual([roi.descr, roi.shape], ['<f4', [3, H, W]]);
    assert.ok(roi.data.equals(bytesOf(maps[0]!.data)));
    assert.ok(readNpyHere(join(dir, 'maps_model-presence.npy')).data.equals(bytesOf(maps[1]!.data)));
  });

  it('numpy.load reads the same numbers (when python3 has numpy)', function () {
    if (!NUMPY) {
      if (process.env.CI) throw new Error('python3-numpy is required in CI');
      this.skip();
    }
    const r = spawnSync(PY, ['-c', [
      'import numpy as np, sys, json',
      'd = sys.argv[1]',
      'c = np.load(d + "/cube.npy"); m = np.load(d + "/count_map.npy")',
      'print(json.dumps({"shape": list(c.shape), "dtype": str(c.dtype), "total": int(c.sum(dtype=np.int64)), "px": int(c[5, 7].sum()), "mapOk": bool((c.sum(axis=2) == m).all())}))',
    ].join('\n'), dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout);
    assert.deepEqual(got, { shape: [H, W, 256], dtype: 'uint32', total: fill.cube.totalEvents, px: fill.cube.totals[5 * W + 7], mapOk: true });
  });

  it('writes NeXus HDF5 that h5dump reads back: NXentry/NXdata attributes and the cube bytes', function () {
    if (!H5DUMP) {
      if (process.env.CI) throw new Error('hdf5-tools (h5dump) is required in CI');
      this.skip();
    }
    const h5 = join(dir, 'scan.h5');
    const dump = (dataset: string) => {
      const out = join(dir, `dump-${dataset.replace(/\//g, '_')}.bin`);
      const r = spawnSync('h5dump', ['-d', dataset, '-b', 'LE', '-o', out, h5], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return readFileSync(out);
    };
    assert.ok(dump('/entry/data/data').equals(bytesOf(fill.cube.counts)));
    assert.ok(dump('/entry/count_map/data').equals(bytesOf(fill.cube.totals)));
    assert.ok(dump('/entry/sum_spectrum/data').equals(bytesOf(fill.cube.sumSpectrum)));
    assert.ok(dump('/entry/maps/roi/data').equals(bytesOf(maps[0]!.data)));
    const header = spawnSync('h5dump', ['-H', '-A', h5], { encoding: 'utf8' }).stdout;
    assert.match(header, /DATASET "data" \{\s*DATATYPE\s+H5T_STD_U32LE\s*DATASPACE\s+SIMPLE \{ \( 13, 20, 256 \) \/ \( 13, 20, 256 \) \}/);
    const attr = (path: string, name: string) => {
      const r = spawnSync('h5dump', ['-a', `${path}/${name}`, h5], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return [...r.stdout.matchAll(/"([^"]*)"/g)].map((m) => m[1]).slice(1); // first quoted string is the file name
    };
    assert.deepEqual(attr('/entry', 'NX_class').slice(-1), ['NXentry']);
    assert.deepEqual(attr('/entry/data', 'NX_class').slice(-1), ['NXdata']);
    assert.deepEqual(attr('/entry/data', 'signal').slice(-1), ['data']);
    assert.deepEqual(attr('/entry/data', 'axes').slice(-3), ['y', 'x', 'energy']);
    assert.deepEqual(attr('/', 'default').slice(-1), ['entry']);
    const elements = spawnSync('h5dump', ['-d', '/entry/maps/model-presence/elements', h5], { encoding: 'utf8' }).stdout;
    assert.match(elements, /"Cr", "Pb"/);
    const meta = spawnSync('h5dump', ['-d', '/entry/metadata_json', h5], { encoding: 'utf8' }).stdout;
    assert.match(meta, /20250101-120000-test/);
  });

  it('writes a cube larger than one slab row-slab by row-slab, bytes intact', async function () {
    if (!H5DUMP) {
      if (process.env.CI) throw new Error('hdf5-tools (h5dump) is required in CI');
      this.skip();
    }
    const { prepareContent } = await import('../../../daemon/export/content.js');
    const { writeHdf5Export } = await import('../../../daemon/export/hdf5.js');
    const path = join(dir, 'slabs.h5');
    // 13 rows of 20 KiB with 48 KiB slabs: chunks and slabs of 2 rows, the last slab 1 row.
    await writeHdf5Export(path, prepareContent({ cube: fill.cube, maps: [], metadata: {}, formats: ['hdf5'], outDir: dir }), 48 << 10);
    const out = join(dir, 'slabs.bin');
    const r = spawnSync('h5dump', ['-d', '/entry/data/data', '-b', 'LE', '-o', out, path], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readFileSync(out).equals(bytesOf(fill.cube.counts)));
    assert.match(spawnSync('h5dump', ['-p', '-H', '-d', '/entry/data/data', path], { encoding: 'utf8' }).stdout, /CHUNKED \( 2, 20, 256 \)/);
  });

  it('h5py reads the cube as the same array (when python3 has h5py)', function () {
    if (!H5PY) {
      if (process.env.CI) throw new Error('python3-h5py is required in CI');
      this.skip();
    }
    const r = spawnSync(PY, ['-c', 'import h5py, sys; f = h5py.File(sys.argv[1]); d = f["entry/data/data"]; print(d.shape, int(d[()].sum()), f["entry/data"].attrs["signal"])', join(dir, 'scan.h5')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `(${H}, ${W}, 256) ${fill.cube.totalEvents} data`);
  });

  it('writes decodable PNGs per element and set, and metadata.json listing every file', () => {
    for (const f of ['png/count_map.png', 'png/roi/Cr.png', 'png/roi/Pb.png', 'png/model-presence/Pb.png', 'png/roi-all.png']) {
      assert.ok(files.includes(f), `${f} not listed`);
      const png = PNG.sync.read(readFileSync(join(dir, f)));
      assert.ok(png.width >= W && png.height >= H, f);
    }
    const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
    assert.deepEqual(meta.cube, { width: W, height: H, channels: 256, eMinKeV: 0, eMaxKeV: 20.48, layout: 'height x width x channels (uint32)', events: fill.cube.totalEvents });
    assert.deepEqual(meta.maps.map((m: { name: string; elements: string[] }) => [m.name, m.elements]), [['roi', ['Cr', 'Cu', 'Pb']], ['model-presence', ['Cr', 'Pb']]]);
    assert.equal(meta.modelCard.name, 'smoke');
    assert.deepEqual(meta.formats, ['npy', 'hdf5', 'png']);
    for (const f of meta.files) assert.ok(existsSync(join(dir, f)), f);
  });

  it('refuses duplicate map names, unknown formats and maps of the wrong size', async () => {
    const base = { cube: fill.cube, metadata: {}, outDir: join(dir, 'bad') };
    await assert.rejects(exportScan({ ...base, maps: [maps[0]!, maps[0]!], formats: ['npy'] }), /two map sets named 'roi'/);
    await assert.rejects(exportScan({ ...base, maps: [], formats: ['tiff' as 'npy'] }), /unknown format 'tiff'/);
    await assert.rejects(exportScan({ ...base, maps: [{ ...maps[0]!, width: W + 1 }], formats: ['npy'] }), /is not elements x 13 x 20/);
  });
});
