// Chi-square goodness of fit for the sampling tests: Pearson statistic and its upper-tail p-value.

/** ln Gamma(x), Lanczos (g = 7, 9 terms), |error| < 1e-13 for x > 0. */
function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularised upper incomplete gamma Q(a, x) (series below a+1, continued fraction above; Numerical Recipes). */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lead = -x + a * Math.log(x) - lnGamma(a);
  if (x < a + 1) {
    let sum = 1 / a, term = sum;
    for (let n = 1; n < 1000; n++) { term *= x / (a + n); sum += term; if (Math.abs(term) < Math.abs(sum) * 1e-15) break; }
    return 1 - sum * Math.exp(lead);
  }
  let b = x + 1 - a, c = 1e300, d = 1 / b, h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b; if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c; if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return Math.exp(lead) * h;
}

/** P(chi2_dof >= x). */
export function chiSquareSurvival(x: number, dof: number): number {
  return gammaQ(dof / 2, x / 2);
}

/** Pearson chi-square of independent Poisson counts against their known means; cells with mean < minExpected
 *  are pooled into one cell so the chi-square approximation holds. Nothing is fitted and the total is not
 *  fixed by the draw, so dof = number of cells. */
export function pearson(observed: ArrayLike<number>, expected: ArrayLike<number>, minExpected = 5): { chi2: number; dof: number; p: number } {
  let chi2 = 0, cells = 0, poolO = 0, poolE = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = expected[i]!;
    if (e < minExpected) { poolO += observed[i]!; poolE += e; continue; }
    chi2 += (observed[i]! - e) ** 2 / e;
    cells++;
  }
  if (poolE >= minExpected) { chi2 += (poolO - poolE) ** 2 / poolE; cells++; }
  const dof = Math.max(1, cells);
  return { chi2, dof, p: chiSquareSurvival(chi2, dof) };
}
