// Batches are the unit of every stream in gemxrf: struct-of-arrays typed arrays, one batch per frame or
// per read, never one stream emission per event (RxJS costs ~100 ns per emission).

/** Formed events: a photon at pixel (x, y) with raw ADC charge at time t (ns since scan start). */
export interface EventBatch {
  readonly kind: 'events';
  n: number;
  x: Uint16Array;
  y: Uint16Array;
  adc: Uint16Array;
  t: Float64Array;
}

/** Raw strip hits from the strip readout: plane 0 = X strips, plane 1 = Y strips. */
export interface HitBatch {
  readonly kind: 'hits';
  n: number;
  plane: Uint8Array;
  strip: Uint16Array;
  adc: Uint16Array;
  t: Float64Array;
}

export function allocEventBatch(capacity: number): EventBatch {
  return {
    kind: 'events',
    n: 0,
    x: new Uint16Array(capacity),
    y: new Uint16Array(capacity),
    adc: new Uint16Array(capacity),
    t: new Float64Array(capacity),
  };
}

export function allocHitBatch(capacity: number): HitBatch {
  return {
    kind: 'hits',
    n: 0,
    plane: new Uint8Array(capacity),
    strip: new Uint16Array(capacity),
    adc: new Uint16Array(capacity),
    t: new Float64Array(capacity),
  };
}

/** A view of the first n entries (no copy): what a consumer that keeps a batch should hold on to. */
export function trimEventBatch(b: EventBatch): EventBatch {
  return { kind: 'events', n: b.n, x: b.x.subarray(0, b.n), y: b.y.subarray(0, b.n), adc: b.adc.subarray(0, b.n), t: b.t.subarray(0, b.n) };
}

export function trimHitBatch(b: HitBatch): HitBatch {
  return { kind: 'hits', n: b.n, plane: b.plane.subarray(0, b.n), strip: b.strip.subarray(0, b.n), adc: b.adc.subarray(0, b.n), t: b.t.subarray(0, b.n) };
}
