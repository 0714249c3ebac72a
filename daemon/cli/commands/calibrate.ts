// gemxrf calibrate --from FILE.gemx --line Cu-Ka|5.9 [--line ...] [--quadratic] [--block 10] [--out FILE]:
// energy calibration and per-pixel gain map from a scan of known lines; prints the `calibration:` YAML
// for the configuration and writes the gain map in the format pipelines/calibration reads (raw
// little-endian float32, or .npy when the name ends in .npy). One line: gain only, offset 0
// (line-calibration.ts). Two or more: offset + gain (+ quadratic with --quadratic and 3+ lines) by
// weighted least squares, gain map from the line with the most counts (multi-line-calibration.ts).
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { DEFAULT_DETECTOR } from '../../../physics/index.js';
import { writeGainMap } from '../../../pipelines/calibration/gain-map.js';
import { collectAdcHistograms } from '../../../pipelines/maps/adc-histograms.js';
import { calibrateFromHistograms, parseCalibrationLine, type CalibrationLine } from '../../../pipelines/maps/line-calibration.js';
import { calibrateFromLines, checkLineSeparation } from '../../../pipelines/maps/multi-line-calibration.js';
import { printMultiLineCalibration } from '../calibrate-report.js';
import { configFor, numberOption } from '../context.js';
import { CliError } from '../errors.js';
import { readWithProgress } from '../read-progress.js';

interface CalibrateOptions {
  from: string;
  line: string[];
  quadratic?: boolean;
  block: string;
  minCounts: string;
  out?: string;
  resolution: string;
  json?: boolean;
  quiet?: boolean;
}

function collect(value: string, prev: string[] = []): string[] {
  return [...prev, ...value.split(',').map((v) => v.trim()).filter(Boolean)];
}

export function register(program: Command): void {
  program
    .command('calibrate')
    .description('energy calibration (gain; offset and gain from 2+ lines) and per-pixel gain map from a .gemx scan of known lines; prints the calibration YAML')
    .requiredOption('--from <file>', 'recording (.gemx) of a calibration scan')
    .requiredOption('--line <line>', 'a known line: Cu-Ka, Mn-Ka (Fe-55 source), Pb-La, ... or its energy in keV (repeatable, comma list; 2+ lines fit offset and gain)', collect)
    .option('--quadratic', 'with 3+ lines, fit a quadratic term too')
    .option('--block <pixels>', 'gain map block size (blocks of N x N pixels get one peak position each)', '10')
    .option('--min-counts <n>', 'net peak counts a block needs for its own gain (else: mean of its neighbours)', '200')
    .option('--out <file>', 'gain map file to write (.f32 raw float32 or .npy); default: FILE.gemx -> FILE.gain.f32')
    .option('--resolution <r>', 'detector FWHM fraction at 5.9 keV (peak window and model peak)', String(DEFAULT_DETECTOR.resolution))
    .option('--json', 'print JSON instead of text + YAML')
    .option('-q, --quiet', 'no progress bar')
    .action((opts: CalibrateOptions, cmd: Command) => {
      const config = configFor(cmd);
      const blockSize = numberOption('block', opts.block, { integer: true, min: 1, max: 1024 });
      const minCounts = numberOption('min-counts', opts.minCounts, { min: 1 });
      const detector = { ...DEFAULT_DETECTOR, resolution: numberOption('resolution', opts.resolution, { min: 0.01, max: 2 }) };
      let calibrationLines: CalibrationLine[];
      try {
        calibrationLines = opts.line.map((l) => parseCalibrationLine(l, detector));
        if (calibrationLines.length === 0) throw new Error('no line given');
        if (opts.quadratic && calibrationLines.length < 3) throw new Error(`--quadratic needs at least 3 lines, got ${calibrationLines.length}`);
        // Before reading the recording: a pair of lines too close to separate fails fast.
        if (calibrationLines.length > 1) checkLineSeparation(calibrationLines, detector);
      } catch (err) {
        throw new CliError(`--line: ${(err as Error).message}`);
      }
      const line = calibrationLines[0]!;
      const out = opts.out ?? `${opts.from.replace(/\.gemx$/i, '')}.gain.f32`;

      const hist = readWithProgress(opts.quiet, (onProgress) => collectAdcHistograms(opts.from, config, blockSize, onProgress));
      if (hist.read.events === 0) throw new CliError(`${opts.from}: no events in the recording`);

      if (calibrationLines.length > 1) {
        let multi;
        try {
          multi = calibrateFromLines(hist, calibrationLines, { detector, minCounts, quadratic: opts.quadratic ?? false });
        } catch (err) {
          throw new CliError(`${opts.from}: ${(err as Error).message}`);
        }
        try {
          writeGainMap(out, multi.gainMap, multi.width, multi.height);
        } catch (err) {
          throw new CliError(`cannot write ${out}: ${(err as Error).message}`);
        }
        printMultiLineCalibration({ from: opts.from, events: hist.read.events, out, blockSize, json: opts.json ?? false }, multi);
        return;
      }

      let cal;
      try {
        cal = calibrateFromHistograms(hist, line, { detector, minCounts });
      } catch (err) {
        throw new CliError(`${opts.from}: ${(err as Error).message}`);
      }
      try {
        writeGainMap(out, cal.gainMap, cal.width, cal.height);
      } catch (err) {
        throw new CliError(`cannot write ${out}: ${(err as Error).message}`);
      }
      const calibration = {
        gainKeVPerAdc: Number(cal.gainKeVPerAdc.toPrecision(7)),
        offsetKeV: 0,
        quadraticKeVPerAdc2: 0,
        gainMapFile: out,
      };
      if (opts.json) {
        const { gainMap: _omit, ...rest } = cal;
        process.stdout.write(JSON.stringify({ from: opts.from, events: hist.read.events, calibration, ...rest }) + '\n');
        return;
      }
      const lines = [
        `${opts.from}: ${hist.read.events} events on ${cal.width}x${cal.height} pixels`,
        `line ${line.label}: ${line.lineKeV.toFixed(3)} keV; the GEM records its peak at ${line.peakKeV.toFixed(3)} keV (model, same centroid)`,
        `peak at ADC ${cal.peakAdc.toFixed(1)} -> gain ${calibration.gainKeVPerAdc} keV/ADC, offset 0 (one line: offset fixed at 0)`,
        `gain map: ${cal.blocks} blocks of ${blockSize}x${blockSize} px, ${cal.validBlocks} with their own peak, relative gain ${cal.gainMin.toFixed(3)}..${cal.gainMax.toFixed(3)} -> ${out}`,
      ];
      if (Number.isFinite(cal.resolutionEstimate)) lines.push(`resolution estimate: ${cal.resolutionEstimate.toFixed(3)} FWHM fraction at 5.9 keV (median block peak width)`);
      lines.push('', 'add to the configuration:', stringify({ calibration }).trimEnd());
      process.stdout.write(lines.join('\n') + '\n');
    });
}
