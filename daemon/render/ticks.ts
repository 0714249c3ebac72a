// Axis tick positions and labels: "nice" linear steps (1, 2, 5 × 10^k) and logarithmic decades.

export interface Tick {
  value: number;
  label: string;
}

/** The nice step (1, 2, 2.5 or 5 × 10^k) that cuts [min, max] into the number of intervals closest to
 * `target` (ties go to the larger step: fewer, roomier labels). */
export function niceStep(min: number, max: number, target = 5): number {
  const span = Math.abs(max - min);
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const want = Math.max(1, target);
  const magnitude = 10 ** Math.floor(Math.log10(span / want));
  let best = magnitude;
  let bestMiss = Infinity;
  for (const m of [1, 2, 2.5, 5, 10]) {
    const miss = Math.abs(span / (m * magnitude) - want);
    if (miss <= bestMiss) {
      best = m * magnitude;
      bestMiss = miss;
    }
  }
  return best;
}

/** Ticks at multiples of a nice step inside [min, max] (inclusive, with float slack). */
export function linearTicks(min: number, max: number, target = 5): Tick[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (!(max > min)) return [{ value: min, label: formatNumber(min, Math.abs(min) || 1) }];
  const step = niceStep(min, max, target);
  const eps = step * 1e-9;
  const ticks: Tick[] = [];
  for (let k = Math.ceil((min - eps) / step); k * step <= max + eps; k++) {
    const value = Math.abs(k * step) < eps ? 0 : k * step;
    ticks.push({ value, label: formatNumber(value, step) });
  }
  return ticks;
}

/** Decade ticks (10^k) inside [min, max], min > 0. */
export function logTicks(min: number, max: number): Tick[] {
  if (!(min > 0) || !(max > min) || !Number.isFinite(max)) return [];
  const ticks: Tick[] = [];
  for (let k = Math.ceil(Math.log10(min) - 1e-9); 10 ** k <= max * (1 + 1e-9); k++) {
    const value = 10 ** k;
    ticks.push({ value, label: formatNumber(value, value) });
  }
  return ticks;
}

/** Unlabelled minor ticks 2..9 × 10^k inside [min, max] for a log axis. */
export function logMinorTicks(min: number, max: number): number[] {
  if (!(min > 0) || !(max > min) || !Number.isFinite(max)) return [];
  const out: number[] = [];
  for (let k = Math.floor(Math.log10(min)); 10 ** k <= max; k++) {
    for (let m = 2; m <= 9; m++) {
      const v = m * 10 ** k;
      if (v >= min && v <= max) out.push(v);
    }
  }
  return out;
}

/**
 * A short label for an axis value, with as many decimals as the tick step needs. Values of 10 000 and
 * up are written with k / M / G suffixes so count axes stay narrow; tiny values use exponent form.
 */
export function formatNumber(value: number, step: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e4) {
    const [div, suffix] = abs >= 1e9 ? [1e9, 'G'] : abs >= 1e6 ? [1e6, 'M'] : [1e3, 'k'];
    const scaledStep = Math.abs(step) / div;
    const decimals = Math.min(3, Math.max(0, decimalsFor(scaledStep)));
    return `${trimZeros((value / div).toFixed(decimals))}${suffix}`;
  }
  if (abs < 1e-3) return value.toExponential(decimalsFor(step / 10 ** Math.floor(Math.log10(abs))) > 0 ? 1 : 0);
  const decimals = Math.min(6, Math.max(0, decimalsFor(Math.abs(step))));
  return value.toFixed(decimals);
}

/** Decimals needed to write multiples of `step` exactly (2.5 -> 1, 0.25 -> 2, 5 -> 0). */
function decimalsFor(step: number): number {
  if (!(step > 0) || !Number.isFinite(step)) return 0;
  for (let d = 0; d < 8; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) return d;
  }
  return 8;
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}
