// Historical pigments and the elements XRF sees in them: datasets draw mixtures as combinations of
// pigments (so elements co-occur as they do on paintings: Hg with S, Co with K/As/Ni, Pb with Sn or Sb...),
// topped up with random palette elements so every element also occurs outside its usual company.

export interface Pigment {
  name: string;
  /** Elements with their typical relative signal (the first one dominates). */
  elements: Record<string, number>;
}

export const PIGMENTS: readonly Pigment[] = [
  { name: 'lead white', elements: { Pb: 1 } },
  { name: 'minium', elements: { Pb: 1 } },
  { name: 'lead-tin yellow', elements: { Pb: 1, Sn: 0.3 } },
  { name: 'Naples yellow', elements: { Pb: 1, Sb: 0.3 } },
  { name: 'chrome yellow', elements: { Pb: 1, Cr: 0.4, S: 0.05 } },
  { name: 'chrome green', elements: { Cr: 1 } },
  { name: 'vermilion', elements: { Hg: 1, S: 0.1 } },
  { name: 'yellow ochre', elements: { Fe: 1, K: 0.05, Ca: 0.05 } },
  { name: 'umber', elements: { Fe: 1, Mn: 0.4 } },
  { name: 'smalt', elements: { Co: 1, K: 0.3, As: 0.1, Ni: 0.1 } },
  { name: 'cobalt blue', elements: { Co: 1 } },
  { name: 'azurite', elements: { Cu: 1 } },
  { name: 'verdigris', elements: { Cu: 1 } },
  { name: 'atacamite', elements: { Cu: 1, Cl: 0.2 } },
  { name: 'emerald green', elements: { Cu: 1, As: 0.6 } },
  { name: 'orpiment', elements: { As: 1, S: 0.2 } },
  { name: 'cadmium yellow', elements: { Cd: 1, S: 0.1 } },
  { name: 'cadmium red', elements: { Cd: 1, Se: 0.4, S: 0.05 } },
  { name: 'zinc white', elements: { Zn: 1 } },
  { name: 'titanium white', elements: { Ti: 1 } },
  { name: 'nickel titanate yellow', elements: { Ti: 1, Ni: 0.3, Sb: 0.2 } },
  { name: 'barium white', elements: { Ba: 1, S: 0.1 } },
  { name: 'strontium yellow', elements: { Sr: 1, Cr: 0.5 } },
  { name: 'chalk', elements: { Ca: 1 } },
  { name: 'gypsum', elements: { Ca: 1, S: 0.3 } },
  { name: 'bone black', elements: { Ca: 1 } },
  { name: 'vanadium pigment', elements: { V: 1 } },
  { name: 'silver leaf', elements: { Ag: 1 } },
  { name: 'gold leaf', elements: { Au: 1, Ag: 0.1 } },
];
