// Deleting a stored scan (request/scan/delete, `gemxrf scan delete ID --yes`): its folder (raw.gemx, checkpoint,
// maps/, export/) and its rows (checkpoints, recordings, scan). The caller has refused what must not be deleted
// (the scan being acquired, an export or a maps save in progress for it).
// Order, so that nothing is left half-deleted where the catalogue or a request could see it:
//   1. the folder is renamed to scans/.deleting-<id>-<ms> (atomic; no scan id starts with '.', so no request,
//      download or recovery reaches it);
//   2. the rows go, in one transaction, in the same tick as the rename (no other request runs in between);
//      if that fails the folder is renamed back and nothing is deleted, except when the database cannot be
//      written because the disk is full (SQLITE_FULL): the files are removed first to make room, then the
//      rows, since freeing space is why one deletes a scan on a full disk;
//   3. the renamed folder is removed (fs.promises.rm, off the event loop). A folder that cannot be removed
//      entirely stays under its .deleting- name, is reported, and is removed at the next daemon start
//      (sweepDeletedScans).
import { renameSync, rmSync } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { Logger } from '../log.js';
import type { ScanDb } from './db.js';
import { scanDir } from './scan-names.js';

export const DELETING_PREFIX = '.deleting-';

export interface DeletedScan {
  id: string;
  /** The folder that was removed, relative to the data directory (scans/<id>). */
  dir: string;
  /** Files and bytes that were in the folder (what the deletion freed). */
  files: number;
  bytes: number;
  /** A folder that could not be removed entirely (relative to the data directory; removed at the next
   *  daemon start), else null. */
  leftover: string | null;
}

/** Files and bytes under dir (not following links); zeros for a missing folder. */
export async function folderSize(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        try {
          bytes += (await lstat(p)).size;
          files++;
        } catch {
          // gone meanwhile
        }
      }
    }
  };
  await walk(dir);
  return { files, bytes };
}

/** Deletes the scan's folder and rows (see the order above). Throws, having deleted nothing, when the scan
 *  does not exist or its folder cannot be moved or its rows cannot be deleted (other than on a full disk). */
export async function deleteStoredScan(dataDir: string, db: ScanDb, id: string, opts: { log?: Logger; recheck?: () => void } = {}): Promise<DeletedScan> {
  const { log } = opts;
  const dir = scanDir(dataDir, id);
  if (!db.scanExists(id)) throw new Error(`no scan with id '${id}'`);
  const size = await folderSize(dir);
  // From here to the end of step 2, synchronous: no request runs in between. What the caller refused before
  // (an export that started while the folder was measured) is asked again: recheck throws to refuse.
  if (!db.scanExists(id)) throw new Error(`no scan with id '${id}'`);
  opts.recheck?.();
  const trash = join(dirname(dir), `${DELETING_PREFIX}${id}-${Date.now()}`);
  let moved = false;
  try {
    renameSync(dir, trash);
    moved = true;
  } catch (e) {
    // A scan whose folder is already gone (removed by hand) still leaves the catalogue.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot remove the folder of scan '${id}': ${(e as Error).message}; nothing was deleted`);
  }
  try {
    db.deleteScan(id);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (!(moved && code === 'SQLITE_FULL')) {
      let back = '; nothing was deleted';
      if (moved) {
        try {
          renameSync(trash, dir);
        } catch (e2) {
          back = `; its folder stays as ${relative(dataDir, trash)} (cannot be renamed back: ${(e2 as Error).message})`;
        }
      }
      throw new Error(`cannot delete scan '${id}' from the database: ${(e as Error).message}${back}`);
    }
    // The disk is full: make room with the scan's own files, then delete the rows.
    log?.warn('database full while deleting a scan: removing its files first', { scan: id });
    rmSync(trash, { recursive: true, force: true });
    moved = false;
    try {
      db.deleteScan(id);
    } catch (e2) {
      throw new Error(`scan '${id}': its files were removed to free space, but its rows could not be deleted from the database: ${(e2 as Error).message}`);
    }
  }
  let leftover: string | null = null;
  if (moved) {
    try {
      await rm(trash, { recursive: true, force: true });
    } catch (e) {
      leftover = relative(dataDir, trash);
      log?.error('scan deleted from the catalogue, but its folder could not be removed entirely; it is removed at the next start', { scan: id, dir: trash, error: (e as Error).message });
    }
  }
  return { id, dir: relative(dataDir, dir), files: size.files, bytes: size.bytes, leftover };
}

/** Removes what deletions left behind (scans/.deleting-*: a daemon stopped mid-removal, a removal that
 *  failed). Never throws; returns the folders removed. */
export async function sweepDeletedScans(dataDir: string, log?: Logger): Promise<string[]> {
  const root = resolve(dataDir, 'scans');
  let names: string[];
  try {
    names = (await readdir(root)).filter((n) => n.startsWith(DELETING_PREFIX));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    try {
      await rm(join(root, n), { recursive: true, force: true });
      removed.push(n);
      log?.info('removed the rest of a deleted scan', { dir: join(root, n) });
    } catch (e) {
      log?.warn('cannot remove the rest of a deleted scan', { dir: join(root, n), error: (e as Error).message });
    }
  }
  return removed;
}
