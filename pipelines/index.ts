// Public surface of the acquisition stages (maps and inference have their own index files).
export { Calibration, ADC_RANGE, type CalibrationInput } from './calibration/calibration.js';
export { readGainMap, writeGainMap, GainMapError } from './calibration/gain-map.js';
export { Cube, META, type CubeDims, type CubeCounters, type SharedCube } from './cube/cube.js';
export { fillCube } from './cube/fill-cube.js';
export { saveSnapshot, saveSnapshotAsync, loadSnapshot, restoreSnapshotInto, readSnapshotHeader, SnapshotError, type SnapshotHeader } from './cube/snapshot.js';
export { EventFormer, type FormationCounters, type FormationDetector, type EventFormerOptions } from './formation/event-former.js';
export { formEvents, formEventsWith } from './formation/form-events.js';
export { StatsSampler, sampleStats, type CounterSource, type StatsSample, type StageSample } from './stats/stats.js';
export { assemblePipeline, eventsFromItems, type AssembleOptions, type AssembledPipeline, type PipelineCounters, type PipelineSummary, type WireFormat } from './assemble.js';
export { FrameEvents, type FrameEventsConfig } from './frame-events.js';
export { FrameSink } from './frame-sink.js';
