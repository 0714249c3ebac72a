// Public API of the classical map methods (roi, fit) and the map types shared with the model maps.
export { createMapSet, elementMap, checkCube, type MapMethod, type MapSet, type SpectralCube, type CountArray } from './types.js';
export { mainLineGroups, type LineGroup, type MainLineOptions } from './lines.js';
export { planRoi, roiCounts, roiFractions, roiMaps, type RoiOptions, type RoiPlan, type RoiWindow } from './roi.js';
export { buildComponents, type ComponentOptions, type FitComponents, type Substrate } from './components.js';
export { NnlsSolver } from './nnls.js';
export { LinearFitter, type CubeFit, type FitOptions, type SpectrumFit } from './fit.js';
export { buildMaps, cubeGrid, type BuildMapsOptions, type BuiltMaps, type ClassicalMethod } from './build.js';
export { pearson } from './compare.js';
export { cubeFromRecording, forEachRecordedEvent, recordingConfig, type RecordingEventsResult } from './recording-cube.js';
export { MapThread, MapThreadStopped, type MapThreadOptions, type MapThreadResult } from './map-thread.js';
