// Element symbols and atomic numbers, and the pigment palette the datasets and models use.

/** The dataset/model palette, in this order (index = output channel of the models). */
export const PIGMENT_ELEMENTS: readonly string[] = Object.freeze([
  'S', 'Cl', 'K', 'Ca', 'Ti', 'V', 'Cr', 'Mn', 'Fe', 'Co', 'Ni', 'Cu', 'Zn', 'As', 'Se', 'Sr', 'Ag', 'Cd', 'Sn', 'Sb', 'Ba', 'Au', 'Hg', 'Pb',
]);

const SYMBOLS: readonly string[] = [
  '', 'H', 'He', 'Li', 'Be', 'B', 'C', 'N', 'O', 'F', 'Ne', 'Na', 'Mg', 'Al', 'Si', 'P', 'S', 'Cl', 'Ar', 'K', 'Ca', 'Sc', 'Ti', 'V', 'Cr', 'Mn',
  'Fe', 'Co', 'Ni', 'Cu', 'Zn', 'Ga', 'Ge', 'As', 'Se', 'Br', 'Kr', 'Rb', 'Sr', 'Y', 'Zr', 'Nb', 'Mo', 'Tc', 'Ru', 'Rh', 'Pd', 'Ag', 'Cd',
  'In', 'Sn', 'Sb', 'Te', 'I', 'Xe', 'Cs', 'Ba', 'La', 'Ce', 'Pr', 'Nd', 'Pm', 'Sm', 'Eu', 'Gd', 'Tb', 'Dy', 'Ho', 'Er', 'Tm', 'Yb', 'Lu',
  'Hf', 'Ta', 'W', 'Re', 'Os', 'Ir', 'Pt', 'Au', 'Hg', 'Tl', 'Pb', 'Bi', 'Po', 'At', 'Rn', 'Fr', 'Ra', 'Ac', 'Th', 'Pa', 'U',
];

const BY_LOWER = new Map(SYMBOLS.map((s, z) => [s.toLowerCase(), z]));

/** Atomic number of an element symbol, case-insensitive ('fe', 'FE', 'Fe'). */
export function elementZ(symbol: string): number {
  const z = typeof symbol === 'string' ? BY_LOWER.get(symbol.trim().toLowerCase()) : undefined;
  if (z === undefined || z === 0) throw new Error(`unknown element '${symbol}'`);
  return z;
}

/** Canonical symbol of an atomic number 1..92. */
export function elementSymbol(z: number): string {
  if (!Number.isInteger(z) || z < 1 || z >= SYMBOLS.length) throw new Error(`unknown element Z=${z} (expected an integer 1..${SYMBOLS.length - 1})`);
  return SYMBOLS[z]!;
}

/** Canonical spelling of a symbol given in any case ('fe' -> 'Fe'). */
export function canonicalSymbol(symbol: string): string {
  return elementSymbol(elementZ(symbol));
}
