#!/usr/bin/env node
// Entry point of the gemxrf CLI. Runs the compiled code in dist/ (built by `npm install` through the
// `prepare` script); falls back to the TypeScript sources through tsx when dist/ is missing (development).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'daemon', 'cli', 'main.js');
if (existsSync(compiled) && !process.env.GEMXRF_FROM_SOURCE) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'daemon', 'cli', 'main.ts')).href);
}
