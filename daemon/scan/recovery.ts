// Crash recovery: a scan still marked 'acquiring' in the database was cut off (kill -9, power loss). Its
// cube is rebuilt from the last checkpoint plus the recording's tail, through the same FrameSink the live
// scan used, then saved as the scan's checkpoint and the scan marked 'interrupted'. Everything recorded
// stays as it is: the recording is only read. A gemroc-udp raw.gemx (DATAGRAM frames) goes the same way:
// FrameSink's FrameEvents decodes each packet into hits.
// Hits-level and gemroc-udp streams: the checkpoint carries the formation state (cube.ckpt.formation: the
// hits and clusters still pending in event formation, its clocks and counters, and the gemroc decoder's
// per-board timestamp unwrap and packet history), restored before the tail, so the rebuilt cube is exactly
// that of a replay of the whole recording, as for events-level streams. A formation file that is missing,
// damaged or not the one written with the cube (checkpoint-files.ts checks length, crc32, recording offset
// and configuration) makes the checkpoint unusable: the cube is rebuilt from the whole recording (exact,
// only slower), as for a corrupt cube checkpoint. A checkpoint written before formation state existed (its
// header names no formation file) is used as before: for a hits-level stream the events pending at that cut
// are then lost or mis-paired.
// Maps (storage.saveMaps): a recovered scan's folder gets roi and fit maps of the rebuilt cube (maps/, as a
// stopped scan's: save-maps.ts), computed here in-process with the scan's own configuration: recovery runs at
// start-up, before the broker and the link, so nothing waits on the event loop, and it costs seconds once per
// crashed scan (~2 s each for fit and snip roi at 256 x 256 x 256). No model maps: a full-resolution pass
// means loading a graph that may no longer be the scan's model, for tens of seconds on a large grid; the export
// (`gemxrf scan export`, request/scan/export) makes them on demand.
import { existsSync } from 'node:fs';
import { buildMaps, cubeGrid } from '../../pipelines/maps/build.js';
import { roiBackgroundFromConfig } from '../../pipelines/maps/roi.js';
import { join } from 'node:path';
import { configSchema, type GemxrfConfig } from '../../config/index.js';
import { zeroGemxCounters } from '../../drivers/codecs/gemx-decode.js';
import { summarizeGemroc } from '../../drivers/codecs/gemroc-decode.js';
import { RecordingReader } from '../../drivers/file/recording-reader.js';
import { Cube } from '../../pipelines/cube/cube.js';
import type { FrameEventsState } from '../../pipelines/frame-events.js';
import { FrameSink } from '../../pipelines/frame-sink.js';
import type { Logger } from '../log.js';
import type { ScanDb, ScanRecord, ScanTotals } from '../storage/db.js';
import { scanDir } from '../storage/scan-names.js';
import { CHECKPOINT_FILE, RAW_FILE } from './acquisition.js';
import { loadCheckpointFiles, saveCheckpointFiles } from './checkpoint-files.js';
import { writeScanMaps } from './save-maps.js';

export interface RecoveredScan {
  id: string;
  fromCheckpoint: boolean;
  /** The checkpoint carried formation state (hits-level / gemroc-udp) and it was restored. */
  formationRestored: boolean;
  checkpointOffset: number;
  tailBytes: number;
  events: number;
}

/** Rebuilds one interrupted scan's cube; returns the cube and what was done. persist false (a stopped scan's
 *  cube for its missing maps, missing-maps.ts): nothing is written, neither the checkpoint nor the rows. */
export async function rebuildScanCube(dataDir: string, scan: ScanRecord, db: ScanDb, log?: Logger, opts: { persist?: boolean } = {}): Promise<{ cube: Cube; info: RecoveredScan; totals: ScanTotals }> {
  const dir = scanDir(dataDir, scan.id);
  const parsed = configSchema.safeParse(scan.config);
  const config: GemxrfConfig = parsed.success ? parsed.data : configSchema.parse({});
  let cube = Cube.fromConfig(config);
  const rawPath = join(dir, RAW_FILE);
  const reader = RecordingReader.open(rawPath);
  try {
    let from = reader.header.headerLength;
    const start = from;
    let fromCheckpoint = false;
    let formation: FrameEventsState | null = null;
    let sink: FrameSink | null = null;
    const ckpt = db.lastCheckpoint(scan.id);
    if (ckpt && existsSync(join(dir, ckpt.file))) {
      try {
        const loaded = loadCheckpointFiles(cube, join(dir, ckpt.file), config);
        const offset = loaded.recordingOffset;
        if (offset < from || offset > reader.fileSize) throw new Error(`its recording offset ${offset} is outside the recording (${from}..${reader.fileSize})`);
        sink = new FrameSink(cube, config, offset);
        if (loaded.formation) sink.restoreFormation(loaded.formation);
        formation = loaded.formation;
        from = offset;
        fromCheckpoint = true;
      } catch (e) {
        // The recording is the source of truth: a damaged checkpoint (or formation state) only costs a
        // replay from the start.
        log?.warn('checkpoint unusable; rebuilding the cube from the whole recording', { scan: scan.id, error: (e as Error).message });
        cube = Cube.fromConfig(config);
        sink = null;
        from = start;
      }
    }
    sink ??= new FrameSink(cube, config, from);
    const counters = zeroGemxCounters();
    const size = reader.fileSize;
    // A generator over the file: yields between 1 MiB reads so a long tail does not hold the loop for long.
    let n = 0;
    for (const f of reader.frames({ fromOffset: from, counters })) {
      sink.accept(f);
      if (++n % 256 === 0) await new Promise<void>((r) => setImmediate(r));
    }
    sink.flush();
    if (opts.persist ?? true) {
      // Formation was flushed: the rebuilt checkpoint covers the whole recording and carries no formation state.
      await saveCheckpointFiles(cube, join(dir, CHECKPOINT_FILE), sink.frameEnd, null, config);
      db.addCheckpoint({ scanId: scan.id, file: CHECKPOINT_FILE, recordingOffset: sink.frameEnd, events: cube.totalEvents, createdAt: new Date().toISOString() });
      db.setRecordingBytes(scan.id, RAW_FILE, size);
    }
    const c = cube.counters();
    const startedMs = Date.parse(scan.startedAt);
    const durationS = Math.max(0, (Date.now() - startedMs) / 1000);
    const g = sink.gemroc ? summarizeGemroc(sink.gemroc) : null;
    const f = sink.formation;
    const totals: ScanTotals = {
      events: c.eventsAdded,
      eventsIn: c.eventsIn,
      bytesRecorded: size,
      framesOk: counters.framesOk,
      framesLost: counters.framesLost + (g?.packetsLost ?? 0),
      crcErrors: counters.crcErrors,
      durationS,
      meanRate: 0,
      ...(g ? { gemroc: g } : {}),
      ...(f ? { formation: f } : {}),
    };
    return { cube, info: { id: scan.id, fromCheckpoint, formationRestored: formation !== null, checkpointOffset: from, tailBytes: size - from, events: c.eventsAdded }, totals };
  } finally {
    reader.close();
  }
}

/** Finds scans left 'acquiring' by a crash and recovers each; a scan that cannot be rebuilt is marked 'error'. */
/** roi and fit maps of a recovered cube into the scan folder (see the header); the error, or null. */
async function saveRecoveredMaps(dataDir: string, scan: ScanRecord, cube: Cube, log: Logger): Promise<string | null> {
  const parsed = configSchema.safeParse(scan.config);
  const config: GemxrfConfig = parsed.success ? parsed.data : configSchema.parse({});
  const methods = config.maps.methods.filter((m): m is 'roi' | 'fit' => m === 'roi' || m === 'fit');
  if (methods.length === 0) return null;
  try {
    const roi = roiBackgroundFromConfig(config.maps.roi);
    const classical = methods.map((method) => ({ method, events: cube.totalEvents, maps: buildMaps(cube, cubeGrid(cube), method, config.maps.elements, { roi }).maps }));
    const r = await writeScanMaps(dataDir, { scanId: scan.id, width: cube.width, height: cube.height, events: cube.totalEvents, classical, model: null, roiBackground: config.maps.roi.background });
    log.info('recovered scan maps saved', { scan: scan.id, methods: r.methods.join(','), files: r.files.length });
    return null;
  } catch (e) {
    const msg = (e as Error).message;
    log.error('cannot save the recovered scan maps (the scan is recovered)', { scan: scan.id, error: msg });
    return `maps not saved: ${msg}`;
  }
}

export async function recoverInterruptedScans(dataDir: string, db: ScanDb, log: Logger, opts: { saveMaps?: boolean } = {}): Promise<RecoveredScan[]> {
  const out: RecoveredScan[] = [];
  for (const scan of db.listScans({ status: 'acquiring', limit: 1000 })) {
    log.warn('found a scan interrupted by a crash; rebuilding its cube', { scan: scan.id });
    try {
      const { cube, info, totals } = await rebuildScanCube(dataDir, scan, db, log);
      const mapsError = opts.saveMaps ? await saveRecoveredMaps(dataDir, scan, cube, log) : null;
      // Totals of frames are for the tail only when resuming from a checkpoint; the cube counts are complete.
      db.finishScan(scan.id, { status: 'interrupted', stopReason: 'crash', stoppedAt: new Date().toISOString(), totals, error: mapsError });
      log.info('recovered interrupted scan', { scan: scan.id, fromCheckpoint: info.fromCheckpoint, formationRestored: info.formationRestored, checkpointOffset: info.checkpointOffset, tailBytes: info.tailBytes, events: info.events });
      out.push(info);
    } catch (e) {
      const msg = (e as Error).message;
      db.finishScan(scan.id, { status: 'error', stopReason: 'crash', stoppedAt: new Date().toISOString(), totals: null, error: `recovery failed: ${msg}` });
      log.error('could not recover interrupted scan (its files are left as they are)', { scan: scan.id, error: msg });
    }
  }
  return out;
}
