// The cube of a stored scan, read-only: the last checkpoint (cube.ckpt) plus the recording's tail through the
// same FrameSink the live scan used; with no checkpoint, the whole raw.gemx. Nothing in the scan folder or
// the database is written (unlike crash recovery). Also builds the cube of a bare .gemx recording.
// A checkpoint with formation state (hits-level, gemroc-udp) resumes formation from it, so the cube is exact;
// when that state is missing or does not belong to the checkpoint, the whole recording is replayed instead.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configSchema, type GemxrfConfig } from '../../config/index.js';
import { zeroGemxCounters } from '../../drivers/codecs/gemx-decode.js';
import { RecordingReader } from '../../drivers/file/recording-reader.js';
import { Cube } from '../../pipelines/cube/cube.js';
import type { FrameEventsState } from '../../pipelines/frame-events.js';
import { FormationStateError } from '../../pipelines/formation-state-file.js';
import { FrameSink } from '../../pipelines/frame-sink.js';
import { cubeFromRecording, recordingConfig } from '../../pipelines/maps/recording-cube.js';
import { CHECKPOINT_FILE, RAW_FILE } from '../scan/acquisition.js';
import { loadCheckpointFiles } from '../scan/checkpoint-files.js';
import { ScanDb, type ScanRecord } from '../storage/db.js';
import { scanDir } from '../storage/scan-names.js';

export interface ScanSource {
  cube: Cube;
  /** The configuration the scan ran with (its snapshot in the catalogue), else the given one. */
  config: GemxrfConfig;
  scan: ScanRecord | null;
  /** How the cube was obtained. */
  origin: { kind: 'checkpoint+tail' | 'recording'; file: string; checkpointOffset: number | null; tailBytes: number; events: number };
}

/** The scan's cube from <dataDir>/scans/<id>. Throws a one-line error when the scan folder or its recording is missing. */
export function loadStoredScan(dataDir: string, id: string, fallback: GemxrfConfig): ScanSource {
  const dir = scanDir(dataDir, id);
  if (!existsSync(dir)) throw new Error(`no scan '${id}' in ${resolve(dataDir, 'scans')}`);
  let scan: ScanRecord | null = null;
  const dbFile = resolve(dataDir, 'gemxrf.db');
  if (existsSync(dbFile)) {
    const db = new ScanDb(dbFile);
    try {
      scan = db.getScan(id);
    } finally {
      db.close();
    }
  }
  const raw = join(dir, RAW_FILE);
  const ckpt = join(dir, CHECKPOINT_FILE);
  if (!existsSync(raw) && !existsSync(ckpt)) throw new Error(`scan '${id}' has neither ${RAW_FILE} nor ${CHECKPOINT_FILE} in ${dir}`);
  const parsed = configSchema.safeParse(scan?.config);
  // The catalogue's config snapshot; without one, the recording header's geometry (the image grid is a
  // property of the recording), else the given configuration.
  let config = fallback;
  if (scan && parsed.success) config = parsed.data;
  else if (existsSync(raw)) {
    const r = RecordingReader.open(raw);
    try {
      config = recordingConfig(r, fallback);
    } finally {
      r.close();
    }
  }
  let cube = Cube.fromConfig(config);
  let from: number | null = null;
  let formation: FrameEventsState | null = null;
  if (existsSync(ckpt)) {
    try {
      const loaded = loadCheckpointFiles(cube, ckpt, config);
      from = loaded.recordingOffset;
      formation = loaded.formation;
    } catch (e) {
      // Only the formation state is unusable and the recording is there: replay it all (exact). A corrupt
      // cube checkpoint still fails as before.
      if (!(e instanceof FormationStateError) || !existsSync(raw)) throw e;
      cube = Cube.fromConfig(config);
    }
  }
  let tail = 0;
  if (existsSync(raw)) {
    const reader = RecordingReader.open(raw);
    try {
      let start = from ?? reader.header.headerLength;
      let sink = new FrameSink(cube, config, start);
      if (formation) {
        try {
          sink.restoreFormation(formation);
        } catch {
          // A formation state that loads but does not fit this formation: replay the whole recording (exact),
          // as recovery does, rather than fail the export.
          cube = Cube.fromConfig(config);
          from = null;
          start = reader.header.headerLength;
          sink = new FrameSink(cube, config, start);
        }
      }
      for (const f of reader.frames({ fromOffset: start, counters: zeroGemxCounters() })) sink.accept(f);
      sink.flush();
      tail = reader.fileSize - start;
    } finally {
      reader.close();
    }
  }
  return {
    cube, config, scan,
    origin: { kind: from === null ? 'recording' : 'checkpoint+tail', file: from === null ? raw : ckpt, checkpointOffset: from, tailBytes: tail, events: cube.totalEvents },
  };
}

/** The cube of a .gemx recording (geometry from its header snapshot when it has one). */
export function loadRecording(path: string, config: GemxrfConfig): ScanSource {
  if (!existsSync(path)) throw new Error(`recording not found: ${path}`);
  const { cube, read } = cubeFromRecording(path, config);
  return { cube, config: read.config, scan: null, origin: { kind: 'recording', file: resolve(path), checkpointOffset: null, tailBytes: 0, events: cube.totalEvents } };
}
