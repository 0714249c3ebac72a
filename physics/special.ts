// Special functions used by the detector response and the Poisson sampler.

/** Complementary error function with fractional error below 1.2e-7 everywhere
 *  (Chebyshev fit, Numerical Recipes 6.2). Relative accuracy in the tails keeps
 *  far-tail bin integrals positive and meaningful. */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 2 / (2 + z);
  const ans =
    t *
    Math.exp(
      -z * z - 1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
        t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? ans : 2 - ans;
}

export function erf(x: number): number {
  return 1 - erfc(x);
}

/** Probability mass of a normal N(mu, sigma) inside [a, b), computed without cancellation in the tails. */
export function normalMass(a: number, b: number, mu: number, sigma: number): number {
  const k = 1 / (Math.SQRT2 * sigma);
  const za = (a - mu) * k;
  const zb = (b - mu) * k;
  if (za >= 0) return 0.5 * (erfc(za) - erfc(zb));
  if (zb <= 0) return 0.5 * (erfc(-zb) - erfc(-za));
  return 1 - 0.5 * (erfc(-za) + erfc(zb));
}

const LN_FACTORIAL_TABLE: Float64Array = (() => {
  const t = new Float64Array(256);
  for (let k = 1; k < t.length; k++) t[k] = t[k - 1]! + Math.log(k);
  return t;
})();

/** ln(k!) for integer k >= 0: table below 256, Stirling series above (error < 1e-12 there). */
export function lnFactorial(k: number): number {
  if (k < 256) return LN_FACTORIAL_TABLE[k]!;
  const x = k + 1;
  const ix = 1 / x;
  const ix2 = ix * ix;
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + ix * (1 / 12 - ix2 * (1 / 360 - ix2 / 1260));
}

/** erfc(z) for z >= 0, with exactly erfc's arithmetic (bit-identical to erfc(z) there, and erfc(-z) is
 *  2 - erfcNonNegative(z)). Lets callers that evaluate erfc at a shared point for several intervals (the
 *  strip boundaries of a charge cloud) compute the exponential once; see erfcFromNonNegative. */
export function erfcNonNegative(z: number): number {
  const t = 2 / (2 + z);
  return (
    t *
    Math.exp(
      -z * z - 1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
        t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    )
  );
}

/** erfc(x) given e = erfcNonNegative(|x|): bit-identical to erfc(x). */
export function erfcFromNonNegative(x: number, e: number): number {
  return x >= 0 ? e : 2 - e;
}
