// Per-stage counters and rates, sampled on an interval as plain JSON objects (what MQTT `live/stats`, the web
// page and the CLI progress show). A stage is anything that can report its counters as numbers; the sampler
// reads them (cheap: a few object reads per stage), never subscribes to the batch streams themselves.
import { defer, interval, map, type Observable } from 'rxjs';

/** Something with counters: read() returns the current totals (monotonic counts, or gauges). */
export interface CounterSource {
  name: string;
  read(): object;
}

export interface StageSample {
  /** Numeric counters only (nested objects/arrays from a stage are left out; arrays of numbers are summed). */
  counters: Record<string, number>;
  /** Change per second of each counter since the previous sample (the first sample: since the start). */
  rates: Record<string, number>;
}

export interface StatsSample {
  /** ISO time of the sample. */
  time: string;
  /** Seconds since the sampler started. */
  elapsedS: number;
  /** Seconds since the previous sample. */
  intervalS: number;
  stages: Record<string, StageSample>;
}

function numeric(raw: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw) as Array<[string, unknown]>) {
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
    else if (typeof v === 'bigint') out[k] = Number(v);
    else if (Array.isArray(v) && v.every((x) => typeof x === 'number')) out[k] = (v as number[]).reduce((a, b) => a + b, 0);
  }
  return out;
}

/** Takes samples on demand: each call returns counters and rates since the previous call. */
export class StatsSampler {
  private readonly start: number;
  private last: number;
  private readonly previous = new Map<string, Record<string, number>>();

  constructor(private readonly sources: readonly CounterSource[], private readonly now: () => number = () => performance.now()) {
    this.start = this.last = now();
  }

  sample(): StatsSample {
    const t = this.now();
    const dt = (t - this.last) / 1000;
    this.last = t;
    const stages: Record<string, StageSample> = {};
    for (const s of this.sources) {
      const counters = numeric(s.read());
      const prev = this.previous.get(s.name) ?? {};
      const rates: Record<string, number> = {};
      for (const [k, v] of Object.entries(counters)) rates[k] = dt > 0 ? (v - (prev[k] ?? 0)) / dt : 0;
      this.previous.set(s.name, counters);
      stages[s.name] = { counters, rates };
    }
    return { time: new Date().toISOString(), elapsedS: (t - this.start) / 1000, intervalS: dt, stages };
  }
}

/** A sample every periodMs (cold: each subscription starts its own sampler, rates measured from then). */
export function sampleStats(sources: readonly CounterSource[], periodMs: number): Observable<StatsSample> {
  return defer(() => {
    const sampler = new StatsSampler(sources);
    return interval(periodMs).pipe(map(() => sampler.sample()));
  });
}
