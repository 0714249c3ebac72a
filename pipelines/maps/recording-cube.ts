// Offline input for `gemxrf maps` and `gemxrf calibrate`: the formed events of a .gemx recording, and a
// cube built from them. A plain loop over the recording (no RxJS, no transport): reading a file as fast
// as possible needs neither. Items become event batches through FrameEvents, the same path as the live
// pipeline (EVENTS frames as they are, HITS frames through event formation, gemroc-udp DATAGRAM frames
// decoded into hits with the recording's channel map, then formation), so a cube built here is filled
// by exactly the steps the live scan took. Damaged bytes are skipped and counted by the decoder.
import { RecordingReader } from '../../drivers/file/recording-reader.js';
import type { GemxCounters } from '../../drivers/codecs/gemx-decode.js';
import type { EventBatch } from '../../drivers/batches.js';
import { configSchema, type GemxrfConfig } from '../../config/schema.js';
import { FrameEvents } from '../frame-events.js';
import { Calibration } from '../calibration/calibration.js';
import { Cube } from '../cube/cube.js';

export interface RecordingEventsResult {
  /** Detector geometry and formation settings in effect (see recordingConfig). */
  config: GemxrfConfig;
  counters: GemxCounters | null;
  events: number;
  eventFrames: number;
  hitFrames: number;
}

/** The configuration to read a recording with: the given one, except the detector geometry and event
 *  formation, which are the recording's own when its header carries a configuration snapshot (the image
 *  grid is a property of the recording). Calibration and histogram stay the given ones: recalibrating
 *  an old recording is the point of reading it again. */
export function recordingConfig(reader: RecordingReader, config: GemxrfConfig): GemxrfConfig {
  const snap = configSchema.safeParse(reader.header.meta.config ?? {});
  if (!snap.success || reader.header.meta.config === undefined) return config;
  return { ...config, detector: snap.data.detector, formation: snap.data.formation };
}

/** Calls onBatch with every event batch of the recording, in file order. The batch is only valid
 *  during the call. onProgress gets (bytes read, file size) about every 4 MiB; onConfig gets the
 *  configuration the recording is read with (its geometry) before the first batch. */
export function forEachRecordedEvent(
  path: string,
  config: GemxrfConfig,
  onBatch: (batch: EventBatch) => void,
  onProgress?: (bytes: number, total: number) => void,
  onConfig?: (config: GemxrfConfig) => void,
): RecordingEventsResult {
  const reader = RecordingReader.open(path);
  try {
    const cfg = recordingConfig(reader, config);
    onConfig?.(cfg);
    const size = reader.fileSize;
    const events = new FrameEvents(cfg);
    const result: RecordingEventsResult = { config: cfg, counters: null, events: 0, eventFrames: 0, hitFrames: 0 };
    const frames = reader.frames();
    let lastReport = 0;
    for (;;) {
      const r = frames.next();
      if (r.done) {
        result.counters = r.value;
        break;
      }
      const f = r.value;
      if (onProgress && f.offset - lastReport > 4 << 20) {
        lastReport = f.offset;
        onProgress(f.offset, size);
      }
      const ev = events.accept(f.item);
      if (ev) onBatch(ev);
    }
    const ev = events.flush();
    if (ev) onBatch(ev);
    result.events = events.eventsOut;
    result.eventFrames = events.eventFrames;
    result.hitFrames = events.hitFrames;
    onProgress?.(size, size);
    return result;
  } finally {
    reader.close();
  }
}

/** Histograms a whole recording into a fresh cube on the configuration's grids. */
export function cubeFromRecording(
  path: string,
  config: GemxrfConfig,
  onProgress?: (bytes: number, total: number) => void,
): { cube: Cube; calibration: Calibration; read: RecordingEventsResult } {
  const reader = RecordingReader.open(path);
  const cfg = recordingConfig(reader, config);
  reader.close();
  const cube = Cube.fromConfig(cfg);
  const calibration = Calibration.fromConfig(cfg);
  const read = forEachRecordedEvent(path, cfg, (b) => cube.addEvents(b, calibration), onProgress);
  return { cube, calibration, read };
}
