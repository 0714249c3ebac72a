// Downloads of a scan's files (<dataDir>/scans/<id>/: raw.gemx, cube.ckpt, export/...): a listing and
// the files themselves. Nothing outside the scan folder is reachable: the id must be a scan id, every path
// segment a plain file name, and the real path (symlinks resolved) must stay inside the folder.
import { closeSync, createReadStream, existsSync, fstatSync, openSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { ServerResponse } from 'node:http';
import { scanDir } from '../storage/scan-names.js';

export interface ScanFile {
  /** Relative to the scan folder, '/'-separated. */
  path: string;
  size: number;
  modified: string;
}

const SEGMENT_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
// <scan>/export/png/<method>/<El>.png (request/scan/export's per-element PNGs) is four levels down.
const MAX_DEPTH = 4;

export class FileRequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function folderOf(dataDir: string, id: string): string {
  let dir: string;
  try {
    dir = scanDir(dataDir, id);
  } catch (e) {
    throw new FileRequestError(400, (e as Error).message);
  }
  if (!existsSync(dir)) throw new FileRequestError(404, `no scan folder for ${id}`);
  return dir;
}

/** Regular files of a scan folder, up to four levels deep, sorted by path; dot files left out. */
export function listScanFiles(dataDir: string, id: string): ScanFile[] {
  const root = folderOf(dataDir, id);
  const out: ScanFile[] = [];
  const walk = (dir: string, depth: number) => {
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      // .tmp files are being written (checkpoints are written to a temp name, then renamed).
      if (!SEGMENT_RE.test(ent.name) || ent.name.endsWith('.tmp')) continue;
      const p = join(dir, ent.name);
      if (ent.isDirectory() && depth < MAX_DEPTH) walk(p, depth + 1);
      else if (ent.isFile()) {
        const st = statSync(p);
        out.push({ path: relative(root, p).split(sep).join('/'), size: st.size, modified: st.mtime.toISOString() });
      }
    }
  };
  walk(root, 1);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** The absolute path of one file of a scan, or a FileRequestError (400 bad path, 404 missing). */
export function scanFilePath(dataDir: string, id: string, relPath: string): string {
  const root = folderOf(dataDir, id);
  const segments = relPath.split('/');
  if (segments.length > MAX_DEPTH || !segments.every((s) => SEGMENT_RE.test(s) && s !== '.' && s !== '..'))
    throw new FileRequestError(400, `bad file path ${JSON.stringify(relPath)}`);
  const p = resolve(root, ...segments);
  if (!existsSync(p)) throw new FileRequestError(404, `no file ${relPath} in scan ${id}`);
  const real = realpathSync(p);
  if (!real.startsWith(realpathSync(root) + sep) || !statSync(real).isFile()) throw new FileRequestError(404, `no file ${relPath} in scan ${id}`);
  return real;
}

/** The byte range a `Range` header asks for in a file of `size` bytes: one range (`bytes=a-b`, `bytes=a-`,
 *  `bytes=-n`) as inclusive offsets, 'unsatisfiable' when it starts past the end, or null to send the whole
 *  file (no header, another unit, several ranges, or a malformed one: RFC 9110 lets a server ignore those). */
export function parseByteRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return null; // a-b with b < a is invalid: ignore it
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** Streams a file as a download (attachment, named after its last segment). The file is opened first and
 *  exactly the bytes it held then are sent: raw.gemx grows while a scan runs and checkpoints are replaced
 *  by rename, and a body longer or shorter than content-length would break the connection. A single byte
 *  range (`Range: bytes=a-`) is served as 206 so that an interrupted download of a large recording or export
 *  resumes where it stopped. A recording only grows, so its resumed download stays valid; a file replaced
 *  whole (checkpoint, export) is only safe to resume with If-Range, which the ETag serves. */
export function sendDownload(res: ServerResponse, file: string, name: string, head: boolean, rangeHeader?: string, ifRange?: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    // Gone since scanFilePath found it (a temp file renamed away): a 404, not an internal error.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new FileRequestError(404, `no file ${name}`);
    throw e;
  }
  let size: number;
  let etag: string;
  try {
    const st = fstatSync(fd);
    size = st.size;
    // Names this version of the file: checkpoints and exports are replaced by rename (new inode), a recording
    // grows (new size). A client that resumes with If-Range gets the rest only of the version it started.
    etag = `"${st.ino.toString(16)}-${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  const headers = {
    'content-type': 'application/octet-stream',
    'content-disposition': `attachment; filename="${name.replace(/["\\]/g, '_')}"`,
    'cache-control': 'no-store',
    'accept-ranges': 'bytes',
    etag,
  };
  // If-Range (RFC 9110 13.1.5): the range only if the file is still the version the client has, else all of it.
  const range = ifRange === undefined || ifRange === etag ? parseByteRange(rangeHeader, size) : null;
  if (range === 'unsatisfiable') {
    closeSync(fd);
    res.writeHead(416, { ...headers, 'content-range': `bytes */${size}`, 'content-length': '0' });
    res.end();
    return;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  const length = end - start + 1;
  res.writeHead(range ? 206 : 200, {
    ...headers,
    'content-length': String(length),
    ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (head || length === 0) {
    closeSync(fd);
    res.end();
    return;
  }
  const s = createReadStream('', { fd, start, end, autoClose: true });
  s.on('error', () => res.destroy());
  res.on('close', () => s.destroy());
  s.pipe(res);
}
