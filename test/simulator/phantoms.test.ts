import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { DEFAULT_DETECTOR } from '../../physics/index.js';
import { brightness, loadPhantom, truthMaps } from '../../simulator/phantoms/index.js';

function writeGrayPng(file: string, w: number, h: number, value: (x: number, y: number) => number): void {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = 4 * (y * w + x);
      const v = Math.round(255 * value(x, y));
      png.data[i] = png.data[i + 1] = png.data[i + 2] = v;
      png.data[i + 3] = 255;
    }
  writeFileSync(file, PNG.sync.write(png));
}

describe('simulator/phantoms', () => {
  it('phantom-painting: Cr, Cu and Pb regions on a Ca ground, as in the poster', () => {
    const t = truthMaps(loadPhantom('phantom-painting'), 100, 100);
    assert.deepEqual(t.elements, ['Ca', 'Cr', 'Cu', 'Pb']);
    const at = (el: string, x: number, y: number) => t.maps[(t.elements.indexOf(el) * 100 + y) * 100 + x]!;
    const dominant = (x: number, y: number) => t.elements.reduce((best, el) => (at(el, x, y) > at(best, x, y) ? el : best));
    assert.equal(dominant(25, 35), 'Cr'); // green disk
    assert.equal(dominant(75, 25), 'Cu'); // blue rectangle
    assert.equal(dominant(50, 85), 'Pb'); // orange triangle
    assert.equal(dominant(95, 95), 'Ca'); // bare ground
    // Overlap of disk and rectangle (around u=0.48, v=0.3) mixes Cr under Cu.
    assert.ok(at('Cr', 48, 30) > 0.05 && at('Cu', 48, 30) > 0.2, 'Cr and Cu mix in the overlap');
    // Every region covers a sensible part of the canvas.
    for (const el of ['Cr', 'Cu', 'Pb']) {
      let area = 0;
      for (let p = 0; p < 10000; p++) area += t.presence[t.elements.indexOf(el) * 10000 + p]!;
      assert.ok(area > 800 && area < 3000, `${el} area ${area}`);
    }
  });

  it('truth maps are count shares: in [0, 1], summing with background and detector lines to 1', () => {
    for (const name of ['phantom-painting', 'old-master', 'uniform:Fe,Pb']) {
      const t = truthMaps(loadPhantom(name), 40, 30);
      const plane = 40 * 30;
      const detShare = DEFAULT_DETECTOR.cuShare + DEFAULT_DETECTOR.alShare;
      for (let p = 0; p < plane; p++) {
        let s = t.backgroundShare[p]! + detShare;
        for (let e = 0; e < t.elements.length; e++) {
          const f = t.maps[e * plane + p]!;
          assert.ok(f >= 0 && f <= 1, `${name}: fraction ${f}`);
          assert.equal(t.presence[e * plane + p], f >= t.presenceThreshold ? 1 : 0);
          s += f;
        }
        assert.ok(Math.abs(s - 1) < 1e-5, `${name} pixel ${p}: shares sum to ${s}`);
      }
      let mean = 0;
      for (const b of t.brightness) mean += b / plane;
      assert.ok(Math.abs(mean - 1) < 1e-5, 'brightness has mean 1');
    }
  });

  it('old-master holds its pigments where the design puts them', () => {
    const t = truthMaps(loadPhantom('old-master'), 100, 100);
    for (const el of ['Pb', 'Hg', 'Fe', 'Co', 'Cu', 'Ca']) assert.ok(t.elements.includes(el), el);
    const at = (el: string, x: number, y: number) => t.maps[(t.elements.indexOf(el) * 100 + y) * 100 + x]!;
    assert.ok(at('Hg', 55, 75) > 0.3, 'vermilion robe');
    assert.ok(at('Co', 50, 10) > 0.1, 'smalt sky');
    assert.ok(at('Fe', 20, 80) > 0.3, 'ochre ground');
    assert.ok(at('Cu', 85, 40) > 0.2, 'copper green tree');
    assert.ok(at('Hg', 20, 20) < 0.01, 'no vermilion in the sky');
  });

  it('renders at any resolution consistently (coarse grid ~ block average of fine grid)', () => {
    const ph = loadPhantom('phantom-painting');
    const fine = truthMaps(ph, 100, 100);
    const coarse = truthMaps(ph, 50, 50);
    let diff = 0;
    for (let e = 0; e < fine.elements.length; e++)
      for (let y = 0; y < 50; y++)
        for (let x = 0; x < 50; x++) {
          let avg = 0;
          for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) avg += fine.maps[(e * 100 + 2 * y + dy!) * 100 + 2 * x + dx!]! / 4;
          diff += Math.abs(avg - coarse.maps[(e * 50 + y) * 50 + x]!);
        }
    assert.ok(diff / (4 * 2500) < 0.01, `mean abs difference ${diff / 10000}`);
  });

  it('uniform:El is the same at every pixel; names are validated', () => {
    const r = loadPhantom('uniform:Fe').render(7, 5);
    assert.deepEqual(r.elements, ['Fe']);
    assert.ok(r.amounts.every((v) => v === r.amounts[0]));
    assert.ok(brightness(r).every((b) => Math.abs(b - 1) < 1e-6));
    assert.throws(() => loadPhantom('uniform:'), /at least one element/);
    assert.throws(() => loadPhantom('uniform:Xx'), /unknown element/);
    assert.throws(() => loadPhantom('uniform:Fe,Fe'), /given twice/);
    assert.throws(() => loadPhantom('mona-lisa'), /unknown phantom 'mona-lisa'/);
    assert.throws(() => loadPhantom('phantom-painting').render(0, 10), /width must be an integer/);
  });

  describe('png:DIR', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'gemxrf-png-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('reads one grayscale image per element and resamples it', () => {
      writeGrayPng(join(dir, 'Fe.png'), 20, 10, (x) => (x < 10 ? 1 : 0)); // left half
      writeGrayPng(join(dir, 'Pb.png'), 20, 10, (_x, y) => (y >= 5 ? 0.5 : 0)); // bottom half, half amount
      writeFileSync(join(dir, 'phantom.json'), JSON.stringify({ backgroundRate: 0.1, background: { substrate: 'canvas' }, scale: { Pb: 2 } }));
      const ph = loadPhantom(`png:${dir}`);
      assert.deepEqual(ph.elements, ['Fe', 'Pb']);
      assert.equal(ph.background.substrate, 'canvas');
      const r = ph.render(40, 20);
      const at = (e: number, x: number, y: number) => r.amounts[(e * 20 + y) * 40 + x]!;
      assert.ok(Math.abs(at(0, 5, 5) - 1) < 1e-6 && at(0, 35, 5) === 0, 'Fe left half');
      assert.ok(Math.abs(at(1, 5, 15) - 1) < 0.01 && at(1, 5, 2) === 0, 'Pb bottom half, scaled x2');
      assert.ok(r.backgroundAmount.every((b) => Math.abs(b - 0.1) < 1e-6));
    });

    it('explains what is wrong with a bad directory', () => {
      assert.throws(() => loadPhantom(`png:${join(dir, 'missing')}`), /cannot read directory/);
      assert.throws(() => loadPhantom(`png:${dir}`), /no element images/);
      writeGrayPng(join(dir, 'Fe.png'), 20, 10, () => 1);
      writeGrayPng(join(dir, 'Pb.png'), 10, 10, () => 1);
      assert.throws(() => loadPhantom(`png:${dir}`), /Pb.png is 10x10, expected 20x10/);
      rmSync(join(dir, 'Pb.png'));
      writeGrayPng(join(dir, 'Qq.png'), 20, 10, () => 1);
      assert.throws(() => loadPhantom(`png:${dir}`), /Qq.png does not name an element/);
      rmSync(join(dir, 'Qq.png'));
      writeFileSync(join(dir, 'phantom.json'), '{"scale": {"Cu": 1}}');
      assert.throws(() => loadPhantom(`png:${dir}`), /scales Cu but there is no Cu.png/);
      writeFileSync(join(dir, 'phantom.json'), '{oops');
      assert.throws(() => loadPhantom(`png:${dir}`), /not valid JSON/);
    });
  });
});
