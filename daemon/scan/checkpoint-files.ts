// A scan's checkpoint as files: the cube (cube.ckpt, pipelines/cube/snapshot.ts) and, for hits-level and
// gemroc-udp streams, the formation state next to it (cube.ckpt.formation, pipelines/formation-state-file.ts):
// the hits and clusters still pending in event formation and the gemroc decoder's per-board state, without
// which a rebuild from the checkpoint would lose or mis-pair the events pending at the cut.
// The pair is consistent by construction: both carry the recording offset, the cube header holds the
// formation file's length and crc32, and both are fsynced before either is renamed. Loading checks all
// three; any mismatch throws, and crash recovery then rebuilds from the whole recording (exact, slower).
import { readFileSync, rmSync } from 'node:fs';
import { crc32 } from '../../drivers/codecs/crc32.js';
import type { Cube } from '../../pipelines/cube/cube.js';
import { restoreSnapshotInto, saveSnapshotAsync, verifyCompanion } from '../../pipelines/cube/snapshot.js';
import type { FrameEventsConfig, FrameEventsState } from '../../pipelines/frame-events.js';
import { decodeFormationState, encodeFormationState, FormationStateError } from '../../pipelines/formation-state-file.js';

export function formationFileOf(checkpointFile: string): string {
  return `${checkpointFile}.formation`;
}

/** A key of the configuration that shapes formation state: a state is only restored into the same. */
export function formationConfigKey(config: FrameEventsConfig): number {
  const d = config.detector;
  const key = { formation: config.formation, detector: { stripsPerPlane: d.stripsPerPlane, width: d.width, height: d.height, channelMap: d.channelMap } };
  return crc32(new TextEncoder().encode(JSON.stringify(key)));
}

/**
 * Writes the checkpoint: the cube and, when `formation` is given, its formation state. Everything is copied
 * before the first await (the caller passes state taken in the same synchronous stretch as the offset).
 * Without formation state a formation file left from an earlier checkpoint is removed (the header says none
 * belongs to this one, so it would be ignored anyway).
 */
export async function saveCheckpointFiles(cube: Cube, file: string, recordingOffset: number, formation: FrameEventsState | null, config: FrameEventsConfig): Promise<void> {
  if (!formation) {
    await saveSnapshotAsync(cube, file, BigInt(recordingOffset));
    rmSync(formationFileOf(file), { force: true });
    return;
  }
  const bytes = encodeFormationState({ state: formation, recordingOffset, configKey: formationConfigKey(config) });
  await saveSnapshotAsync(cube, file, BigInt(recordingOffset), { file: formationFileOf(file), bytes });
}

export interface LoadedCheckpoint {
  recordingOffset: number;
  /** null: the checkpoint has none (an events-level stream, or a checkpoint written before formation state). */
  formation: FrameEventsState | null;
}

/**
 * Loads the checkpoint into `cube` and reads its formation state. Throws SnapshotError when the cube file
 * is unusable, FormationStateError when the header names a formation file that is
 * missing, damaged, from another checkpoint (length, crc32 or recording offset differ) or made with another
 * formation configuration. `cube` may then hold part of the checkpoint: the caller starts a fresh one.
 */
export function loadCheckpointFiles(cube: Cube, file: string, config: FrameEventsConfig): LoadedCheckpoint {
  const header = restoreSnapshotInto(cube, file);
  const recordingOffset = Number(header.recordingOffset);
  if (!header.companion) return { recordingOffset, formation: null };
  const ffile = formationFileOf(file);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(ffile);
  } catch (e) {
    throw new FormationStateError(ffile, `the checkpoint was written with it, but it cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    verifyCompanion(header, bytes, ffile);
  } catch (e) {
    throw new FormationStateError(ffile, (e as Error).message);
  }
  const f = decodeFormationState(bytes, ffile);
  if (f.recordingOffset !== recordingOffset) throw new FormationStateError(ffile, `taken at recording offset ${f.recordingOffset}, the cube at ${recordingOffset}`);
  if (f.configKey !== formationConfigKey(config)) throw new FormationStateError(ffile, 'made with another formation/detector configuration than the scan');
  return { recordingOffset, formation: f.state };
}

