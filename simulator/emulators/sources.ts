// Paced sources over the simulator's generators: detector events (EventGenerator) or strip hits
// (HitGenerator), deterministic by seed.
import type { EventBatch, HitBatch } from '../../drivers/batches.js';
import { EventGenerator, type EventGeneratorOptions } from '../generators/events.js';
import { HitGenerator, type StripReadoutOptions } from '../generators/hits.js';
import type { PacedSource } from './paced-source.js';

export interface SourceOptions {
  level: 'events' | 'hits';
  phantom: string;
  /** Events per second (hits level: events per second too; each event makes several strip hits). */
  rate: number;
  seed: number;
  width?: number;
  height?: number;
  adcBits?: number;
  stripsPerPlane?: number;
}

export function createPacedSource(o: SourceOptions): PacedSource {
  const gen: EventGeneratorOptions = {
    phantom: o.phantom,
    ratePerSecond: o.rate,
    seed: o.seed,
    ...(o.width !== undefined ? { width: o.width } : {}),
    ...(o.height !== undefined ? { height: o.height } : {}),
    ...(o.adcBits !== undefined ? { adcBits: o.adcBits } : {}),
  };
  if (o.level === 'events') {
    const g = new EventGenerator(gen);
    const src: PacedSource<EventBatch> = {
      level: 'events',
      generate: (durationNs, maxRecords) => g.generate(durationNs, undefined, Math.max(0, maxRecords)),
      setRate: (r) => g.setRate(r),
    };
    return src;
  }
  const readout: StripReadoutOptions = o.stripsPerPlane !== undefined ? { stripsPerPlane: o.stripsPerPlane } : {};
  const h = new HitGenerator({ ...gen, readout });
  const src: PacedSource<HitBatch> = {
    level: 'hits',
    // The hit generator has no record cap: a tick's hits all come at once (a late tick makes a bigger batch).
    generate: (durationNs) => h.generate(durationNs).hits,
    setRate: (r) => h.events.setRate(r),
  };
  return src;
}
