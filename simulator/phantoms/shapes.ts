// Soft-edged shapes on the unit square for the built-in phantoms. Each returns a coverage in [0, 1] at a
// point: 1 inside, 0 outside, a linear ramp across the edge (width `soft`, in unit-square units) so that
// neighbouring paint layers mix at their borders as brush strokes do.

export type Shape = (u: number, v: number) => number;

function ramp(signedDistance: number, soft: number): number {
  // signedDistance < 0 inside. Coverage 0.5 on the nominal edge.
  const c = 0.5 - signedDistance / soft;
  return c <= 0 ? 0 : c >= 1 ? 1 : c;
}

export function disk(cu: number, cv: number, r: number, soft: number): Shape {
  return (u, v) => ramp(Math.hypot(u - cu, v - cv) - r, soft);
}

export function ellipse(cu: number, cv: number, ru: number, rv: number, soft: number): Shape {
  // Distance approximated by scaling to the unit circle and back with the mean radius: fine for soft edges.
  const rm = (ru + rv) / 2;
  return (u, v) => ramp((Math.hypot((u - cu) / ru, (v - cv) / rv) - 1) * rm, soft);
}

export function rect(u0: number, v0: number, u1: number, v1: number, soft: number): Shape {
  return (u, v) => {
    const du = Math.max(u0 - u, u - u1);
    const dv = Math.max(v0 - v, v - v1);
    const outside = Math.hypot(Math.max(du, 0), Math.max(dv, 0));
    const inside = Math.min(Math.max(du, dv), 0);
    return ramp(outside + inside, soft);
  };
}

/** Convex polygon, vertices counter-clockwise or clockwise (orientation detected). */
export function polygon(points: ReadonlyArray<readonly [number, number]>, soft: number): Shape {
  if (points.length < 3) throw new Error('polygon needs at least 3 points');
  let area = 0;
  for (let i = 0; i < points.length; i++) {
    const [a, b] = points[i]!;
    const [c, d] = points[(i + 1) % points.length]!;
    area += a * d - b * c;
  }
  const sign = area > 0 ? 1 : -1;
  return (u, v) => {
    // Signed distance to a convex polygon: max over edges of the distance to the edge's line.
    let d = -Infinity;
    for (let i = 0; i < points.length; i++) {
      const [a, b] = points[i]!;
      const [c, e] = points[(i + 1) % points.length]!;
      const len = Math.hypot(c - a, e - b);
      const dist = (sign * ((u - a) * (e - b) - (v - b) * (c - a))) / len;
      if (dist > d) d = dist;
    }
    return ramp(d, soft);
  };
}

/** A band between two wavy horizontal lines (landscape strata, sky). */
export function band(vTop: (u: number) => number, vBottom: (u: number) => number, soft: number): Shape {
  return (u, v) => ramp(Math.max(vTop(u) - v, v - vBottom(u)), soft);
}

export const union = (...shapes: Shape[]): Shape => (u, v) => {
  let m = 0;
  for (const s of shapes) m = Math.max(m, s(u, v));
  return m;
};
