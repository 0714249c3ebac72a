// gemxrf lines ELEMENT [--json] [--all] [--tube W --kv 40]: an element's X-ray lines, edges and yields.
import type { Command } from 'commander';
import { DEFAULT_TUBE, TUBE_ANODES, elementData, excitedLines, type TubeAnode } from '../../../physics/index.js';
import { numberOption } from '../context.js';
import { CliError } from '../errors.js';

interface LinesOptions { json?: boolean; all?: boolean; tube: string; kv: string }

export function register(program: Command): void {
  program
    .command('lines')
    .argument('<element>', 'element symbol, any case (Fe, fe, FE) or atomic number 11..92')
    .description('list an element\'s K/L/M fluorescence lines (keV, relative intensity within family), edges and fluorescence yields')
    .option('--json', 'print JSON')
    .option('--all', 'include lines weaker than 1 % of their family\'s strongest')
    .option('--tube <anode>', `tube anode for the "excited" column (${TUBE_ANODES.join(', ')})`, DEFAULT_TUBE.anode)
    .option('--kv <kV>', 'tube voltage for the "excited" column', String(DEFAULT_TUBE.kV))
    .action((element: string, opts: LinesOptions) => {
      const anode = TUBE_ANODES.find((a) => a.toLowerCase() === opts.tube.toLowerCase());
      if (anode === undefined) throw new CliError(`--tube: expected one of ${TUBE_ANODES.join(', ')}, got '${opts.tube}'`);
      const kV = numberOption('kv', opts.kv, { min: 5, max: 100 });
      const key = /^\d+$/.test(element) ? Number(element) : element;
      let data;
      try {
        data = elementData(key);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const excited = new Map(excitedLines(data.z, { anode: anode as TubeAnode, kV }).map((l) => [l.iupac, l.weight]));
      const lines = data.lines
        .filter((l) => opts.all || l.relIntensity >= 0.01)
        .map((l) => ({ ...l, excitedShare: excited.get(l.iupac) ?? 0 }));
      if (opts.json) {
        const { lines: _all, ...rest } = data;
        process.stdout.write(JSON.stringify({ ...rest, tube: { anode, kV }, lines }, null, 2) + '\n');
        return;
      }
      const out: string[] = [];
      out.push(`${data.symbol} (Z=${data.z}, atomic weight ${data.atomicWeight})`);
      const shells = Object.keys(data.edges) as Array<keyof typeof data.edges>;
      out.push('shell  edge keV  fluor. yield  jump ratio');
      for (const s of shells) {
        out.push(`${s.padEnd(5)}  ${fmt(data.edges[s], 4).padStart(8)}  ${fmt(data.yields[s], 4).padStart(12)}  ${fmt(data.jumps[s], 4).padStart(10)}`);
      }
      out.push('');
      out.push(`family  line   IUPAC   energy keV  rel. intensity  excited share (${anode} ${kV} kV)`);
      for (const l of lines) {
        out.push(`${l.family.padEnd(6)}  ${l.siegbahn.padEnd(5)}  ${l.iupac.padEnd(6)}  ${l.energyKeV.toFixed(4).padStart(10)}  ${l.relIntensity.toFixed(4).padStart(14)}  ${l.excitedShare.toFixed(4).padStart(8)}`);
      }
      process.stdout.write(out.join('\n') + '\n');
    });
}

function fmt(v: number | undefined, digits: number): string {
  return v === undefined ? '-' : Number(v.toPrecision(digits)).toString();
}
