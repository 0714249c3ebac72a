// gemxrf calibrate --from FILE.gemx --line Cu-Ka|5.9 [--line ...] [--quadratic] [--block 10] [--out FILE]:
// energy calibration and per-pixel gain map from a scan of known lines; prints the `calibration:` YAML
// for the configuration and writes the gain map in the format pipelines/calibration reads (raw
// little-endian float32, or .npy when the name ends in .npy). One line: gain only, offset 0
// (line-calibration.ts). Two or more: offset + gain (+ quadratic with --quadratic and 3+ lines) by
// weighted least squares, gain map from the line with the most counts (multi-line-calibration.ts).
// --record also stores the result in the data directory's gemxrf.db (calibrations table, opened as the
// daemon opens it: WAL, so while the daemon runs too); --history lists the stored ones with the gain drift.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { findPackageRoot } from '../../../config/package-paths.js';
import { DEFAULT_DETECTOR } from '../../../physics/index.js';
import { writeGainMap } from '../../../pipelines/calibration/gain-map.js';
import { collectAdcHistograms } from '../../../pipelines/maps/adc-histograms.js';
import { calibrateFromHistograms, parseCalibrationLine, type CalibrationLine } from '../../../pipelines/maps/line-calibration.js';
import { calibrateFromLines, checkLineSeparation } from '../../../pipelines/maps/multi-line-calibration.js';
import { ScanDb, type NewCalibration } from '../../storage/db.js';
import { SCAN_ID_RE } from '../../storage/scan-names.js';
import { historyEntries, multiLineRecord, printCalibrationHistory, printMultiLineCalibration, recordedLine, singleLineRecord, type RecordedCalibration } from '../calibrate-report.js';
import { configFor, numberOption } from '../context.js';
import { CliError } from '../errors.js';
import { readWithProgress } from '../read-progress.js';

interface CalibrateOptions {
  from?: string;
  line?: string[];
  quadratic?: boolean;
  block: string;
  minCounts: string;
  out?: string;
  resolution: string;
  json?: boolean;
  quiet?: boolean;
  record?: boolean;
  history?: boolean;
  limit: string;
  dataDir?: string;
  note?: string;
}

const DB_FILE = 'gemxrf.db';

/** The data directory as the daemon resolves it (relative to the working directory); it must exist: --record
 *  does not create one at a mistyped path (the daemon creates it on its first start). */
function existingDataDir(dir: string): string {
  const abs = resolve(dir);
  let st;
  try {
    st = statSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`data directory ${abs} ${code === 'ENOENT' ? 'does not exist' : `is not usable: ${code ?? (e as Error).message}`} (storage.dataDir of the configuration, or --data-dir)`);
  }
  if (!st.isDirectory()) throw new CliError(`data directory ${abs} is not a directory (storage.dataDir of the configuration, or --data-dir)`);
  return abs;
}

function openDb(file: string): ScanDb {
  try {
    return new ScanDb(file);
  } catch (e) {
    throw new CliError((e as Error).message.split('\n')[0]!);
  }
}

/** The scan id when the recording lies in <dataDir>/scans/<id>/ (symlinks resolved), else null. */
function scanIdOf(dataDir: string, file: string): string | null {
  try {
    const rel = relative(realpathSync(join(dataDir, 'scans')), realpathSync(file));
    const first = rel.split(sep)[0]!;
    return rel !== '' && !rel.startsWith('..') && rel.includes(sep) && SCAN_ID_RE.test(first) ? first : null;
  } catch {
    return null;
  }
}

function softwareVersion(): string {
  const root = findPackageRoot();
  try {
    const pkg = JSON.parse(readFileSync(join(root ?? '.', 'package.json'), 'utf8')) as { name?: string; version?: string };
    return root && pkg.version ? `${pkg.name ?? 'gemxrf'} ${pkg.version}` : 'unknown';
  } catch {
    return 'unknown';
  }
}

function history(opts: CalibrateOptions, dataDirOption: string): void {
  if (opts.from !== undefined || opts.line !== undefined || opts.record) throw new CliError('--history lists the recorded calibrations: it takes no --from, --line or --record');
  const limit = numberOption('limit', opts.limit, { integer: true, min: 1 });
  const dataDir = existingDataDir(dataDirOption);
  const file = join(dataDir, DB_FILE);
  if (!existsSync(file)) {
    if (opts.json) process.stdout.write('[]\n');
    else process.stdout.write(`no calibrations recorded: no ${file} yet (gemxrf calibrate ... --record adds one)\n`);
    return;
  }
  const db = openDb(file);
  try {
    // One row more than shown: the drift of the oldest shown needs the one before it.
    printCalibrationHistory(historyEntries(db.listCalibrations({ limit: limit + 1 }), limit), file, opts.json ?? false);
  } catch (e) {
    throw new CliError(`cannot read the calibrations in ${file}: ${(e as Error).message}`);
  } finally {
    db.close();
  }
}

function collect(value: string, prev: string[] = []): string[] {
  return [...prev, ...value.split(',').map((v) => v.trim()).filter(Boolean)];
}

export function register(program: Command): void {
  program
    .command('calibrate')
    .description('energy calibration (gain; offset and gain from 2+ lines) and per-pixel gain map from a .gemx scan of known lines; prints the calibration YAML')
    .option('--from <file>', 'recording (.gemx) of a calibration scan')
    .option('--line <line>', 'a known line: Cu-Ka, Mn-Ka (Fe-55 source), Pb-La, ... or its energy in keV (repeatable, comma list; 2+ lines fit offset and gain)', collect)
    .option('--quadratic', 'with 3+ lines, fit a quadratic term too')
    .option('--block <pixels>', 'gain map block size (blocks of N x N pixels get one peak position each)', '10')
    .option('--min-counts <n>', 'net peak counts a block needs for its own gain (else: mean of its neighbours)', '200')
    .option('--out <file>', 'gain map file to write (.f32 raw float32 or .npy); default: FILE.gemx -> FILE.gain.f32')
    .option('--resolution <r>', 'detector FWHM fraction at 5.9 keV (peak window and model peak)', String(DEFAULT_DETECTOR.resolution))
    .option('--json', 'print JSON instead of text + YAML')
    .option('-q, --quiet', 'no progress bar')
    .option('--record', "also store the result in the data directory's gemxrf.db (calibration history)")
    .option('--note <text>', 'with --record: a note stored with the calibration')
    .option('--history', 'list the recorded calibrations, newest first, with the gain drift from the one before')
    .option('--limit <n>', 'with --history: how many to list', '20')
    .option('--data-dir <dir>', 'data directory of --record/--history (default: storage.dataDir of the configuration)')
    .action((opts: CalibrateOptions, cmd: Command) => {
      const config = configFor(cmd);
      const dataDirOption = opts.dataDir ?? config.storage.dataDir;
      if (opts.history) return history(opts, dataDirOption);
      if (opts.from === undefined) throw new CliError("required option '--from <file>' not specified");
      if (opts.line === undefined) throw new CliError("required option '--line <line>' not specified");
      if (opts.note !== undefined && !opts.record) throw new CliError('--note goes with --record');
      const from = opts.from;
      const lineOptions = opts.line;
      const blockSize = numberOption('block', opts.block, { integer: true, min: 1, max: 1024 });
      const minCounts = numberOption('min-counts', opts.minCounts, { min: 1 });
      const detector = { ...DEFAULT_DETECTOR, resolution: numberOption('resolution', opts.resolution, { min: 0.01, max: 2 }) };
      let calibrationLines: CalibrationLine[];
      try {
        calibrationLines = lineOptions.map((l) => parseCalibrationLine(l, detector));
        if (calibrationLines.length === 0) throw new Error('no line given');
        if (opts.quadratic && calibrationLines.length < 3) throw new Error(`--quadratic needs at least 3 lines, got ${calibrationLines.length}`);
        // Before reading the recording: a pair of lines too close to separate fails fast.
        if (calibrationLines.length > 1) checkLineSeparation(calibrationLines, detector);
      } catch (err) {
        throw new CliError(`--line: ${(err as Error).message}`);
      }
      const line = calibrationLines[0]!;
      const out = opts.out ?? `${from.replace(/\.gemx$/i, '')}.gain.f32`;

      // --record: the database opened (and migrated) and proved writable before the long read.
      let db: ScanDb | null = null;
      let dbFile = '';
      let dataDir = '';
      if (opts.record) {
        dataDir = existingDataDir(dataDirOption);
        dbFile = join(dataDir, DB_FILE);
        db = openDb(dbFile);
        try {
          db.checkCalibrationsWritable();
        } catch (e) {
          db.close();
          throw new CliError(`cannot write ${dbFile}: ${(e as Error).message}`);
        }
      }
      try {
        calibrateAndReport();
      } finally {
        db?.close();
      }

      function record(values: Omit<NewCalibration, 'gainMapFile' | 'createdAt' | 'sourceFile' | 'scanId' | 'events' | 'blockSize' | 'softwareVersion' | 'notes'>, events: number): RecordedCalibration | undefined {
        if (!db) return undefined;
        const r: Omit<RecordedCalibration, 'id'> = {
          database: dbFile,
          createdAt: new Date().toISOString(),
          sourceFile: resolve(from),
          scanId: scanIdOf(dataDir, from),
          gainMapFile: resolve(out),
          softwareVersion: softwareVersion(),
        };
        try {
          const { database: _db, ...stored } = r;
          const id = db.addCalibration({ ...values, ...stored, events, blockSize, notes: opts.note ?? '' });
          return { id, ...r };
        } catch (e) {
          throw new CliError(`cannot record the calibration in ${dbFile}: ${(e as Error).message}`);
        }
      }

      function calibrateAndReport(): void {
        const hist = readWithProgress(opts.quiet, (onProgress) => collectAdcHistograms(from, config, blockSize, onProgress));
        if (hist.read.events === 0) throw new CliError(`${from}: no events in the recording`);

        if (calibrationLines.length > 1) {
          let multi;
          try {
            multi = calibrateFromLines(hist, calibrationLines, { detector, minCounts, quadratic: opts.quadratic ?? false });
          } catch (err) {
            throw new CliError(`${from}: ${(err as Error).message}`);
          }
          try {
            writeGainMap(out, multi.gainMap, multi.width, multi.height);
          } catch (err) {
            throw new CliError(`cannot write ${out}: ${(err as Error).message}`);
          }
          const recorded = record(multiLineRecord(multi), hist.read.events);
          printMultiLineCalibration({ from: from, events: hist.read.events, out, blockSize, json: opts.json ?? false, ...(recorded ? { recorded } : {}) }, multi);
          return;
        }

        let cal;
        try {
          cal = calibrateFromHistograms(hist, line, { detector, minCounts });
        } catch (err) {
          throw new CliError(`${from}: ${(err as Error).message}`);
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
        const recorded = record(singleLineRecord(cal), hist.read.events);
        if (opts.json) {
          const { gainMap: _omit, ...rest } = cal;
          process.stdout.write(JSON.stringify({ from: from, events: hist.read.events, calibration, ...rest, ...(recorded ? { recorded } : {}) }) + '\n');
          return;
        }
        const lines = [
          `${from}: ${hist.read.events} events on ${cal.width}x${cal.height} pixels`,
          `line ${line.label}: ${line.lineKeV.toFixed(3)} keV; the GEM records its peak at ${line.peakKeV.toFixed(3)} keV (model, same centroid)`,
          `peak at ADC ${cal.peakAdc.toFixed(1)} -> gain ${calibration.gainKeVPerAdc} keV/ADC, offset 0 (one line: offset fixed at 0)`,
          `gain map: ${cal.blocks} blocks of ${blockSize}x${blockSize} px, ${cal.validBlocks} with their own peak, relative gain ${cal.gainMin.toFixed(3)}..${cal.gainMax.toFixed(3)} -> ${out}`,
        ];
        if (Number.isFinite(cal.resolutionEstimate)) lines.push(`resolution estimate: ${cal.resolutionEstimate.toFixed(3)} FWHM fraction at 5.9 keV (median block peak width)`);
        if (recorded) lines.push(recordedLine(recorded));
        lines.push('', 'add to the configuration:', stringify({ calibration }).trimEnd());
        process.stdout.write(lines.join('\n') + '\n');
      }
    });
}
