// Event formation over a whole recording, for its counters (`gemxrf replay --info`): the recording's items go
// through FrameEvents, the live scan's own path (HITS frames through event formation, gemroc-udp DATAGRAM
// frames through the gemroc decoder with the recording's channel map, then formation), with the detector
// geometry and formation settings of the recording's configuration snapshot (recordingConfig). What a live
// scan of the same bytes shows in `scan.formation` / `scan.gemroc` is what this returns.
import type { GemxrfConfig } from '../../config/schema.js';
import type { GemrocCounters } from '../../drivers/codecs/gemroc-decode.js';
import { RecordingReader } from '../../drivers/file/recording-reader.js';
import { FrameEvents } from '../frame-events.js';
import { recordingConfig } from '../maps/recording-cube.js';
import type { FormationCounters } from './event-former.js';

export interface RecordingFormation {
  /** Event formation's counters; null for an events-level recording (no HITS frame, no datagram). */
  formation: FormationCounters | null;
  /** The gemroc decoder's counters (gemroc-udp recordings), else null. */
  gemroc: GemrocCounters | null;
  /** Events handed on (EVENTS frames' events plus formed events). */
  events: number;
}

/** Reads the whole recording through event formation (flushed at its end) and returns the counters. */
export function formRecording(path: string, config: GemxrfConfig): RecordingFormation {
  const reader = RecordingReader.open(path);
  try {
    const events = new FrameEvents(recordingConfig(reader, config));
    for (const f of reader.frames()) events.accept(f.item);
    events.flush();
    return { formation: events.formation, gemroc: events.gemroc, events: events.eventsOut };
  } finally {
    reader.close();
  }
}
