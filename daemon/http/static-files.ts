// The built page (web/dist, made by `npm run build:web`): a file lookup that never leaves the folder, and
// content types for what Vite emits. Hashed files under assets/ are cached for good; index.html never is,
// so a rebuilt page is picked up on reload.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** web/dist from the source tree (daemon/http) or the compiled one (dist/daemon/http). */
export function defaultWebRoot(): string {
  const candidates = [new URL('../../web/dist', import.meta.url), new URL('../../../web/dist', import.meta.url)].map((u) => fileURLToPath(u));
  return candidates.find((p) => existsSync(resolve(p, 'index.html'))) ?? candidates[0]!;
}

export interface StaticFile {
  body: Buffer;
  headers: Record<string, string>;
}

/** The file for a URL path ('/' is index.html), or null when there is none inside root. */
export function staticFile(root: string, urlPath: string): StaticFile | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.split('/').some((s) => s === '..')) return null;
  const rel = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
  if (!existsSync(root)) return null;
  const base = realpathSync(root);
  const p = resolve(base, rel);
  if (!p.startsWith(base + sep) || !existsSync(p)) return null;
  const real = realpathSync(p);
  if (!real.startsWith(base + sep) || !statSync(real).isFile()) return null;
  const immutable = rel.startsWith('assets/');
  return {
    body: readFileSync(real),
    headers: {
      'content-type': TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream',
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
    },
  };
}
