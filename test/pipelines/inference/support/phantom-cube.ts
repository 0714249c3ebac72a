// A cube filled from the simulator's phantom-painting, as the live pipeline would fill it (generator ->
// calibration -> cube.addEvents), in steps so tests can grow the counts between inference cycles.
import { configSchema } from '../../../../config/schema.js';
import { Calibration } from '../../../../pipelines/calibration/calibration.js';
import { Cube } from '../../../../pipelines/cube/cube.js';
import { EventGenerator } from '../../../../simulator/generators/events.js';

export interface PhantomFill {
  cube: Cube;
  gen: EventGenerator;
  /** Adds n more events to the cube. */
  add(n: number): void;
}

export function phantomCube(width: number, height: number, seed = 7): PhantomFill {
  const config = configSchema.parse({ detector: { width, height } });
  const cube = Cube.fromConfig(config);
  const cal = new Calibration(config);
  const gen = new EventGenerator({ phantom: 'phantom-painting', width, height, ratePerSecond: 1e6, seed });
  return {
    cube,
    gen,
    add(n: number) {
      for (let done = 0; done < n; ) {
        const k = Math.min(50_000, n - done);
        cube.addEvents(gen.next(k), cal);
        done += k;
      }
    },
  };
}
