// Builds physics/tables/lines.json (Z = 11..92: K, L, M lines, edges, yields, jump ratios, Coster-Kronig)
// from xraylib's plain-text tables, and copies xraylib's licence next to it.
//
//   npx tsx physics/scripts/build-line-table.ts [REFERENCE_DIR [OUT_FILE]]
//
// REFERENCE_DIR defaults to ../shared/reference/xraylib relative to the repository root; OUT_FILE to
// physics/tables/lines.json (the licence goes next to it as XRAYLIB-LICENSE).
// Files read (xraylib 4.3.0 formats, see that folder's README.md): fluor_lines.dat (eV), radrate.dat,
// fluor_yield.dat, edges.dat (eV), jump.dat, coskron.dat, atomicweight.dat.
// Some tables hold more than one entry for the same (Z, key) — newer compilations appended after the
// original ones. xraylib's own loader reads the files top to bottom and overwrites, so the LAST entry wins;
// this script does the same so the numbers agree with xraylib's.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { elementSymbol } from '../elements.js';
import {
  CK_TRANSITIONS, SHELLS, familyOf, initialShell,
  type CkTransition, type LineTableFile, type Shell, type TableElement, type TableLine,
} from '../table-types.js';
import { cascade, familyPrimaryVacancies, lineEmission } from '../vacancies.js';

const Z_MIN = 11;
const Z_MAX = 92;
/** Lines weaker than this (relative to the strongest line of their family, full excitation) are dropped. */
const MIN_REL_INTENSITY = 1e-4;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const refDir = resolve(process.argv[2] ?? join(repoRoot, '..', 'shared', 'reference', 'xraylib'));
const outFile = resolve(process.argv[3] ?? join(repoRoot, 'physics', 'tables', 'lines.json'));
const licenceOut = join(dirname(outFile), 'XRAYLIB-LICENSE');

type Table = Map<number, Map<string, number>>;

/** Reads "Z KEY VALUE" rows; later rows overwrite earlier ones (xraylib's semantics). */
function readTable(name: string): Table {
  const file = join(refDir, name);
  if (!existsSync(file)) throw new Error(`missing ${file} (pass the xraylib reference folder as the first argument)`);
  const t: Table = new Map();
  readFileSync(file, 'utf8').split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [zs, key, vs] = line.split(/\s+/);
    const z = Number(zs);
    const v = Number(vs);
    if (!Number.isInteger(z) || key === undefined || !Number.isFinite(v)) throw new Error(`${name}:${i + 1}: cannot parse '${raw}'`);
    if (!t.has(z)) t.set(z, new Map());
    t.get(z)!.set(key, v);
  });
  return t;
}

/** Atomic weights: "Z VALUE" rows. */
function readWeights(): Map<number, number> {
  const m = new Map<number, number>();
  for (const raw of readFileSync(join(refDir, 'atomicweight.dat'), 'utf8').split('\n')) {
    const [zs, vs] = raw.trim().split(/\s+/);
    if (zs && vs) m.set(Number(zs), Number(vs));
  }
  return m;
}

/** Energy of a radrate line name. Some names group several lines ('KO' = KO1..KO7, 'L1N67' = L1N6 + L1N7):
 *  their energy is the mean of the group members that have an energy. */
function lineEnergyEv(energies: Map<string, number>, name: string): number | undefined {
  const direct = energies.get(name);
  if (direct !== undefined) return direct;
  const m = /^(K|[LM][1-5])([NOPQ])(\d*)$/.exec(name);
  if (!m) return undefined;
  const [, init, shell, digits] = m;
  const members = [...energies.entries()].filter(([k]) => {
    const mm = /^(K|[LM][1-5])([NOPQ])(\d)$/.exec(k);
    return mm !== null && mm[1] === init && mm[2] === shell && (digits === '' || digits!.includes(mm[3]!));
  });
  if (members.length === 0) return undefined;
  return members.reduce((s, [, e]) => s + e, 0) / members.length;
}

const round = (x: number, digits: number): number => Number(x.toPrecision(digits));

function buildElement(z: number, t: Record<string, Table>, weights: Map<number, number>): TableElement {
  const pick = (table: Table, keys: readonly string[], scale = 1): Record<string, number> => {
    const row = table.get(z) ?? new Map<string, number>();
    const out: Record<string, number> = {};
    for (const k of keys) {
      const v = row.get(k);
      if (v !== undefined && v > 0) out[k] = round(v * scale, 6);
    }
    return out;
  };
  const el: TableElement = {
    z,
    symbol: elementSymbol(z),
    atomicWeight: weights.get(z) ?? NaN,
    edges: pick(t.edges!, SHELLS, 1e-3) as Partial<Record<Shell, number>>,
    yields: pick(t.yields!, SHELLS) as Partial<Record<Shell, number>>,
    jumps: pick(t.jumps!, SHELLS) as Partial<Record<Shell, number>>,
    ck: pick(t.ck!, CK_TRANSITIONS) as Partial<Record<CkTransition, number>>,
    lines: [],
  };
  const energies = t.energies!.get(z) ?? new Map<string, number>();
  const rates = t.rates!.get(z) ?? new Map<string, number>();
  const lines: TableLine[] = [];
  for (const [name, rate] of rates) {
    if (!(rate > 0)) continue;
    const shell = initialShell(name);
    if (el.edges[shell] === undefined) continue;
    const eV = lineEnergyEv(energies, name);
    if (eV === undefined || !(eV > 0)) continue;
    lines.push([name, round(eV / 1000, 6), round(rate, 6), 0]);
  }
  el.lines = lines;
  // Within-family relative intensities under full excitation of the family (jump-ratio split, Coster-Kronig).
  for (const family of ['K', 'L', 'M'] as const) {
    const vac = familyPrimaryVacancies(el, family);
    cascade(el, vac);
    const em = lineEmission(el, vac);
    let max = 0;
    lines.forEach((l, k) => { if (familyOf(l[0]) === family) max = Math.max(max, em[k]!); });
    lines.forEach((l, k) => { if (familyOf(l[0]) === family) l[3] = max > 0 ? round(em[k]! / max, 5) : 0; });
  }
  el.lines = lines
    .filter((l) => l[3] >= MIN_REL_INTENSITY)
    .sort((a, b) => familyOf(a[0]).localeCompare(familyOf(b[0])) || b[3] - a[3]);
  return el;
}

function main(): void {
  const t: Record<string, Table> = {
    energies: readTable('fluor_lines.dat'),
    rates: readTable('radrate.dat'),
    yields: readTable('fluor_yield.dat'),
    edges: readTable('edges.dat'),
    jumps: readTable('jump.dat'),
    ck: readTable('coskron.dat'),
  };
  const weights = readWeights();
  const elements: TableElement[] = [];
  for (let z = Z_MIN; z <= Z_MAX; z++) elements.push(buildElement(z, t, weights));
  const file: LineTableFile = {
    source: 'xraylib 4.3.0 data tables (tschoonj/xraylib), BSD-style licence: see XRAYLIB-LICENSE in this folder',
    generatedBy: 'physics/scripts/build-line-table.ts',
    notes: [
      'energies in keV (edges, lines); yields, jump ratios, Coster-Kronig probabilities dimensionless',
      'line = [IUPAC, energy keV, radiative rate within the initial shell, relative intensity within family (full excitation of the family, strongest = 1)]',
      'where a source table repeats a (Z, key) the last entry is used, as xraylib does',
      `lines with relative intensity below ${MIN_REL_INTENSITY} dropped; grouped names (KO, L1N67, ...) take the mean energy of their members`,
    ],
    elements,
  };
  // One element per line keeps the committed file diff-friendly.
  const body = elements.map((e) => '    ' + JSON.stringify(e)).join(',\n');
  const head = JSON.stringify({ ...file, elements: [] }, null, 2).replace(/"elements": \[\]\n}$/, '');
  writeFileSync(outFile, `${head}"elements": [\n${body}\n  ]\n}\n`);
  // Written (not copied) so the copy gets ordinary permissions even when the reference folder is read-only.
  writeFileSync(licenceOut, readFileSync(join(refDir, 'LICENSE')));
  const nLines = elements.reduce((s, e) => s + e.lines.length, 0);
  console.log(`wrote ${outFile}: ${elements.length} elements, ${nLines} lines; licence copied to ${licenceOut}`);
}

main();
