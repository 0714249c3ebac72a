// Starts the TypeScript emulator worker under tsx when running from source (Node 20 does not apply
// `--import tsx` to a worker's entry module). workerData.entry: the .ts file URL.
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.entry, import.meta.url);
