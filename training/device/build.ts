// Bundles training/device/generate.ts into one ESM file for a bare Node binary (no node_modules, no
// repository layout around it): esbuild inlines every import, and physics' line table is inlined too.
//
//   node --import tsx training/device/build.ts OUTFILE      (training/device/prepare.sh does this)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENTRY = join(repoRoot, 'training', 'device', 'generate.ts');
const LINE_TABLE = join(repoRoot, 'physics', 'tables', 'lines.json');

/**
 * physics/line-table.ts reads tables/lines.json beside its own module (import.meta.url), which in a bundle
 * is wherever the bundle lies. Rather than shipping the file next to it, hand line-table.ts an `node:fs`
 * whose existsSync/readFileSync answer for that one file from a copy inlined at build time; every other
 * path goes to the real fs. Only line-table.ts's import is redirected, so nothing else can see the shim.
 */
function inlineLineTable(): Plugin {
  return {
    name: 'inline-line-table',
    setup(b) {
      b.onResolve({ filter: /^(node:)?fs$/ }, (args) =>
        /[\\/]physics[\\/]line-table\.ts$/.test(args.importer) ? { path: 'line-table-fs', namespace: 'gemxrf-inline' } : undefined,
      );
      b.onLoad({ filter: /^line-table-fs$/, namespace: 'gemxrf-inline' }, () => {
        const table = JSON.stringify(JSON.parse(readFileSync(LINE_TABLE, 'utf8'))); // minified, checked to parse
        return {
          loader: 'js',
          contents: [
            "import * as fs from 'node:fs';",
            `const TABLE = ${JSON.stringify(table)};`,
            "const isTable = (p) => /[\\\\/]tables[\\\\/]lines\\.json$/.test(String(p));",
            'export const existsSync = (p) => isTable(p) || fs.existsSync(p);',
            'export const readFileSync = (p, ...rest) => (isTable(p) ? TABLE : fs.readFileSync(p, ...rest));',
          ].join('\n'),
        };
      });
    },
  };
}

/** Writes the bundle to `outfile`; returns its size in bytes. */
export async function buildGenerator(outfile: string): Promise<number> {
  const result = await build({
    entryPoints: [ENTRY],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    legalComments: 'inline',
    logLevel: 'warning',
    metafile: true,
    plugins: [inlineLineTable()],
  });
  return result.metafile.outputs[Object.keys(result.metafile.outputs)[0]!]!.bytes;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: node --import tsx training/device/build.ts OUTFILE');
    process.exit(2);
  }
  const bytes = await buildGenerator(out);
  console.log(`bundled ${out} (${(bytes / 1024).toFixed(0)} KiB)`);
}
