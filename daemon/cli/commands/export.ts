// gemxrf scan export ID --format npy|hdf5|png|all --out DIR: a stored scan's cube (checkpoint + recording tail,
// or the whole raw.gemx), its roi/fit/model maps and metadata, written for analysts. Works offline, reading
// <dataDir>/scans/<id> directly (no daemon needed). `--from FILE.gemx` exports a bare recording instead.
import type { Command } from 'commander';
import { exportScan } from '../../export/export-scan.js';
import { exportMapsFor, type ExportMethod } from '../../export/scan-maps.js';
import { loadRecording, loadStoredScan, type ScanSource } from '../../export/scan-source.js';
import { EXPORT_FORMATS, type ExportFormat } from '../../export/types.js';
import { configFor, numberOption } from '../context.js';
import { CliError } from '../errors.js';

interface ExportOptions {
  from?: string;
  format: string;
  out: string;
  dataDir?: string;
  methods?: string;
  model?: string;
  modelsDir?: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
}

const METHODS: readonly ExportMethod[] = ['roi', 'fit', 'model'];

export function parseFormats(text: string): ExportFormat[] {
  const out = new Set<ExportFormat>();
  for (const f of text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (f === 'all') EXPORT_FORMATS.forEach((x) => out.add(x));
    else if (f === 'h5') out.add('hdf5');
    else if ((EXPORT_FORMATS as readonly string[]).includes(f)) out.add(f as ExportFormat);
    else throw new CliError(`--format: unknown format '${f}' (choose npy, hdf5, png or all)`);
  }
  if (out.size === 0) throw new CliError('--format: give npy, hdf5, png or all');
  return [...out];
}

function parseMethods(text: string): ExportMethod[] {
  const out: ExportMethod[] = [];
  for (const m of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!(METHODS as readonly string[]).includes(m)) throw new CliError(`--methods: unknown method '${m}' (choose from ${METHODS.join(', ')}, or 'none')`);
    if (!out.includes(m as ExportMethod)) out.push(m as ExportMethod);
  }
  return out;
}

async function run(id: string | undefined, opts: ExportOptions, cmd: Command): Promise<void> {
  const config = configFor(cmd);
  if ((id === undefined) === (opts.from === undefined)) throw new CliError('give a scan ID or --from FILE.gemx (one of them)');
  const formats = parseFormats(opts.format);
  const explicitMethods = opts.methods !== undefined;
  let methods: ExportMethod[] = opts.methods === 'none' ? [] : explicitMethods ? parseMethods(opts.methods!) : [...config.maps.methods];
  const say = (s: string) => {
    if (!opts.quiet && !opts.json) process.stderr.write(s + '\n');
  };
  let src: ScanSource;
  try {
    src = id !== undefined ? loadStoredScan(opts.dataDir ?? config.storage.dataDir, id, config) : loadRecording(opts.from!, config);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  say(`cube ${src.cube.width}x${src.cube.height}x${src.cube.channels}, ${src.cube.totalEvents} events (${src.origin.kind})`);
  const threads = opts.threads === undefined ? undefined : numberOption('threads', opts.threads, { min: 1, max: 64, integer: true });
  const mapOpts = { model: opts.model, modelsDir: opts.modelsDir, threads };
  let built: Awaited<ReturnType<typeof exportMapsFor>>;
  try {
    built = await exportMapsFor(src, { methods, ...mapOpts });
  } catch (e) {
    // The default method list includes the model; without a model installed, export the rest and say so.
    if (explicitMethods || !methods.includes('model')) throw new CliError((e as Error).message);
    say(`model maps skipped: ${(e as Error).message}`);
    methods = methods.filter((m) => m !== 'model');
    built = await exportMapsFor(src, { methods, ...mapOpts });
  }
  const result = await exportScan({
    cube: src.cube, maps: built.maps, sumSpectrum: src.cube.sumSpectrum, countMap: src.cube.totals,
    metadata: built.metadata, formats, outDir: opts.out, baseName: id ?? 'recording',
  });
  if (opts.json) process.stdout.write(JSON.stringify({ ...result, methods, events: src.cube.totalEvents, origin: src.origin }) + '\n');
  else process.stdout.write(`exported ${result.files.length} files (${(result.bytes / 2 ** 20).toFixed(1)} MiB) to ${result.outDir}\n`);
}

function define(c: Command): Command {
  return c
    .option('--from <file.gemx>', 'export a recording instead of a stored scan')
    .option('--format <list>', 'npy, hdf5, png or all (comma-separated)', 'all')
    .requiredOption('--out <dir>', 'output directory (created if missing)')
    .option('--data-dir <dir>', 'the daemon data directory (default: storage.dataDir of the config)')
    .option('--methods <list>', "map methods: roi,fit,model or 'none' (default: maps.methods of the config)")
    .option('--model <name>', 'model name in the models dir or path to .onnx (default: inference.model)')
    .option('--models-dir <dir>', 'where model files live (default: inference.modelsDir)')
    .option('--threads <n>', 'onnxruntime threads for the model pass')
    .option('--json', 'print the result as JSON')
    .option('--quiet', 'no progress lines on stderr')
    .action((id: string | undefined, opts: ExportOptions, cmd: Command) => run(id, opts, cmd));
}

/** Adds `export` under `gemxrf scan` when that command exists, else registers a top-level `gemxrf export`. */
export function register(program: Command): void {
  const scan = program.commands.find((c) => c.name() === 'scan');
  const desc = 'export a stored scan (cube, maps, metadata) as npy, NeXus HDF5 and/or PNG';
  if (scan) define(scan.command('export [id]').description(desc));
  else define(program.command('export [id]').description(desc));
}
