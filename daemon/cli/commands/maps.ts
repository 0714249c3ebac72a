// gemxrf maps --from FILE.gemx --png DIR [--method roi,fit] [--elements Cr,Cu,Pb] ...: builds the cube
// of a recording and writes one PNG per element and method (perceptual colormap, colorbar, label), all
// elements of a method in one grid PNG, the count map and, for the fit, its reduced chi-square map.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { canonicalSymbol, DEFAULT_DETECTOR, type DetectorParams } from '../../../physics/index.js';
import { buildMaps, cubeGrid, type BuiltMaps, type ClassicalMethod } from '../../../pipelines/maps/build.js';
import { cubeFromRecording } from '../../../pipelines/maps/recording-cube.js';
import { elementMap } from '../../../pipelines/maps/types.js';
import { renderMapGridPng, renderMapPng } from '../../render/index.js';
import { configFor, numberOption } from '../context.js';
import { CliError } from '../errors.js';
import { readWithProgress } from '../read-progress.js';
import { roiBackgroundFromConfig } from '../../../pipelines/maps/roi.js';

interface MapsOptions {
  from: string;
  png: string;
  method: string;
  elements?: string;
  resolution: string;
  escape: string;
  background: string;
  json?: boolean;
  quiet?: boolean;
}

/** "Cr,Cu,Pb" -> ['Cr', 'Cu', 'Pb'] (symbols checked, duplicates removed). */
export function parseElementList(text: string, option = 'elements'): string[] {
  const out: string[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    let sym: string;
    try {
      sym = canonicalSymbol(part);
    } catch {
      throw new CliError(`--${option}: unknown element '${part}'`);
    }
    if (!out.includes(sym)) out.push(sym);
  }
  if (out.length === 0) throw new CliError(`--${option}: give at least one element, e.g. Cr,Cu,Pb`);
  return out;
}

export function register(program: Command): void {
  program
    .command('maps')
    .description('elemental maps (roi window sums, fit: non-negative linear fit) of a .gemx recording, as PNG images')
    .requiredOption('--from <file>', 'recording (.gemx) to build the cube from')
    .requiredOption('--png <dir>', 'directory for the PNG images (created if missing)')
    .option('--method <list>', 'roi, fit or both (comma-separated)', 'roi,fit')
    .option('--elements <list>', 'elements to map, e.g. Cr,Cu,Pb (default: maps.elements of the configuration)')
    .option('--resolution <r>', 'detector FWHM fraction at 5.9 keV used for windows and reference spectra', String(DEFAULT_DETECTOR.resolution))
    .option('--escape <scale>', 'scale of the argon escape probability in the reference spectra', String(DEFAULT_DETECTOR.escapeScale))
    .option('--background <mode>', "fit background: 'shared' (continuum from the sum spectrum) or 'free' (per pixel)", 'shared')
    .option('--json', 'print a JSON summary instead of text')
    .option('-q, --quiet', 'no progress bar')
    .action((opts: MapsOptions, cmd: Command) => {
      const config = configFor(cmd);
      const methods = [...new Set(opts.method.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean))];
      for (const m of methods) if (m !== 'roi' && m !== 'fit') throw new CliError(`--method: expected roi, fit or both (roi,fit), got '${m}'`);
      if (methods.length === 0) throw new CliError('--method: give roi, fit or roi,fit');
      if (opts.background !== 'shared' && opts.background !== 'free') throw new CliError(`--background: expected shared or free, got '${opts.background}'`);
      const elements = opts.elements ? parseElementList(opts.elements) : config.maps.elements;
      const detector: DetectorParams = {
        ...DEFAULT_DETECTOR,
        resolution: numberOption('resolution', opts.resolution, { min: 0.01, max: 2 }),
        escapeScale: numberOption('escape', opts.escape, { min: 0 }),
      };

      const t0 = performance.now();
      const built = readWithProgress(opts.quiet, (onProgress) => cubeFromRecording(opts.from, config, onProgress));
      const readSeconds = (performance.now() - t0) / 1000;
      const { cube, read } = built;
      if (read.events === 0) throw new CliError(`${opts.from}: no events in the recording`);

      try {
        mkdirSync(opts.png, { recursive: true });
      } catch (err) {
        throw new CliError(`cannot create ${opts.png}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      const { width, height } = cube;
      const files: string[] = [];
      const write = (name: string, png: Buffer) => {
        const file = join(opts.png, name);
        try {
          writeFileSync(file, png);
        } catch (err) {
          throw new CliError(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        }
        files.push(file);
      };
      write('counts.png', renderMapPng(cube.totals, width, height, { title: 'counts', unit: 'counts' }));

      const summary: Array<{ method: string; element: string; total: number; max: number; file: string }> = [];
      const timings: Record<string, number> = {};
      for (const method of methods as ClassicalMethod[]) {
        const t1 = performance.now();
        let result: BuiltMaps;
        try {
          result = buildMaps(cube, cubeGrid(cube), method, elements, { detector, background: opts.background as 'shared' | 'free', roi: roiBackgroundFromConfig(config.maps.roi) });
        } catch (err) {
          throw new CliError(`${method}: ${(err as Error).message}`);
        }
        timings[method] = (performance.now() - t1) / 1000;
        const unit = method === 'roi' ? 'window counts' : 'net counts';
        for (const el of elements) {
          const data = elementMap(result.maps, el);
          const name = `${method}-${el}.png`;
          write(name, renderMapPng(data, width, height, { title: `${el} - ${method}`, unit }));
          let total = 0;
          let max = 0;
          for (const v of data) {
            total += v;
            if (v > max) max = v;
          }
          summary.push({ method, element: el, total, max, file: join(opts.png, name) });
        }
        write(`${method}-all.png`, renderMapGridPng(elements.map((el) => ({ title: el, data: elementMap(result.maps, el), unit })), width, height, { title: `${opts.from} - ${method}` }));
        if (result.chi2) write('fit-chi2.png', renderMapPng(result.chi2, width, height, { title: 'fit reduced chi2', unit: 'chi2/dof' }));
      }

      if (opts.json) {
        process.stdout.write(JSON.stringify({ from: opts.from, width, height, events: read.events, readSeconds, methodSeconds: timings, elements, maps: summary, files }) + '\n');
        return;
      }
      const lines = [`${opts.from}: ${read.events} events on ${width}x${height} pixels (read in ${readSeconds.toFixed(1)} s)`];
      for (const s of summary) lines.push(`  ${s.method.padEnd(3)} ${s.element.padEnd(2)}  total ${s.total.toFixed(0).padStart(10)}  max/pixel ${s.max.toFixed(1).padStart(8)}  ${s.file}`);
      for (const [m, t] of Object.entries(timings)) lines.push(`  ${m} took ${t.toFixed(2)} s`);
      lines.push(`${files.length} PNG files in ${opts.png}`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}
