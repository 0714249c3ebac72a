// Where the installed package's own files are (bin/gemxrf.js, the shipped models/), whether this module runs
// from the TypeScript sources (config/) or the compiled dist/config/: found by walking up to the folder that
// holds package.json and bin/gemxrf.js. Lets a daemon started from any working directory (a systemd unit,
// `npx gemxrf daemon` in /srv/xrf) find the shipped models.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root, or null when this module is not inside a gemxrf package tree. */
export function findPackageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'bin', 'gemxrf.js')) && existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return null;
}

/** The shipped models folder (absolute); 'models' (the working directory's) when the package root is unknown. */
export function shippedModelsDir(): string {
  const root = findPackageRoot();
  return root ? join(root, 'models') : 'models';
}
