// The committed line table (tables/lines.json, built from xraylib by scripts/build-line-table.ts), loaded once.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { elementSymbol, elementZ } from './elements.js';
import { familyOf, type LineTableFile, type Shell, type TableElement } from './table-types.js';

export interface XrfLine {
  iupac: string;
  siegbahn: string;
  family: 'K' | 'L' | 'M';
  energyKeV: number;
  /** Within its family, strongest line = 1, when every subshell of the family is excited. */
  relIntensity: number;
}

export interface ElementData {
  z: number;
  symbol: string;
  atomicWeight: number;
  edges: Partial<Record<Shell, number>>;
  yields: Partial<Record<Shell, number>>;
  jumps: Partial<Record<Shell, number>>;
  lines: XrfLine[];
}

export const Z_MIN = 11;
export const Z_MAX = 92;

// Siegbahn names of the lines people look for; others keep their IUPAC name.
const SIEGBAHN: Record<string, string> = {
  KL3: 'Ka1', KL2: 'Ka2', KL1: 'Ka3', KM3: 'Kb1', KM2: 'Kb3', KM4: 'Kb5', KM5: 'Kb5', KN3: 'Kb2', KN2: 'Kb2', KN4: 'Kb4', KN5: 'Kb4',
  L3M5: 'La1', L3M4: 'La2', L2M4: 'Lb1', L3N5: 'Lb2', L3N4: 'Lb15', L1M3: 'Lb3', L1M2: 'Lb4', L3O45: 'Lb5', L3N1: 'Lb6',
  L3O1: 'Lb7', L1M5: 'Lb9', L1M4: 'Lb10', L2M3: 'Lb17', L2N4: 'Lg1', L1N2: 'Lg2', L1N3: 'Lg3', L1O3: 'Lg4', L2N1: 'Lg5',
  L2O4: 'Lg6', L2N6: 'Lv', L3M1: 'Ll', L2M1: 'Ln', L3M3: 'Ls', L3M2: 'Lt', L3N67: 'Lu', L3N6: 'Lu', L3N7: 'Lu',
  M5N7: 'Ma1', M5N6: 'Ma2', M4N6: 'Mb', M3N5: 'Mg', M5N3: 'Mz1', M4N2: 'Mz2', M3N1: 'Mg2', M2N4: 'M2N4', M3O1: 'M3O1',
};

export function siegbahnName(iupac: string): string {
  return SIEGBAHN[iupac] ?? iupac;
}

let table: Map<number, TableElement> | null = null;

function dataFile(): string {
  // Source tree: physics/tables/lines.json. Compiled tree (dist/physics/...): the same file two levels up.
  const candidates = [new URL('./tables/lines.json', import.meta.url), new URL('../../physics/tables/lines.json', import.meta.url)];
  for (const u of candidates) {
    const p = fileURLToPath(u);
    if (existsSync(p)) return p;
  }
  throw new Error('physics/tables/lines.json not found: run `npx tsx physics/scripts/build-line-table.ts`');
}

/** The raw table entry of an element (Z 11..92). */
export function tableElement(symbolOrZ: string | number): TableElement {
  if (table === null) {
    const file = JSON.parse(readFileSync(dataFile(), 'utf8')) as LineTableFile;
    table = new Map(file.elements.map((e) => [e.z, e]));
  }
  const z = typeof symbolOrZ === 'number' ? symbolOrZ : elementZ(symbolOrZ);
  const el = table.get(z);
  if (el === undefined) throw new Error(`no line data for ${elementSymbol(z)} (Z=${z}): the table covers Z ${Z_MIN}..${Z_MAX}`);
  return el;
}

const lineCache = new Map<number, XrfLine[]>();

/** An element's K, L and M lines (energies keV, relative intensity within family), strongest first per family. */
export function linesOf(symbolOrZ: string | number): XrfLine[] {
  const el = tableElement(symbolOrZ);
  let lines = lineCache.get(el.z);
  if (lines === undefined) {
    lines = el.lines.map(([iupac, energyKeV, , relIntensity]) => ({
      iupac, siegbahn: siegbahnName(iupac), family: familyOf(iupac), energyKeV, relIntensity,
    }));
    lineCache.set(el.z, lines);
  }
  return lines.map((l) => ({ ...l }));
}

/** Everything the table knows about an element: edges, yields, jump ratios, lines. */
export function elementData(symbolOrZ: string | number): ElementData {
  const el = tableElement(symbolOrZ);
  return { z: el.z, symbol: el.symbol, atomicWeight: el.atomicWeight, edges: { ...el.edges }, yields: { ...el.yields }, jumps: { ...el.jumps }, lines: linesOf(el.z) };
}
