// Test helper: chi-square goodness of fit against expected counts.

/** Upper critical value of chi-square with `df` degrees of freedom at about p = 1e-4 (Wilson-Hilferty). */
export function chiSquareCritical(df: number, z = 3.72): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** Pearson chi-square of observed vs expected counts, pooling bins with expected < minExpected into one. */
export function chiSquare(observed: ArrayLike<number>, expected: ArrayLike<number>, minExpected = 5): { chi2: number; df: number } {
  let chi2 = 0;
  let bins = 0;
  let poolO = 0;
  let poolE = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = expected[i]!;
    if (e < minExpected) {
      poolO += observed[i]!;
      poolE += e;
      continue;
    }
    chi2 += (observed[i]! - e) ** 2 / e;
    bins++;
  }
  if (poolE > 0) {
    chi2 += (poolO - poolE) ** 2 / Math.max(poolE, 1e-9);
    bins++;
  }
  return { chi2, df: bins - 1 };
}
