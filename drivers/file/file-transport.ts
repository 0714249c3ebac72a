// file://PATH.gemx?speed=1|N|max — replays a recording as if it were the live link.
// gemx recordings: emits the file's bytes verbatim (frames and whatever lay between them), cut at frame
// ends and released when the frame is due. gemroc-udp recordings: emits each wrapped datagram on its own,
// as the UDP transport would. Pacing follows the frames' device timestamps scaled by 1/speed; a clock that
// jumps backwards (device restart) counts as no time passing, and a gap longer than MAX_GAP_WAIT_MS of wall
// time (after speed; a clock jump forwards, or a pause in the recording) is replayed as MAX_GAP_WAIT_MS and
// counted in status.gapsShortened (a delay past 2^31-1 ms would make Node fire the timer every 1 ms). The
// scheduler is injectable, so tests check pacing on virtual time instead of the wall clock.
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from 'rxjs';
import type { DecodedFrame } from '../codecs/gemx-decode.js';
import { StreamFormat } from '../codecs/recording-header.js';
import { registerTransport } from '../open-transport.js';
import type { Transport, TransportStatus } from '../transport.js';
import { RecordingReader } from './recording-reader.js';

export interface FileTransportOptions {
  scheduler?: SchedulerLike;
  /** At most this many bytes per emission (and per scheduler turn at speed=max). Default 1 MiB. */
  chunkBytes?: number;
}

export interface FileUrl {
  path: string;
  /** Playback speed factor, or Infinity for speed=max. */
  speed: number;
}

const KNOWN_PARAMS = ['speed'];
/** The longest wait between two frames in a replay (ms of wall time); a longer gap is shortened to this. */
export const MAX_GAP_WAIT_MS = 10_000;

/**
 * file:///abs/path.gemx, file://relative/path.gemx (host part taken as the first path segment, relative to
 * the working directory), or file:rel.gemx. ?speed=N (N > 0, default 1) or ?speed=max.
 */
export function parseFileUrl(url: URL): FileUrl {
  for (const key of url.searchParams.keys()) if (!KNOWN_PARAMS.includes(key)) throw new Error(`unknown parameter '${key}' (known: ${KNOWN_PARAMS.join(', ')})`);
  const raw = url.searchParams.get('speed');
  let speed = 1;
  if (raw !== null && raw !== '') {
    speed = raw === 'max' ? Infinity : Number(raw.replace(/x$/i, ''));
    if (!(speed > 0)) throw new Error(`speed: expected a number > 0 or 'max', got '${raw}'`);
  }
  let path: string;
  if (url.host && url.host !== 'localhost') path = resolve(decodeURIComponent(url.host + url.pathname));
  else path = fileURLToPath(new URL(url.protocol + '//' + url.pathname));
  if (path === '/' || path === '') throw new Error('no file path in the URL');
  return { path, speed };
}

export function fileUrlFor(path: string, speed: number | 'max' = 1): string {
  const u = new URL('file://');
  u.pathname = resolve(path);
  if (speed !== 1) u.searchParams.set('speed', speed === Infinity ? 'max' : String(speed));
  return u.href;
}

export function createFileTransport(url: URL, opts: FileTransportOptions = {}): Transport {
  const { path, speed } = parseFileUrl(url);
  const scheduler = opts.scheduler ?? asyncScheduler;
  const chunkBytes = opts.chunkBytes ?? 1 << 20;
  const href = url.href;
  const st: TransportStatus = { url: href, state: 'closed', bytesIn: 0, chunksIn: 0, reconnects: 0, frames: 0, fileBytes: 0, progress: 0, speed: speed === Infinity ? 'max' : speed, gapsShortened: 0 };
  const running = new Set<() => void>();

  const open = (): Observable<Uint8Array> =>
    new Observable<Uint8Array>((sub) => {
      st.state = 'connecting';
      let reader: RecordingReader;
      try {
        reader = RecordingReader.open(path);
      } catch (e) {
        st.state = 'error';
        st.error = (e as Error).message;
        sub.error(new Error(`file transport ${href}: ${(e as Error).message}`));
        return;
      }
      const datagrams = reader.header.streamFormat === StreamFormat.GEMROC_UDP;
      const fileEnd = reader.fileSize;
      st.fileBytes = fileEnd;
      st.state = 'open';
      const frames = reader.frames({ decodePayload: datagrams, toOffset: fileEnd });
      let emittedTo = reader.header.headerLength;
      let next: DecodedFrame | null = null;
      let lastDeviceNs: number | null = null;
      let virtualNs = 0; // device time elapsed since the first frame, never decreasing
      let nextVirtualNs = 0;
      const startMs = scheduler.now();
      let pending: Subscription | null = null;
      let stopped = false;

      const emit = (bytes: Uint8Array): void => {
        if (bytes.length === 0) return;
        st.bytesIn += bytes.length;
        st.chunksIn++;
        sub.next(bytes);
      };
      const emitRange = (to: number): void => {
        if (to > emittedTo) emit(reader.readBytes(emittedTo, to));
        emittedTo = to;
        st.progress = fileEnd > 0 ? emittedTo / fileEnd : 1;
      };
      const finish = (): void => {
        if (!datagrams) emitRange(fileEnd);
        st.progress = 1;
        stop();
        st.state = 'closed';
        sub.complete();
      };
      const stop = (): void => {
        if (stopped) return;
        stopped = true;
        pending?.unsubscribe();
        reader.close();
        running.delete(stop);
      };
      running.add(stop);

      const step = (): void => {
        pending = null;
        if (stopped) return;
        const now = scheduler.now();
        let batchBytes = 0;
        let upTo = emittedTo;
        for (;;) {
          if (!next) {
            const r = frames.next();
            if (r.done) {
              finish(); // emits up to the end of the file: trailing bytes ride with the last frame
              return;
            }
            next = r.value;
            if (lastDeviceNs !== null) {
              let gapNs = Math.max(0, next.baseTimeNs - lastDeviceNs);
              if (gapNs / 1e6 / speed > MAX_GAP_WAIT_MS) {
                gapNs = MAX_GAP_WAIT_MS * 1e6 * speed;
                st.gapsShortened = (st.gapsShortened as number) + 1;
              }
              nextVirtualNs = virtualNs + gapNs;
            }
          }
          const dueMs = startMs + nextVirtualNs / 1e6 / speed;
          if (dueMs > now) {
            if (!datagrams) emitRange(upTo);
            if (stopped) return; // unsubscribed from inside next(): schedule nothing more
            pending = scheduler.schedule(step, dueMs - now);
            return;
          }
          const f = next;
          next = null;
          lastDeviceNs = f.baseTimeNs;
          virtualNs = nextVirtualNs;
          st.frames = (st.frames as number) + 1;
          if (datagrams) {
            if (f.item?.kind === 'datagram') emit(f.item.payload);
            batchBytes += f.length;
            st.progress = (f.offset + f.length) / fileEnd;
          } else {
            upTo = f.offset + f.length;
            batchBytes = upTo - emittedTo;
          }
          if (batchBytes >= chunkBytes) {
            // yield the event loop between chunks, so speed=max does not starve everything else
            if (!datagrams) emitRange(upTo);
            if (stopped) return;
            pending = scheduler.schedule(step, 0);
            return;
          }
          if (stopped) return; // a subscriber unsubscribed from inside next()
        }
      };
      pending = scheduler.schedule(step, 0);
      return () => {
        stop();
        if (st.state === 'open') st.state = 'closed';
      };
    });

  return {
    url: href,
    open,
    status: () => ({ ...st }),
    close: async () => {
      for (const stop of [...running]) stop();
      st.state = 'closed';
    },
  };
}

registerTransport('file', (url) => createFileTransport(url));
