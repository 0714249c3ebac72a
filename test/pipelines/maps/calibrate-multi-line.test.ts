// Energy calibration from several known lines (offset + gain [+ quadratic]) on scans simulated with a
// known ADC pedestal: E = OFFSET + GAIN * adc, OFFSET < 0 (adc = (E - OFFSET) / GAIN > 0 at E = 0).
//
// Tolerances: the fit's reported uncertainties are statistical (Poisson counts through the centroids), so
// a fit on a noisy scan is compared with the fit on the same scan's noise-free expected histogram within
// 4 reported sigma. What statistics cannot cover is the model peak's systematic error (the other
// elements' escape peaks and the tube scatter inside a line's window are not in its model): the
// noise-free fit is held to 5% of a FWHM at every line, the bias the separation rule accepts (two
// lines 2 FWHM apart pull each other's centroid by 2-4% of a FWHM).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../../config/schema.js';
import { encodeEventsFrames } from '../../../drivers/codecs/gemx-encode.js';
import { RecordingWriter } from '../../../drivers/file/recording-writer.js';
import { DEFAULT_DETECTOR, fwhmKeV } from '../../../physics/index.js';
import { readGainMap } from '../../../pipelines/calibration/gain-map.js';
import { collectAdcHistograms } from '../../../pipelines/maps/adc-histograms.js';
import { adcAt, energyAt, energyErrorAt, fitEnergyPolynomial, type EnergyFit } from '../../../pipelines/maps/energy-fit.js';
import { parseCalibrationLine } from '../../../pipelines/maps/line-calibration.js';
import { checkFittedCalibration, checkLineSeparation, fitLinesFromHistogram } from '../../../pipelines/maps/multi-line-calibration.js';
import { centroidError, refinePeak } from '../../../pipelines/maps/peak-centroid.js';
import { cubeFromRecording } from '../../../pipelines/maps/recording-cube.js';
import { EventGenerator, type EventGeneratorOptions } from '../../../simulator/generators/events.js';
import { runCli } from '../../support/cli.js';

const GAIN = 0.0052; // keV per ADC of the simulated detector (the default config says 0.005)
const OFFSET = -0.25; // keV: a 48-ADC pedestal
const PHANTOM = 'uniform:Ti,Cu,Sr'; // Ka peaks 4.5, 8.1, 14.2 keV: every pair > 2 FWHM apart
const EVENTS = 400_000;
const line = (l: string) => parseCalibrationLine(l);
const fwhm = (keV: number) => fwhmKeV(keV, DEFAULT_DETECTOR);

async function record(file: string, opts: EventGeneratorOptions): Promise<EventGenerator> {
  const gen = new EventGenerator(opts);
  const config = configSchema.parse({ detector: { width: gen.width, height: gen.height } });
  const w = RecordingWriter.create(file, { instrumentId: 't', meta: { config } }, { sync: false });
  let seq = 0;
  for (let i = 0; i < EVENTS / 50_000; i++) for (const f of encodeEventsFrames(seq, gen.next(50_000))) (w.append(f), seq++);
  await w.close();
  return gen;
}

function within(name: string, got: number, want: number, tol: number): void {
  assert.ok(Math.abs(got - want) <= tol, `${name}: ${got} vs ${want}, off by ${Math.abs(got - want)} > ${tol}`);
}

describe('pipelines/maps multi-line calibration (gemxrf calibrate --line A --line B ...)', function () {
  this.timeout(60_000);
  let dir: string;
  let uniformFile: string;
  let uniformGen: EventGenerator;
  let gainFile: string;
  let gainGen: EventGenerator;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gemxrf-cal-multi-'));
    uniformFile = join(dir, 'uniform.gemx');
    gainFile = join(dir, 'gain.gemx');
    const calibration = { gainKeVPerAdc: GAIN, offsetKeV: OFFSET };
    uniformGen = await record(uniformFile, { phantom: PHANTOM, width: 20, height: 20, ratePerSecond: 1e6, seed: 11, calibration });
    gainGen = await record(gainFile, { phantom: PHANTOM, width: 40, height: 30, ratePerSecond: 1e6, seed: 12, calibration, gainNonUniformity: 0.1 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('weighted fit: exact points give the polynomial back; two points give the textbook errors', () => {
    const truth = { offsetKeV: -0.3, gainKeVPerAdc: 0.005, quadraticKeVPerAdc2: 2e-8 };
    const pts = [500, 1500, 2500, 3500].map((a) => ({ adc: a, adcError: 1, keV: energyAt(truth, a) }));
    const q = fitEnergyPolynomial(pts, 2, truth);
    within('offset', q.offsetKeV, truth.offsetKeV, 1e-9);
    within('gain', q.gainKeVPerAdc, truth.gainKeVPerAdc, 1e-12);
    within('quadratic', q.quadraticKeVPerAdc2, truth.quadraticKeVPerAdc2, 1e-15);
    within('adcAt inverts', adcAt(truth, energyAt(truth, 1234.5)), 1234.5, 1e-9);
    // Two points, energy errors s1, s2: gain error sqrt(s1^2 + s2^2) / (a2 - a1).
    const two = fitEnergyPolynomial([{ adc: 1000, adcError: 2, keV: 4.75 }, { adc: 3000, adcError: 3, keV: 14.75 }], 1);
    within('gain', two.gainKeVPerAdc, 0.005, 1e-12);
    within('gain error', two.gainErrorKeVPerAdc, (0.005 * Math.sqrt(4 + 9)) / 2000, 1e-12);
    within('error at a point = its own error', energyErrorAt(two, 1000), 0.005 * 2, 1e-9);
  });

  it('refuses lines too close to separate, warns about marginal pairs, refuses a non-positive gain', () => {
    assert.throws(() => checkLineSeparation([line('Cu-Ka'), line('Zn-Ka')], DEFAULT_DETECTOR), /closer than 1\.5 FWHM/);
    assert.throws(() => checkLineSeparation([line('Cu-Ka'), line('Cu-Kb')], DEFAULT_DETECTOR), /closer than 1\.5 FWHM/);
    assert.equal(checkLineSeparation([line('Cu-Ka'), line('Pb-La')], DEFAULT_DETECTOR).length, 1);
    assert.deepEqual(checkLineSeparation([line('Ti-Ka'), line('Cu-Ka'), line('Sr-Ka')], DEFAULT_DETECTOR), []);
    assert.throws(() => checkFittedCalibration({ offsetKeV: 1, gainKeVPerAdc: -0.001, quadraticKeVPerAdc2: 0 }, 4096), /non-positive gain/);
    assert.throws(() => checkFittedCalibration({ offsetKeV: 0, gainKeVPerAdc: 0.005, quadraticKeVPerAdc2: -1e-6 }, 4096), /energy fall/);
  });

  it('centroid errors match the scatter of repeated Poisson histograms', () => {
    // A Gaussian on a flat background, like a GEM line: 200 Poisson draws of the same expected histogram.
    const expected = Float64Array.from({ length: 600 }, (_, i) => 2000 * Math.exp(-0.5 * ((i + 0.5 - 300) / 40) ** 2) + 60);
    let seed = 1;
    const uniform = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;
    const poisson = (l: number) => Math.max(0, Math.round(l + Math.sqrt(l) * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform())));
    const half = 40 * 2.3548;
    const dev: number[] = [];
    const reported: number[] = [];
    for (let k = 0; k < 200; k++) {
      const h = Float64Array.from(expected, poisson);
      const est = refinePeak(h, 300, half)!;
      dev.push(est.position - 300);
      reported.push(centroidError(h, est.position, half));
    }
    const rms = Math.sqrt(dev.reduce((s, d) => s + d * d, 0) / dev.length);
    const mean = reported.reduce((s, v) => s + v, 0) / reported.length;
    // 200 draws: the rms itself is known to ~5%; allow 20%.
    assert.ok(Math.abs(mean / rms - 1) < 0.2, `reported ${mean} vs scatter ${rms}`);
  });

  it('recovers offset and gain: noisy scan = noise-free expectation within 4 sigma, expectation = truth within 5% FWHM', () => {
    const h = collectAdcHistograms(uniformFile, configSchema.parse({}), 10);
    const n = h.sum.reduce((s, v) => s + v, 0);
    const expected = uniformGen.expectedSpectrum(0, 0).map((v) => v * n);
    const lines = ['Ti-Ka', 'Cu-Ka', 'Sr-Ka'].map(line);
    for (const quadratic of [false, true]) {
      const noisy = fitLinesFromHistogram(h.sum, lines, { quadratic });
      const clean = fitLinesFromHistogram(expected, lines, { quadratic });
      const f: EnergyFit = noisy.fit;
      within(`offset (quadratic ${quadratic})`, f.offsetKeV, clean.fit.offsetKeV, 4 * f.offsetErrorKeV);
      within(`gain (quadratic ${quadratic})`, f.gainKeVPerAdc, clean.fit.gainKeVPerAdc, 4 * f.gainErrorKeVPerAdc);
      within('quadratic', f.quadraticKeVPerAdc2, clean.fit.quadraticKeVPerAdc2, 4 * f.quadraticErrorKeVPerAdc2 + 1e-15);
      for (const l of [...lines, line('Fe-Ka')]) {
        const trueAdc = (l.peakKeV - OFFSET) / GAIN;
        within(`${l.label} energy, noise-free fit`, energyAt(clean.fit, trueAdc), l.peakKeV, 0.05 * fwhm(l.peakKeV));
      }
      assert.equal(noisy.peaks.length, 3);
      for (const p of noisy.peaks) assert.ok(p.net > 10_000 && p.peakAdcError > 0, `${p.line.label}: net ${p.net}, error ${p.peakAdcError}`);
      if (!quadratic) {
        // Truth directly, with the statistical and the systematic part: offset within 4 sigma + the
        // 5%-FWHM budget at Ti (the lowest line, which pins the offset most).
        within('offset vs truth', f.offsetKeV, OFFSET, 4 * f.offsetErrorKeV + 0.05 * fwhm(4.5));
        assert.ok(f.dof === 1 && f.chi2 < 16, `chi2 ${f.chi2}`);
      }
    }
    // The lines may come in any order: the strongest peak is assigned by trying each line as anchor.
    const reordered = fitLinesFromHistogram(h.sum, ['Sr-Ka', 'Ti-Ka', 'Cu-Ka'].map(line));
    within('offset, lines reordered', reordered.fit.offsetKeV, fitLinesFromHistogram(h.sum, lines).fit.offsetKeV, 1e-9);
  });

  it('CLI with Ti + Sr: offset in the YAML, gain map consistent with the offset, Cu (not used) lands at its energy', () => {
    const out = join(dir, 'gain.f32');
    const r = runCli(['calibrate', '--from', gainFile, '--line', 'Ti-Ka', '--line', 'Sr-Ka', '--block', '5', '--out', out, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as {
      calibration: { gainKeVPerAdc: number; offsetKeV: number; quadraticKeVPerAdc2: number; gainMapFile: string };
      lines: Array<{ label: string; peakAdc: number; net: number; residualEv: number; fittedKeV: number }>;
      fit: EnergyFit;
      reference: string;
      referenceTrueAdc: number;
      validBlocks: number;
      blocks: number;
    };
    assert.deepEqual(j.lines.map((l) => l.label), ['Ti-Ka', 'Sr-Ka']);
    assert.equal(j.validBlocks, j.blocks);
    assert.ok(Number.isFinite(j.fit.offsetErrorKeV) && j.fit.offsetErrorKeV > 0);
    // The gain map divides the whole recorded adc, so the offset is the simulated one whatever the map's scale.
    within('offset', j.calibration.offsetKeV, OFFSET, 4 * j.fit.offsetErrorKeV + 0.05 * fwhm(4.5));
    assert.equal(j.calibration.quadraticKeVPerAdc2, 0);

    // Per pixel: energy the calibration gives the recorded adc of Cu's peak there (true adc x pixel gain).
    // Tolerance from the block statistics: a block's relative gain is its reference peak's centroid over
    // a_ref, known to centroidError / position; 4 sigma, times 2.5 for the corner pixels (bilinear
    // extrapolation over half a block weighs the two nearest blocks 1.5 and -0.5 on each axis), plus 0.5%
    // for a smooth +-10% map seen through 5-pixel blocks; scaled to energy at Cu by (E - offset).
    const blocks = collectAdcHistograms(gainFile, configSchema.parse({}), 5);
    const ref = line(j.reference);
    const refWindow = fwhm(ref.peakKeV) / j.calibration.gainKeVPerAdc;
    const relErrors: number[] = [];
    for (let b = 0; b < blocks.blocksX * blocks.blocksY; b++) {
      const hist = blocks.blocks.subarray(b * blocks.bins, (b + 1) * blocks.bins);
      const est = refinePeak(hist, j.referenceTrueAdc, refWindow)!;
      relErrors.push(centroidError(hist, est.position, refWindow) / est.position);
    }
    relErrors.sort((x, y) => x - y);
    const relGainTol = 4 * 2.5 * relErrors[relErrors.length >> 1]! + 0.005;
    const gmap = readGainMap(out, gainGen.width, gainGen.height);
    const cu = line('Cu-Ka');
    const cuTrueAdc = (cu.peakKeV - OFFSET) / GAIN;
    let worst = 0;
    for (let p = 0; p < gmap.length; p++) {
      const recorded = cuTrueAdc * gainGen.gainMap[p]!;
      worst = Math.max(worst, Math.abs(energyAt(j.calibration, recorded / gmap[p]!) - cu.peakKeV));
    }
    assert.ok(worst < relGainTol * (cu.peakKeV - OFFSET), `worst pixel off by ${worst} keV at Cu, tolerance ${relGainTol * (cu.peakKeV - OFFSET)}`);

    // End to end: the calibrated cube's Cu peak (a line NOT in the calibration) at Cu's model peak.
    const { cube } = cubeFromRecording(gainFile, configSchema.parse({ calibration: j.calibration }));
    const w = 0.08; // default histogram bin width, keV
    const half = fwhm(cu.peakKeV) / w;
    const est = refinePeak(cube.sumSpectrum, cu.peakKeV / w, half)!;
    const keV = est.position * w;
    const calAdc = adcAt(j.calibration, cu.peakKeV);
    const stat = Math.hypot(centroidError(cube.sumSpectrum, est.position, half) * w, energyErrorAt(j.fit, calAdc));
    within('Cu Ka in the calibrated cube', keV, cu.peakKeV, 4 * stat + 0.05 * fwhm(cu.peakKeV));
  });

  it('CLI text prints the per-line table and a calibration block with offsetKeV; one line still gives offset 0', () => {
    const out = join(dir, 'text.f32');
    const r = runCli(['calibrate', '--from', uniformFile, '--line', 'Ti-Ka,Cu-Ka,Sr-Ka', '--quadratic', '--out', out, '-q']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Ti-Ka .*residual/);
    assert.match(r.stdout, /offset -?\d+\.\d+ ± \d+\.\d+ keV/);
    assert.match(r.stdout, /quadratic .* keV\/ADC\^2/);
    assert.match(r.stdout, /calibration:\n {2}gainKeVPerAdc: [\d.e-]+\n {2}offsetKeV: -0\.\d+\n {2}quadraticKeVPerAdc2: /);
    const one = runCli(['calibrate', '--from', uniformFile, '--line', 'Cu-Ka', '--out', out, '-q']);
    assert.equal(one.status, 0, one.stderr);
    assert.match(one.stdout, /offset 0 \(one line: offset fixed at 0\)/);
  });

  it('refuses: lines too close (CLI), --quadratic with two lines, a line with no peak in the scan (CLI)', () => {
    const close = runCli(['calibrate', '--from', uniformFile, '--line', 'Cu-Ka', '--line', 'Zn-Ka']);
    assert.notEqual(close.status, 0);
    assert.match(close.stderr.trim(), /^gemxrf: --line: lines Cu-Ka .* and Zn-Ka .* closer than 1\.5 FWHM[^\n]*$/);
    // (--quadratic with two lines: the CLI refuses it before reading, with the library's wording.)
    assert.throws(() => fitLinesFromHistogram(new Float64Array(4096), [line('Ti-Ka'), line('Sr-Ka')], { quadratic: true }), /quadratic term needs at least 3 lines/);
    const absent = runCli(['calibrate', '--from', uniformFile, '--line', 'Ti-Ka,Pb-La,Sr-Ka', '-q', '--out', join(dir, 'x.f32')]);
    assert.notEqual(absent.status, 0);
    assert.match(absent.stderr.trim(), /^gemxrf: .*uniform\.gemx: line Pb-La: no peak[^\n]*$/);
  });
});
