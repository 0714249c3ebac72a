// Public API of model inference: the incremental engine (worker_thread), model selection, and the pieces
// (card, ONNX model, rebinning, scheduler) for offline use.
export {
  InferenceEngine, InferenceTimeoutError, probeModel, stuckInferenceWorkers, stuckInferenceWorkersEnded, DEFAULT_INFERENCE_TIMEOUT_MS,
  type InferenceEngineOptions, type InferenceStats, type ModelMaps, type CycleReport, type Tuning,
} from './engine.js';
export { listModels, findModel, type ModelInfo, type ModelListing } from './models.js';
export { ModelCardError, readModelCard, modelCardSchema, type ModelCard } from './model-card.js';
export { OnnxModel, resolveModelPaths, type ModelOutputs } from './onnx-model.js';
export { createRebinner, sameGrid, type Grid, type Rebinner } from './rebin.js';
export { Scheduler, type SchedulerOptions, type WorkList } from './scheduler.js';
export { SharedMaps, type SharedMapBuffers } from './shared-maps.js';
export { IncrementalRunner, type RunnerOptions } from './runner.js';
