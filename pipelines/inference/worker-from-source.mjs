// Entry of the inference worker when gemxrf runs from TypeScript sources (tsx): Node 20 does not apply
// `--import tsx` loader hooks to a worker's entry module, so this plain-JS entry imports worker.ts through
// tsx's API. Compiled builds (dist/) start worker.js directly and never use this file.
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.entry, import.meta.url);
