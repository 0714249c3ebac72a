// The cube stage as an RxJS operator: each EventBatch is histogrammed as it passes (one call per batch).
// The batch is passed on unchanged, so later stages (stats, a recorder of formed events) can still see it.
import { tap, type MonoTypeOperatorFunction } from 'rxjs';
import type { EventBatch } from '../../drivers/batches.js';
import type { Calibration } from '../calibration/calibration.js';
import type { Cube } from './cube.js';

export function fillCube(cube: Cube, calibration: Calibration): MonoTypeOperatorFunction<EventBatch> {
  return tap((batch: EventBatch) => {
    cube.addEvents(batch, calibration);
  });
}
