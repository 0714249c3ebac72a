// Energy calibration from a recorded scan of a known line, with a non-uniform GEM gain.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../../config/schema.js';
import { encodeEventsFrames } from '../../../drivers/codecs/gemx-encode.js';
import { RecordingWriter } from '../../../drivers/file/recording-writer.js';
import { readGainMap } from '../../../pipelines/calibration/gain-map.js';
import { collectAdcHistograms } from '../../../pipelines/maps/adc-histograms.js';
import { calibrateFromHistograms, parseCalibrationLine, refinePeak } from '../../../pipelines/maps/line-calibration.js';
import { cubeFromRecording } from '../../../pipelines/maps/recording-cube.js';
import { EventGenerator } from '../../../simulator/generators/events.js';
import { runCli } from '../../support/cli.js';

const W = 40;
const H = 30;
const TRUE_GAIN = 0.0052; // keV per ADC of the simulated detector (the default config says 0.005)

describe('pipelines/maps line calibration (gemxrf calibrate)', function () {
  this.timeout(60_000);
  let dir: string;
  let gen: EventGenerator;
  let file: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gemxrf-cal-'));
    file = join(dir, 'cu.gemx');
    gen = new EventGenerator({
      phantom: 'uniform:Cu', width: W, height: H, ratePerSecond: 1e6, seed: 4,
      gainNonUniformity: 0.1, calibration: { gainKeVPerAdc: TRUE_GAIN },
    });
    const config = configSchema.parse({ detector: { width: W, height: H } });
    const w = RecordingWriter.create(file, { instrumentId: 't', meta: { config } }, { sync: false });
    let seq = 0;
    for (let i = 0; i < 8; i++) for (const f of encodeEventsFrames(seq, gen.next(50_000))) (w.append(f), seq++);
    await w.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds a Gaussian peak centre to a small fraction of a bin, with a background slope', () => {
    const hist = Float64Array.from({ length: 400 }, (_, i) => 1000 * Math.exp(-0.5 * ((i + 0.5 - 201.3) / 12) ** 2) + 50 - 0.1 * i);
    const est = refinePeak(hist, 190, 28)!;
    assert.ok(Math.abs(est.position - 201.3) < 0.05, `centre ${est.position}`);
    assert.ok(Math.abs(est.sigma - 12) < 0.5, `sigma ${est.sigma}`);
  });

  it('parses line names and energies; the GEM peak of Cu Ka sits above Ka (Kb blend)', () => {
    const cu = parseCalibrationLine('Cu-Ka');
    assert.ok(Math.abs(cu.lineKeV - 8.04) < 0.01, `Cu Ka ${cu.lineKeV}`);
    assert.ok(cu.peakKeV > cu.lineKeV && cu.peakKeV < cu.lineKeV + 0.15, `peak ${cu.peakKeV}`);
    assert.equal(parseCalibrationLine('5.9').peakKeV, 5.9);
    assert.ok(Math.abs(parseCalibrationLine('Pb La').lineKeV - 10.54) < 0.05);
    assert.ok(parseCalibrationLine('CuKb').lineKeV > 8.8);
    assert.throws(() => parseCalibrationLine('Xx-Ka'), /unknown element/);
    assert.throws(() => parseCalibrationLine('banana'), /cannot parse|unknown/);
  });

  it('recovers the gain and the per-pixel gain map within 1.5% everywhere', () => {
    const h = collectAdcHistograms(file, configSchema.parse({}), 5);
    assert.equal(h.width, W);
    const cal = calibrateFromHistograms(h, parseCalibrationLine('Cu-Ka'));
    assert.equal(cal.validBlocks, cal.blocks);
    for (let p = 0; p < W * H; p++) {
      // keV per recorded ADC at this pixel: estimated vs simulated.
      const est = cal.gainKeVPerAdc / cal.gainMap[p]!;
      const truth = TRUE_GAIN / gen.gainMap[p]!;
      assert.ok(Math.abs(est / truth - 1) < 0.015, `pixel ${p}: ${est} vs ${truth} keV/ADC`);
    }
    assert.ok(Math.abs(cal.resolutionEstimate - 0.18) < 0.02, `resolution estimate ${cal.resolutionEstimate}`);
  });

  it('CLI writes a gain map the calibration stage reads; the calibrated cube puts Cu Ka where it belongs, sharper', () => {
    const out = join(dir, 'gain.f32');
    const r = runCli(['calibrate', '--from', file, '--line', 'Cu-Ka', '--block', '5', '--out', out, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { calibration: { gainKeVPerAdc: number; gainMapFile: string } };
    assert.equal(j.calibration.gainMapFile, out);
    assert.ok(existsSync(out));
    assert.equal(readGainMap(out, W, H).length, W * H);

    const peakOf = (calibration: Record<string, unknown>) => {
      const { cube } = cubeFromRecording(file, configSchema.parse({ calibration }));
      const est = refinePeak(cube.sumSpectrum, 8.08 / 0.08, 1.25 / 0.08)!;
      return { keV: est.position * 0.08, sigma: est.sigma };
    };
    const before = peakOf({});
    const after = peakOf({ gainKeVPerAdc: j.calibration.gainKeVPerAdc, gainMapFile: out });
    const line = parseCalibrationLine('Cu-Ka');
    assert.ok(Math.abs(after.keV - line.peakKeV) < 0.03, `calibrated peak at ${after.keV} keV, expected ${line.peakKeV}`);
    assert.ok(Math.abs(before.keV - line.peakKeV) > 0.2, `uncalibrated peak at ${before.keV}: the test needs a gain error`);
    assert.ok(after.sigma < before.sigma, `gain map should sharpen the peak: sigma ${after.sigma} vs ${before.sigma} channels`);
  });

  it('CLI errors are one line with a non-zero exit', () => {
    const r = runCli(['calibrate', '--from', join(dir, 'missing.gemx'), '--line', 'Cu-Ka']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr.trim(), /^gemxrf: .*missing\.gemx[^\n]*$/);
  });
});
