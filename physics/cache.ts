// A small bounded memo: datasets build thousands of nuisance variants, so cached responses must not grow
// without limit. Least-recently-used entries go first. Callers get copies, never the cached arrays.

export class ResponseCache {
  private readonly map = new Map<string, Float64Array>();
  constructor(private readonly capacity: number) {}

  get(key: string, build: () => Float64Array): Float64Array {
    let v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key); // re-insert: Map keeps insertion order, so this marks it most recent
      this.map.set(key, v);
    } else {
      v = build();
      this.map.set(key, v);
      if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
    }
    return v.slice();
  }

  clear(): void {
    this.map.clear();
  }
}
