// Generators set up from the daemon configuration: phantom, rate and seed from `simulator`, image grid,
// ADC bits and strips from `detector`, ADC -> keV from `calibration` (the simulated detector is then
// exactly calibrated by the configured calibration; pass `calibration` overrides to simulate a mismatch).
import type { GemxrfConfig } from '../../config/index.js';
import { EventGenerator, type EventGeneratorOptions } from './events.js';
import { HitGenerator, type StripReadoutOptions } from './hits.js';

export type GeneratorConfig = Pick<GemxrfConfig, 'simulator' | 'detector' | 'calibration'>;

export function eventGeneratorOptions(cfg: GeneratorConfig, overrides: Partial<EventGeneratorOptions> = {}): EventGeneratorOptions {
  return {
    phantom: cfg.simulator.phantom,
    ratePerSecond: cfg.simulator.rate,
    seed: cfg.simulator.seed,
    width: cfg.detector.width,
    height: cfg.detector.height,
    adcBits: cfg.detector.adcBits,
    calibration: {
      gainKeVPerAdc: cfg.calibration.gainKeVPerAdc,
      offsetKeV: cfg.calibration.offsetKeV,
      quadraticKeVPerAdc2: cfg.calibration.quadraticKeVPerAdc2,
    },
    ...overrides,
  };
}

export function eventGeneratorFromConfig(cfg: GeneratorConfig, overrides: Partial<EventGeneratorOptions> = {}): EventGenerator {
  return new EventGenerator(eventGeneratorOptions(cfg, overrides));
}

export function hitGeneratorFromConfig(
  cfg: GeneratorConfig,
  overrides: Partial<EventGeneratorOptions> & { readout?: StripReadoutOptions } = {},
): HitGenerator {
  const { readout, ...rest } = overrides;
  return new HitGenerator({ ...eventGeneratorOptions(cfg, rest), readout: { stripsPerPlane: cfg.detector.stripsPerPlane, ...readout } });
}
