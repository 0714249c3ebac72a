// physics/: line table, GEM detector response, spectrum synthesis — shared by the simulator, the datasets
// and the classical fit. Everything is in keV. Details and approximations: docs/physics.md.
export { PIGMENT_ELEMENTS, elementZ, elementSymbol, canonicalSymbol } from './elements.js';
export { linesOf, elementData, siegbahnName, Z_MIN, Z_MAX, type XrfLine, type ElementData } from './line-table.js';
export { binWidth, binCenters, validateGrid, DEFAULT_GRID, type EnergyGrid } from './grid.js';
export {
  DEFAULT_DETECTOR, ARGON, GAS_MODEL, fwhmKeV, detectionEfficiency, gasAbsorption, windowTransmission, escapeProbability,
  validateDetector, type DetectorParams,
} from './detector.js';
export { DEFAULT_TUBE, TUBE_ANODES, tubeSpectrum, type TubeParams, type TubeAnode } from './tube.js';
export { excitedLines, familyShares, type ExcitedLine } from './excitation.js';
export { elementResponse, detectorLinesResponse, clearResponseCache } from './response.js';
export { backgroundResponse, DEFAULT_BACKGROUND, SUBSTRATES, validateBackground, type BackgroundParams, type Substrate } from './background.js';
export { synthesize, applyPileup, type Mixture, type Synthesized } from './synthesize.js';
export { createRng, type Rng } from './random.js';
