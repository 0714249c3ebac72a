// Scan exports (npy, NeXus HDF5, PNG) for analysts: exportScan and its types.
export { exportScan } from './export-scan.js';
export { EXPORT_FORMATS, type ExportCube, type ExportFormat, type ExportInput, type ExportMapSet, type ExportMetadata, type ExportResult } from './types.js';
export { energyAxis, sumSpectrumOf, countMapOf } from './content.js';
export { writeNpyFile, npyHeaderFor } from './npy-writer.js';
