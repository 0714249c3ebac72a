// Event formation as an RxJS operator: one EventBatch out per HitBatch in (skipped when nothing was released),
// and the clusters still pending are flushed when the source completes.
import { defer, Observable, type OperatorFunction } from 'rxjs';
import type { EventBatch, HitBatch } from '../../drivers/batches.js';
import type { FormationConfig } from '../../config/schema.js';
import { EventFormer, type FormationDetector } from './event-former.js';

/** Uses the given former (so its counters can be sampled by the stats stage). */
export function formEventsWith(former: EventFormer): OperatorFunction<HitBatch, EventBatch> {
  return (source) =>
    new Observable<EventBatch>((sub) =>
      source.subscribe({
        next: (batch) => {
          const events = former.push(batch);
          if (events.n > 0) sub.next(events);
        },
        error: (e) => sub.error(e),
        complete: () => {
          const events = former.flush();
          if (events.n > 0) sub.next(events);
          sub.complete();
        },
      }),
    );
}

/** A fresh EventFormer per subscription. */
export function formEvents(params: FormationConfig, detector: FormationDetector): OperatorFunction<HitBatch, EventBatch> {
  return (source) => defer(() => formEventsWith(new EventFormer(params, detector))(source));
}
