// gemxrf spectrum --elements Fe:0.6,Pb:0.4 [--counts N] [--seed S] [--png FILE] [--json] ...:
// a noisy synthetic GEM spectrum (Poisson draw around physics' expected spectrum), as text, JSON or a plot.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  DEFAULT_BACKGROUND, DEFAULT_DETECTOR, SUBSTRATES, TUBE_ANODES, canonicalSymbol, createRng, detectionEfficiency, excitedLines, synthesize,
  type BackgroundParams, type DetectorParams, type EnergyGrid, type Substrate, type TubeAnode,
} from '../../../physics/index.js';
import { numberOption } from '../context.js';
import { CliError } from '../errors.js';
import { MARKER_COLORS, spectrumPng, type SpectrumMarker } from '../spectrum-plot.js';

interface SpectrumOptions {
  elements: string; counts: string; seed: string; background: string; substrate: string; resolution: string;
  channels: string; emin: string; emax: string; tube: string; kv: string; escape: string; cutoff: string;
  png?: string; json?: boolean; log?: boolean;
}

/** "Fe:0.6,Pb:0.4" or "Fe,Pb" (equal shares) -> { Fe: 0.6, Pb: 0.4 }. */
export function parseElements(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [sym, amount, extra] = part.split(':');
    if (extra !== undefined) throw new CliError(`--elements: cannot parse '${part}' (expected SYMBOL or SYMBOL:AMOUNT)`);
    let name: string;
    try {
      name = canonicalSymbol(sym!);
    } catch {
      throw new CliError(`--elements: unknown element '${sym}'`);
    }
    const v = amount === undefined ? 1 : Number(amount);
    if (!Number.isFinite(v) || v < 0) throw new CliError(`--elements: amount of ${name} must be a number >= 0, got '${amount}'`);
    out[name] = (out[name] ?? 0) + v;
  }
  if (Object.keys(out).length === 0) throw new CliError('--elements: give at least one element, e.g. Fe:0.6,Pb:0.4');
  if (Object.values(out).every((v) => v === 0)) throw new CliError('--elements: all amounts are zero');
  return out;
}

export function register(program: Command): void {
  program
    .command('spectrum')
    .description('synthesise a noisy GEM spectrum of an element mixture (Poisson counts around the expected spectrum)')
    .requiredOption('--elements <list>', 'element count shares, e.g. Fe:0.6,Pb:0.4 (SYMBOL alone = 1)')
    .option('--counts <n>', 'expected total counts', '20000')
    .option('--seed <n>', 'random seed (same seed, same spectrum)', '1')
    .option('--background <share>', 'share of counts from the background (substrate + scattered tube)', '0.2')
    .option('--substrate <name>', `background substrate (${SUBSTRATES.join(', ')})`, DEFAULT_BACKGROUND.substrate)
    .option('--resolution <r>', 'FWHM fraction at 5.9 keV', String(DEFAULT_DETECTOR.resolution))
    .option('--escape <scale>', 'scale of the argon escape probability', String(DEFAULT_DETECTOR.escapeScale))
    .option('--cutoff <keV>', 'low-energy threshold', String(DEFAULT_DETECTOR.lowCutoffKeV))
    .option('--channels <n>', 'number of channels', '256')
    .option('--emin <keV>', 'lower edge of the energy axis', '0')
    .option('--emax <keV>', 'upper edge of the energy axis', '20.48')
    .option('--tube <anode>', `tube anode (${TUBE_ANODES.join(', ')})`, DEFAULT_BACKGROUND.tubeAnode)
    .option('--kv <kV>', 'tube voltage', String(DEFAULT_BACKGROUND.tubeKV))
    .option('--png <file>', 'write a plot (counts, expected curve, line markers) to this PNG file')
    .option('--log', 'logarithmic counts axis in the PNG')
    .option('--json', 'print JSON (grid, counts, expected, fractions, markers)')
    .action((opts: SpectrumOptions) => {
      const elements = parseElements(opts.elements);
      const counts = numberOption('counts', opts.counts, { min: 1, max: 1e12 });
      const seed = numberOption('seed', opts.seed, { integer: true });
      const bgShare = numberOption('background', opts.background, { min: 0, max: 0.999 });
      const substrate = opts.substrate.toLowerCase() as Substrate;
      if (!SUBSTRATES.includes(substrate)) throw new CliError(`--substrate: expected one of ${SUBSTRATES.join(', ')}, got '${opts.substrate}'`);
      const anode = TUBE_ANODES.find((a) => a.toLowerCase() === opts.tube.toLowerCase());
      if (anode === undefined) throw new CliError(`--tube: expected one of ${TUBE_ANODES.join(', ')}, got '${opts.tube}'`);
      const grid: EnergyGrid = {
        channels: numberOption('channels', opts.channels, { min: 8, max: 65536, integer: true }),
        eMinKeV: numberOption('emin', opts.emin, { min: 0 }),
        eMaxKeV: numberOption('emax', opts.emax, { min: 0.5, max: 200 }),
      };
      if (!(grid.eMaxKeV > grid.eMinKeV)) throw new CliError('--emax must be above --emin');
      const det: DetectorParams = {
        ...DEFAULT_DETECTOR,
        resolution: numberOption('resolution', opts.resolution, { min: 0.01, max: 2 }),
        escapeScale: numberOption('escape', opts.escape, { min: 0 }),
        lowCutoffKeV: numberOption('cutoff', opts.cutoff, { min: 0 }),
      };
      const bg: BackgroundParams = { ...DEFAULT_BACKGROUND, substrate, tubeAnode: anode as TubeAnode, tubeKV: numberOption('kv', opts.kv, { min: 5, max: 100 }) };

      // Element amounts are rescaled so that the background is bgShare of the sample counts.
      const sum = Object.values(elements).reduce((s, v) => s + v, 0);
      const scaled = Object.fromEntries(Object.entries(elements).map(([k, v]) => [k, (v / sum) * (1 - bgShare)]));
      let syn;
      try {
        syn = synthesize(grid, { elements: scaled, background: bgShare }, det, bg);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const rng = createRng(seed);
      const expected = Array.from(syn.expected, (p) => p * counts);
      const drawn = expected.map((m) => rng.poisson(m));
      const markers = markersFor(Object.keys(elements), { anode: anode as TubeAnode, kV: bg.tubeKV });

      if (opts.png) {
        const title = `${Object.entries(elements).map(([k, v]) => `${k}:${v}`).join(' ')}  ${counts} counts, seed ${seed}`;
        try {
          writeFileSync(opts.png, spectrumPng({ eMinKeV: grid.eMinKeV, eMaxKeV: grid.eMaxKeV, counts: drawn, expected, markers, title, log: opts.log }));
        } catch (err) {
          throw new CliError(`cannot write ${opts.png}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        }
      }
      const total = drawn.reduce((s, v) => s + v, 0);
      if (opts.json) {
        process.stdout.write(JSON.stringify({
          grid, seed, countsRequested: counts, total, detector: det, background: bg, fractions: syn.fractions,
          backgroundShare: bgShare * (1 - det.cuShare - det.alShare), detectorLineShare: det.cuShare + det.alShare,
          markers: markers.map(({ label, energyKeV }) => ({ label, energyKeV })), counts: drawn, expected,
        }) + '\n');
        return;
      }
      const lines = [`${total} counts in ${grid.channels} channels, ${grid.eMinKeV}..${grid.eMaxKeV} keV (seed ${seed})`];
      for (const [k, f] of Object.entries(syn.fractions)) lines.push(`  ${k.padEnd(3)} ${(100 * f).toFixed(1).padStart(5)} % of counts`);
      lines.push(`  bg  ${(100 * bgShare * (1 - det.cuShare - det.alShare)).toFixed(1).padStart(5)} % (${substrate} + scattered ${anode} tube)`);
      lines.push(`  det ${(100 * (det.cuShare + det.alShare)).toFixed(1).padStart(5)} % (detector Cu/Al)`);
      if (opts.png) lines.push(`plot written to ${opts.png}`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}

/** The lines worth marking: per element, those giving at least 5 % of the counts of its most-detected line. */
function markersFor(symbols: string[], tube: { anode: TubeAnode; kV: number }): SpectrumMarker[] {
  const out: SpectrumMarker[] = [];
  symbols.forEach((sym, i) => {
    const lines = excitedLines(sym, tube).map((l) => ({ ...l, seen: l.weight * detectionEfficiency(l.energyKeV) }));
    const max = Math.max(0, ...lines.map((l) => l.seen));
    for (const l of lines) if (l.seen >= 0.05 * max) out.push({ label: `${sym} ${l.siegbahn}`, energyKeV: l.energyKeV, color: MARKER_COLORS[i % MARKER_COLORS.length]! });
  });
  return out.sort((a, b) => a.energyKeV - b.energyKeV);
}
