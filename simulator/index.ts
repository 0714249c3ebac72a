// The simulator's public API: phantoms, event and strip-hit generators, synthetic datasets.
// (Device emulators that speak the wire formats live in simulator/emulators/.)
export * from './phantoms/index.js';
export { EventGenerator, type EventGeneratorOptions } from './generators/events.js';
export { HitGenerator, DEFAULT_STRIP_READOUT, type HitBatchWithTruth, type StripReadoutOptions } from './generators/hits.js';
export { smoothGainMap } from './generators/gain-map.js';
export { eventGeneratorFromConfig, eventGeneratorOptions, hitGeneratorFromConfig, type GeneratorConfig } from './generators/from-config.js';
export { adcToKeV, componentResponsesOnAdc, DEFAULT_ADC_CALIBRATION, responseOnAdc, type AdcCalibration } from './generators/adc-spectra.js';
export * from './dataset/index.js';
export { allocAliasTables, buildAliasRow, sampleAlias, aliasRowDistribution, packAliasTables, samplePacked, type AliasTables } from './alias.js';
