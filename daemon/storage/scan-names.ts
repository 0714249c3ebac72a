// Scan names and ids: what an operator types never becomes a path unchecked. A name is validated (no path
// separators, no '..', no control characters), the id is built from a sanitised copy, and every scan folder
// is resolved and checked to lie inside <dataDir>/scans.
import { resolve, sep } from 'node:path';

// Combining marks (\p{M}) may follow: a decomposed accented letter (NFD, as macOS sends it) is still a letter.
const NAME_RE = /^[\p{L}\p{N}][\p{L}\p{M}\p{N} _.,()+#-]{0,79}$/u;

/** Why a name is refused, or null when it is fine. */
export function scanNameProblem(name: string): string | null {
  if (name.length === 0) return 'name is empty';
  if (name.length > 80) return `name is longer than 80 characters (${name.length})`;
  if (/[/\\]/.test(name)) return `name must not contain '/' or '\\' (got ${JSON.stringify(name)})`;
  if (name.includes('..')) return `name must not contain '..' (got ${JSON.stringify(name)})`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'name must not contain control characters';
  if (!NAME_RE.test(name)) return `name must start with a letter or digit and use letters, digits, space and _ . , ( ) + # - only (got ${JSON.stringify(name)})`;
  return null;
}

/** Letters, digits, '-' and '_' only: safe in a file name on every platform. */
export function sanitizeForId(name: string): string {
  // NFKD splits accented letters into letter + combining mark; the marks are dropped (Röntgen -> Rontgen).
  const s = name.normalize('NFKD').replace(/\p{M}+/gu, '').replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '');
  return (s || 'scan').slice(0, 48);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** YYYYMMDD-HHMMSS-<name> in UTC. */
export function makeScanId(name: string, at: Date): string {
  const d = `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}`;
  const t = `${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
  return `${d}-${t}-${sanitizeForId(name)}`;
}

export const SCAN_ID_RE = /^\d{8}-\d{6}-[A-Za-z0-9_-]{1,56}$/;

/** The folder of a scan, refusing anything that is not a well-formed id inside <dataDir>/scans. */
export function scanDir(dataDir: string, id: string): string {
  if (!SCAN_ID_RE.test(id)) throw new Error(`not a scan id: ${JSON.stringify(id)}`);
  const root = resolve(dataDir, 'scans');
  const dir = resolve(root, id);
  if (!dir.startsWith(root + sep)) throw new Error(`scan id ${JSON.stringify(id)} escapes the data directory`);
  return dir;
}
