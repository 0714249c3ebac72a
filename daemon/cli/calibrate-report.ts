// Output of `gemxrf calibrate` with several lines: a text report with the `calibration:` YAML to paste
// into the configuration, or one JSON object with everything (--json).
import { stringify } from 'yaml';
import type { LineCalibration } from '../../pipelines/maps/line-calibration.js';
import type { MultiLineCalibration } from '../../pipelines/maps/multi-line-calibration.js';
import type { CalibrationRecord, NewCalibration } from '../storage/db.js';

export interface ReportContext {
  from: string;
  events: number;
  /** The gain map file written. */
  out: string;
  blockSize: number;
  json: boolean;
  /** Where --record stored the calibration (absent without --record). */
  recorded?: RecordedCalibration;
}

/** What `calibrate --record` wrote: the row's id, the database, and the absolute paths stored in it. */
export interface RecordedCalibration {
  id: number;
  database: string;
  createdAt: string;
  sourceFile: string;
  scanId: string | null;
  gainMapFile: string;
  softwareVersion: string;
}

/** The history row of a multi-line calibration: the fit's full-precision values (the JSON's `fit` and
 *  `lines`), not the rounded YAML. */
export function multiLineRecord(cal: MultiLineCalibration): Pick<NewCalibration, 'gainKeVPerAdc' | 'offsetKeV' | 'quadraticKeVPerAdc2' | 'fitKind' | 'lines' | 'offsetErrorKeV' | 'gainErrorKeVPerAdc' | 'quadraticErrorKeVPerAdc2' | 'chi2' | 'dof'> {
  const { fit } = cal;
  const quadratic = cal.degree === 2;
  return {
    gainKeVPerAdc: fit.gainKeVPerAdc,
    offsetKeV: fit.offsetKeV,
    quadraticKeVPerAdc2: quadratic ? fit.quadraticKeVPerAdc2 : 0,
    fitKind: quadratic ? 'quadratic' : 'linear',
    lines: cal.peaks.map((p) => ({
      label: p.line.label, lineKeV: p.line.lineKeV, modelPeakKeV: p.line.peakKeV, peakAdc: p.peakAdc, peakAdcError: p.peakAdcError,
      net: p.net, fittedKeV: p.fittedKeV, residualEv: p.residualEv, peakErrorEv: p.peakErrorEv,
    })),
    offsetErrorKeV: fit.offsetErrorKeV,
    gainErrorKeVPerAdc: fit.gainErrorKeVPerAdc,
    quadraticErrorKeVPerAdc2: quadratic ? fit.quadraticErrorKeVPerAdc2 : null,
    chi2: fit.chi2,
    dof: fit.dof,
  };
}

/** The history row of a one-line calibration: gain only (offset fixed at 0), no statistical uncertainty
 *  computed, residual 0 by construction. */
export function singleLineRecord(cal: LineCalibration): Pick<NewCalibration, 'gainKeVPerAdc' | 'offsetKeV' | 'quadraticKeVPerAdc2' | 'fitKind' | 'lines' | 'offsetErrorKeV' | 'gainErrorKeVPerAdc' | 'quadraticErrorKeVPerAdc2' | 'chi2' | 'dof'> {
  return {
    gainKeVPerAdc: cal.gainKeVPerAdc,
    offsetKeV: 0,
    quadraticKeVPerAdc2: 0,
    fitKind: 'gain',
    lines: [{ label: cal.line.label, lineKeV: cal.line.lineKeV, modelPeakKeV: cal.line.peakKeV, peakAdc: cal.peakAdc, peakAdcError: null, net: null, fittedKeV: cal.peakAdc * cal.gainKeVPerAdc, residualEv: 0, peakErrorEv: null }],
    offsetErrorKeV: null,
    gainErrorKeVPerAdc: null,
    quadraticErrorKeVPerAdc2: null,
    chi2: null,
    dof: 0,
  };
}

export function recordedLine(r: RecordedCalibration): string {
  return `recorded as calibration #${r.id} in ${r.database}`;
}

export interface HistoryEntry extends CalibrationRecord {
  /** Gain change from the calibration before this one, in % of that one's gain (null for the first). */
  gainDriftPercent: number | null;
}

/** Newest first, each with its gain drift from the next older one; `rows` may hold one more (older) row
 *  than is shown, which only serves the last shown row's drift. */
export function historyEntries(rows: CalibrationRecord[], limit: number): HistoryEntry[] {
  return rows.slice(0, limit).map((r, i) => {
    const prev = rows[i + 1];
    const drift = prev && prev.gainKeVPerAdc !== 0 ? (100 * (r.gainKeVPerAdc - prev.gainKeVPerAdc)) / prev.gainKeVPerAdc : null;
    return { ...r, gainDriftPercent: drift };
  });
}

export function printCalibrationHistory(entries: HistoryEntry[], database: string, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(entries) + '\n');
    return;
  }
  if (entries.length === 0) {
    process.stdout.write(`no calibrations recorded in ${database} (gemxrf calibrate ... --record adds one)\n`);
    return;
  }
  const sig = (v: number | null, digits: number) => (v === null ? '' : ` ± ${v.toPrecision(digits)}`);
  const rows = entries.map((e) => [
    `#${e.id}`,
    e.createdAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    `${e.gainKeVPerAdc.toPrecision(7)}${sig(e.gainErrorKeVPerAdc, 2)}`,
    e.gainDriftPercent === null ? '-' : `${e.gainDriftPercent >= 0 ? '+' : ''}${e.gainDriftPercent.toFixed(2)} %`,
    e.fitKind === 'gain' ? '0 (fixed)' : `${e.offsetKeV.toFixed(4)}${e.offsetErrorKeV === null ? '' : ` ± ${e.offsetErrorKeV.toFixed(4)}`}`,
    e.fitKind ?? '-',
    e.lines.length ? e.lines.map((l) => l.label).join(',') : '-',
    e.scanId ? `scan ${e.scanId}` : (e.sourceFile ?? '-'),
  ]);
  const head = ['id', 'date (UTC)', 'gain keV/ADC', 'drift', 'offset keV', 'fit', 'lines', 'source'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const fmt = (r: string[]) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]!))).join('  ').trimEnd();
  const out = [fmt(head), ...rows.map(fmt)];
  out.push(`(${entries.length} shown, newest first; drift: gain change from the calibration before, in %)`);
  process.stdout.write(out.join('\n') + '\n');
}

/** The configuration block: offset and quadratic always present (0 when not fitted), so pasting it
 *  replaces whatever an earlier calibration set. */
export function calibrationYamlObject(cal: MultiLineCalibration, out: string): Record<string, number | string> {
  return {
    gainKeVPerAdc: Number(cal.fit.gainKeVPerAdc.toPrecision(7)),
    offsetKeV: Number(cal.fit.offsetKeV.toFixed(5)),
    quadraticKeVPerAdc2: cal.degree === 2 ? Number(cal.fit.quadraticKeVPerAdc2.toPrecision(6)) : 0,
    gainMapFile: out,
  };
}

export function printMultiLineCalibration(ctx: ReportContext, cal: MultiLineCalibration): void {
  const calibration = calibrationYamlObject(cal, ctx.out);
  const { fit } = cal;
  if (ctx.json) {
    const { gainMap: _omit, peaks, fit: _fit, ...rest } = cal;
    process.stdout.write(
      JSON.stringify({
        from: ctx.from,
        events: ctx.events,
        calibration,
        lines: peaks.map((p) => ({
          label: p.line.label, lineKeV: p.line.lineKeV, modelPeakKeV: p.line.peakKeV, peakAdc: p.peakAdc, peakAdcError: p.peakAdcError,
          net: p.net, sigmaAdc: p.sigmaAdc, fittedKeV: p.fittedKeV, residualEv: p.residualEv, peakErrorEv: p.peakErrorEv,
        })),
        fit,
        ...rest,
        ...(ctx.recorded ? { recorded: ctx.recorded } : {}),
      }) + '\n',
    );
    return;
  }
  const pm = (v: number, e: number, digits: number) => `${v.toFixed(digits)} ± ${e.toFixed(digits)}`;
  const lines = [`${ctx.from}: ${ctx.events} events on ${cal.width}x${cal.height} pixels`, `lines (whole-detector peak centroid; the strongest peak was taken as ${cal.anchor}):`];
  for (const p of cal.peaks) {
    lines.push(
      `  ${p.line.label.padEnd(9)} model peak ${p.line.peakKeV.toFixed(3)} keV  ADC ${pm(p.peakAdc, p.peakAdcError, 1)}  net ${p.net.toFixed(0)}` +
        `  fitted ${p.fittedKeV.toFixed(3)} keV  residual ${p.residualEv.toFixed(1)} eV (peak ± ${p.peakErrorEv.toFixed(1)} eV)`,
    );
  }
  const chi = fit.dof > 0 ? `chi2/dof ${fit.chi2.toFixed(1)}/${fit.dof}` : 'exactly determined';
  lines.push(`fit (weighted least squares, ${cal.peaks.length} lines, ${chi}; statistical uncertainties):`);
  lines.push(`  offset ${pm(fit.offsetKeV, fit.offsetErrorKeV, 4)} keV`);
  lines.push(`  gain ${fit.gainKeVPerAdc.toPrecision(7)} ± ${fit.gainErrorKeVPerAdc.toPrecision(2)} keV/ADC`);
  if (cal.degree === 2) lines.push(`  quadratic ${fit.quadraticKeVPerAdc2.toPrecision(4)} ± ${fit.quadraticErrorKeVPerAdc2.toPrecision(2)} keV/ADC^2`);
  lines.push(
    `gain map from ${cal.reference} (most net counts): ${cal.blocks} blocks of ${ctx.blockSize}x${ctx.blockSize} px, ${cal.validBlocks} with their own peak, relative gain ${cal.gainMin.toFixed(3)}..${cal.gainMax.toFixed(3)} -> ${ctx.out}`,
  );
  if (Number.isFinite(cal.resolutionEstimate)) lines.push(`resolution estimate: ${cal.resolutionEstimate.toFixed(3)} FWHM fraction at 5.9 keV (${cal.reference} peak width, gain-corrected sum)`);
  for (const w of cal.warnings) lines.push(`warning: ${w}`);
  if (ctx.recorded) lines.push(recordedLine(ctx.recorded));
  lines.push('', 'add to the configuration:', stringify({ calibration }).trimEnd());
  process.stdout.write(lines.join('\n') + '\n');
}
