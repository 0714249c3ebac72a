// Output of `gemxrf calibrate` with several lines: a text report with the `calibration:` YAML to paste
// into the configuration, or one JSON object with everything (--json).
import { stringify } from 'yaml';
import type { MultiLineCalibration } from '../../pipelines/maps/multi-line-calibration.js';

export interface ReportContext {
  from: string;
  events: number;
  /** The gain map file written. */
  out: string;
  blockSize: number;
  json: boolean;
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
  lines.push('', 'add to the configuration:', stringify({ calibration }).trimEnd());
  process.stdout.write(lines.join('\n') + '\n');
}
