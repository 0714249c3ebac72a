import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Canvas, encodePng, writePng } from '../../daemon/render/canvas.js';
import { GLYPH_ASCENT, GLYPH_HEIGHT, textWidth } from '../../daemon/render/font.js';
import { decodePng, inkCount, isWhite, pixel } from './png-helpers.js';

describe('render/canvas', () => {
  it('round-trips through PNG with size and pixels intact', () => {
    const c = new Canvas(7, 5, [10, 20, 30]);
    c.setPixel(3, 2, [200, 100, 50]);
    c.fillRect(5, 0, 2, 5, [0, 255, 0]);
    const img = decodePng(encodePng(c));
    assert.equal(img.width, 7);
    assert.equal(img.height, 5);
    assert.deepEqual(pixel(img, 0, 0), [10, 20, 30]);
    assert.deepEqual(pixel(img, 3, 2), [200, 100, 50]);
    assert.deepEqual(pixel(img, 5, 4), [0, 255, 0]);
    assert.deepEqual(pixel(img, 4, 4), [10, 20, 30]);
    assert.equal(img.data[(2 * 7 + 3) * 4 + 3], 255, 'opaque');
  });

  it('writePng writes a decodable file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gemxrf-render-'));
    try {
      const c = new Canvas(4, 3);
      c.setPixel(1, 1, [1, 2, 3]);
      await writePng(join(dir, 'a.png'), c);
      assert.deepEqual(pixel(decodePng(readFileSync(join(dir, 'a.png'))), 1, 1), [1, 2, 3]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects non-integer or empty sizes', () => {
    assert.throws(() => new Canvas(0, 5), RangeError);
    assert.throws(() => new Canvas(2.5, 5), RangeError);
  });

  it('clips drawing to the canvas and to the clip rectangle', () => {
    const c = new Canvas(10, 10);
    c.fillRect(-5, -5, 100, 6, [0, 0, 0]); // partly outside: no throw, row 0 painted
    assert.deepEqual(c.getPixel(9, 0).slice(0, 3), [0, 0, 0]);
    c.setClip(2, 5, 3, 3);
    c.fillRect(0, 0, 10, 10, [255, 0, 0]);
    c.clearClip();
    assert.deepEqual(c.getPixel(2, 5).slice(0, 3), [255, 0, 0]);
    assert.deepEqual(c.getPixel(4, 7).slice(0, 3), [255, 0, 0]);
    assert.deepEqual(c.getPixel(5, 7).slice(0, 3), [255, 255, 255]);
    assert.deepEqual(c.getPixel(2, 8).slice(0, 3), [255, 255, 255]);
  });

  it('blends with alpha', () => {
    const c = new Canvas(1, 1, [0, 0, 0]);
    c.setPixel(0, 0, [200, 100, 0], 0.5);
    assert.deepEqual(c.getPixel(0, 0), [100, 50, 0, 255]);
  });

  it('draws dashed vertical lines with gaps', () => {
    const c = new Canvas(5, 20);
    c.dashedVLine(2, 0, 19, [0, 0, 0], { dash: 3, gap: 2 });
    const on = Array.from({ length: 20 }, (_, y) => c.getPixel(2, y)[0] === 0);
    assert.deepEqual(on.slice(0, 10), [true, true, true, false, false, true, true, true, false, false]);
    assert.ok(isWhite(c.getPixel(1, 0)) && isWhite(c.getPixel(3, 0)));
  });

  it('antialiased lines reach both ends and shade the in-between rows', () => {
    const c = new Canvas(20, 20);
    c.line(1, 1, 18, 7, [0, 0, 0]);
    assert.ok(c.getPixel(1, 1)[0] < 128, 'start pixel inked');
    assert.ok(c.getPixel(18, 7)[0] < 128, 'end pixel inked');
    // Every column between the ends has some ink (no gaps), and some pixels are partial (antialiased).
    let partial = 0;
    for (let x = 1; x <= 18; x++) {
      let ink = 0;
      for (let y = 0; y < 20; y++) {
        const v = c.getPixel(x, y)[0];
        ink += 255 - v;
        if (v > 0 && v < 255) partial++;
      }
      assert.ok(ink >= 200, `column ${x} has ink`);
    }
    assert.ok(partial > 5);
  });

  it('renders text as ink inside its box only, at every scale', () => {
    for (const scale of [1, 2, 3]) {
      const c = new Canvas(120, 40);
      const w = c.text('Cu Ka 8.05', 10, 10, [0, 0, 0], { scale });
      assert.equal(w, textWidth('Cu Ka 8.05', scale));
      const img = decodePng(encodePng(c));
      assert.ok(inkCount(img, 10, 10, 10 + w, 10 + GLYPH_HEIGHT * scale) > 20 * scale * scale);
      assert.equal(inkCount(img, 0, 0, 120, 40), inkCount(img, 10, 10, 10 + w, 10 + GLYPH_HEIGHT * scale));
    }
  });

  it('aligns text: right edge at x for align=right, cap middle at y for baseline=middle', () => {
    const c = new Canvas(100, 40);
    c.text('10', 50, 20, [0, 0, 0], { align: 'right', baseline: 'middle' });
    const img = decodePng(encodePng(c));
    assert.equal(inkCount(img, 51, 0, 100, 40), 0, 'nothing right of the anchor');
    assert.ok(inkCount(img, 45, 0, 51, 40) > 0);
    assert.equal(inkCount(img, 0, 0, 100, 20 - Math.ceil(GLYPH_ASCENT / 2)), 0, 'nothing above the cap');
    assert.ok(inkCount(img, 0, 20 - 3, 100, 20 + 4) > 0);
  });

  it('rotated text runs upwards from the anchor', () => {
    const c = new Canvas(40, 100);
    const w = c.text('Counts', 10, 80, [0, 0, 0], { rotate: 90 });
    const img = decodePng(encodePng(c));
    const inBox = inkCount(img, 10, 80 - w + 1, 10 + GLYPH_HEIGHT, 81);
    assert.ok(inBox > 20);
    assert.equal(inkCount(img, 0, 0, 40, 100), inBox);
  });

  it('draws images with nearest-neighbour scaling', () => {
    const rgba = new Uint8ClampedArray([255, 0, 0, 255, 0, 0, 255, 255]);
    const c = new Canvas(10, 5);
    c.drawImage(rgba, 2, 1, 1, 1, 3);
    assert.deepEqual(c.getPixel(1, 1).slice(0, 3), [255, 0, 0]);
    assert.deepEqual(c.getPixel(3, 3).slice(0, 3), [255, 0, 0]);
    assert.deepEqual(c.getPixel(4, 1).slice(0, 3), [0, 0, 255]);
    assert.deepEqual(c.getPixel(6, 3).slice(0, 3), [0, 0, 255]);
    assert.ok(isWhite(c.getPixel(7, 1)) && isWhite(c.getPixel(1, 4)));
  });
});
