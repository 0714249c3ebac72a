import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Calibration, type CalibrationInput } from '../../../pipelines/calibration/calibration.js';
import { readGainMap, writeGainMap, GainMapError } from '../../../pipelines/calibration/gain-map.js';

// Binary-exact grid: 0.25 keV bins from 0 to 64 keV, 1/16 keV per ADC -> 4 ADC per channel, no rounding anywhere.
function input(over: Partial<CalibrationInput['calibration']> = {}, width = 4, height = 3): CalibrationInput {
  return {
    detector: { width, height },
    calibration: { gainKeVPerAdc: 0.0625, offsetKeV: 0, quadraticKeVPerAdc2: 0, gainMapFile: null, ...over },
    histogram: { channels: 256, eMinKeV: 0, eMaxKeV: 64 },
  };
}

describe('pipelines/calibration', () => {
  it('linear: every ADC value lands in floor(adc / 4), edges included, out of range is -1', () => {
    const cal = new Calibration(input());
    for (let adc = 0; adc < 1024; adc++) assert.equal(cal.channelOf(adc, 0, 0), adc >> 2, `adc ${adc}`);
    assert.equal(cal.channelOf(1024, 0, 0), -1); // 64 keV is the upper edge: excluded
    assert.equal(cal.channelOf(65535, 3, 2), -1);
    assert.equal(cal.lut.length, 65536);
  });

  it('linear with offset: negative energies are out of range', () => {
    const cal = new Calibration(input({ offsetKeV: -1 })); // -1 keV = -16 ADC
    assert.equal(cal.channelOf(15, 0, 0), -1);
    assert.equal(cal.channelOf(16, 0, 0), 0);
    assert.equal(cal.channelOf(19, 0, 0), 0);
    assert.equal(cal.channelOf(20, 0, 0), 1);
    assert.equal(cal.energyKeV(32), 1);
  });

  it('quadratic: channel = floor(E / w) with E = offset + g*a + q*a^2 on crafted values', () => {
    const q = 1 / 1024; // keV per adc^2, exact in binary
    const cal = new Calibration(input({ quadraticKeVPerAdc2: q }));
    // adc 64: E = 4 + 4 = 8 keV -> channel 32 exactly on its lower edge
    assert.equal(cal.energyKeV(64), 8);
    assert.equal(cal.channelOf(64, 1, 1), 32);
    // adc 100: E = 6.25 + 9.765625 = 16.015625 keV -> channel 64
    assert.equal(cal.channelOf(100, 1, 1), 64);
    // adc 200: E = 12.5 + 39.0625 = 51.5625 -> channel 206
    assert.equal(cal.channelOf(200, 1, 1), 206);
    // adc 230: E = 14.375 + 51.66015625 = 66.03.. -> above 64 keV
    assert.equal(cal.channelOf(230, 1, 1), -1);
    // against the defining formula away from edges, for every adc
    for (let adc = 0; adc < 300; adc++) {
      const e = 0.0625 * adc + q * adc * adc;
      assert.equal(cal.channelOf(adc, 0, 0), e < 64 ? Math.floor(e / 0.25) : -1, `adc ${adc}`);
    }
  });

  it('gain map: recorded adc is divided by the pixel gain; dead pixels give -1; unit map equals no map', () => {
    const gain = new Float32Array([1, 2, 0.5, 1, 1, 1, 0, -1, NaN, 1, 1, 1.25]);
    const cal = new Calibration(input(), gain);
    assert.equal(cal.deadPixels, 3);
    assert.equal(cal.channelOf(400, 0, 0), 100);
    assert.equal(cal.channelOf(400, 1, 0), 50); // gain 2: true adc 200
    assert.equal(cal.channelOf(400, 2, 0), 200); // gain 0.5: true adc 800
    assert.equal(cal.channelOf(600, 2, 0), -1); // true adc 1200: above 64 keV
    assert.equal(cal.channelOf(500, 3, 2), 100); // gain 1.25: true adc 400
    for (const x of [2, 3]) assert.equal(cal.channelOf(400, x, 1), -1, 'gain <= 0 is dead');
    assert.equal(cal.channelOf(400, 0, 2), -1, 'NaN gain is dead');
    assert.equal(cal.channelOf(400, 9, 0), -1, 'off grid');

    const unit = new Calibration(input({ quadraticKeVPerAdc2: 3e-6, offsetKeV: 0.013 }), new Float32Array(12).fill(1));
    const none = new Calibration(input({ quadraticKeVPerAdc2: 3e-6, offsetKeV: 0.013 }));
    for (let adc = 0; adc < 65536; adc += 7) assert.equal(unit.channelOf(adc, 1, 1), none.channelOf(adc, 1, 1));
  });

  it('energy grid: edges and centres', () => {
    const cal = new Calibration(input());
    assert.equal(cal.channelEdgesKeV().length, 257);
    assert.equal(cal.channelEdgesKeV()[256], 64);
    assert.equal(cal.channelCentersKeV()[0], 0.125);
  });

  describe('gain map files', () => {
    let dir = '';
    before(() => (dir = mkdtempSync(join(tmpdir(), 'gemxrf-gain-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const map = new Float32Array([1, 1.5, 0.75, 2, 0.5, 1.125]);

    it('raw float32 and .npy round trip', () => {
      for (const name of ['g.f32', 'g.npy']) {
        const f = join(dir, name);
        writeGainMap(f, map, 3, 2);
        assert.deepEqual(readGainMap(f, 3, 2), map);
      }
    });

    it('reads a float64 .npy (as numpy writes it by default)', () => {
      const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
      const padded = header + ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
      const bytes = new Uint8Array(10 + padded.length + 48);
      bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
      new DataView(bytes.buffer).setUint16(8, padded.length, true);
      bytes.set(new TextEncoder().encode(padded), 10);
      const dv = new DataView(bytes.buffer, 10 + padded.length);
      map.forEach((v, i) => dv.setFloat64(i * 8, v, true));
      writeFileSync(join(dir, 'g8.npy'), bytes);
      assert.deepEqual(readGainMap(join(dir, 'g8.npy'), 3, 2), map);
    });

    it('wrong size or shape is a clear error', () => {
      const f = join(dir, 'g.f32');
      writeGainMap(f, map, 3, 2);
      assert.throws(() => readGainMap(f, 4, 2), GainMapError);
      writeGainMap(join(dir, 'h.npy'), map, 3, 2);
      assert.throws(() => readGainMap(join(dir, 'h.npy'), 2, 3), /shape \(2, 3\) does not match the image grid \(3, 2\)/);
      assert.throws(() => readGainMap(join(dir, 'missing.f32'), 3, 2), GainMapError);
    });

    it('a truncated .npy header is a GainMapError, not a RangeError', () => {
      for (const [name, bytes] of [
        ['v2-short.npy', [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0x40, 0]], // version 2: its u32 header length is cut off
        ['v1-short.npy', [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0x76, 0, 0x7b]], // header length 118, 1 byte present
      ] as const) {
        writeFileSync(join(dir, name), Uint8Array.from(bytes));
        assert.throws(() => readGainMap(join(dir, name), 3, 2), (e: unknown) => e instanceof GainMapError && /gain map .*npy: /.test(e.message), name);
      }
    });

    it('Calibration.fromConfig reads calibration.gainMapFile', () => {
      const f = join(dir, 'cfg.npy');
      const g = new Float32Array(12).fill(1);
      g[5] = 2; // pixel (1, 1)
      writeGainMap(f, g, 4, 3);
      const cal = Calibration.fromConfig(input({ gainMapFile: f }));
      assert.equal(cal.channelOf(400, 1, 1), 50);
      assert.equal(cal.channelOf(400, 0, 1), 100);
    });
  });
});
