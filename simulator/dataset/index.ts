// Synthetic spectrum datasets for training and evaluating the models (gemxrf dataset, gemxrf eval).
export { blockResponses, datasetRecipe, generateBlock, mixExpected, type BlockResponses, generateDataset, generateDatasetArrays, type DatasetBlock, type DatasetOptions, type DatasetRecipe } from './generate.js';
export { DATASET_SHIFTS, drawNuisance, nuisanceRanges, type DatasetShift, type Nuisance, type NuisanceRanges } from './nuisance.js';
export { npyHeader, NpyWriter, parseNpy, readNpy, writeNpy, type NpyArray, type NpyDtype, type NpyFile } from './npy.js';
export { PIGMENTS, type Pigment } from './palette.js';
export { DATASET_FILES, writeDataset, type DatasetMeta } from './write.js';
