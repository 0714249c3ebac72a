// gemxrf replay FILE --info [--json]: what a recording holds (header, duration, frames by type, records,
// gaps, CRC errors); for hits-level recordings (gemx HITS frames, gemroc-udp) also event formation's counters
// and the gemroc decoder's board restarts, from a second pass through the live scan's formation path
// (formRecording, with the recording's own geometry and formation settings).
// gemxrf replay FILE [--speed N|max] [--transport tcp --listen HOST:PORT | --transport udp --target HOST:PORT]:
// serves the recording as the detector would (TCP server; gemroc recordings as UDP datagrams), paced by
// the frames' timestamps.
import type { Command } from 'commander';
import type { FormationCounters } from '../../../pipelines/formation/event-former.js';
import { formRecording } from '../../../pipelines/formation/recording-formation.js';
import { StreamFormat } from '../../../drivers/codecs/recording-header.js';
import { createFileTransport, fileUrlFor } from '../../../drivers/file/file-transport.js';
import { RecordingReader } from '../../../drivers/file/recording-reader.js';
import { summarizeRecording, type RecordingSummary } from '../../../drivers/file/recording-summary.js';
import type { WireEndpoint } from '../../../simulator/emulators/endpoint.js';
import { configFor } from '../context.js';
import { CliError } from '../errors.js';

interface ReplayOptions {
  info?: boolean;
  json?: boolean;
  speed: string;
  transport: string;
  listen: string;
  target: string;
  waitForClient: boolean;
}

/** --info's document: the recording summary, plus formation (hits-level recordings; null for events-level)
 *  and, in `gemroc`, the decoder's board restarts. */
type ReplayInfo = Omit<RecordingSummary, 'gemroc'> & {
  gemroc?: NonNullable<RecordingSummary['gemroc']> & { boardRestarts: number; restartsUnaligned: number; restartsByBoard: Record<string, number> };
  formation: FormationCounters | null;
};

function infoOf(file: string, cmd: Command): ReplayInfo {
  let s: RecordingSummary;
  try {
    s = summarizeRecording(file);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const { gemroc, ...rest } = s;
  if (!gemroc && s.hits === 0) return { ...rest, formation: null };
  const f = formRecording(file, configFor(cmd));
  const info: ReplayInfo = { ...rest, formation: f.formation };
  if (gemroc) {
    const c = f.gemroc;
    const restartsByBoard: Record<string, number> = {};
    c?.restartsByBoard.forEach((n, b) => {
      if (n > 0) restartsByBoard[b] = n;
    });
    info.gemroc = { ...gemroc, boardRestarts: c?.boardRestarts ?? 0, restartsUnaligned: c?.restartsUnaligned ?? 0, restartsByBoard };
  }
  return info;
}

function printInfo(s: ReplayInfo): void {
  const c = s.counters;
  const lines = [
    `file:          ${s.path} (${s.fileBytes} bytes, header ${s.headerBytes})`,
    `format:        gemx recording v${s.version}, stream ${s.streamFormat}`,
    `instrument:    ${s.instrumentId}`,
    `started:       ${s.startTime}`,
    `source:        ${s.source ?? '-'}${s.hasConfig ? ' (config snapshot included)' : ''}`,
    `duration:      ${s.durationS.toFixed(3)} s of device time`,
    `frames:        ${s.frames} (${Object.entries(s.framesByType).map(([k, v]) => `${k} ${v}`).join(', ')})`,
    `records:       ${s.events} events, ${s.hits} hits`,
    `sequence:      ${c.seqGaps} gaps (${c.framesLost} frames lost), ${c.duplicates} duplicates, ${c.reordered} reordered, ${c.seqResets} resets`,
    `errors:        ${c.crcErrors} CRC errors, ${c.headerErrors} bad headers, ${c.malformed} malformed, ${c.oversize} oversize, ${c.truncated} truncated, ${c.bytesSkipped} bytes skipped`,
  ];
  if (s.gemroc) {
    const g = s.gemroc;
    lines.push(`gemroc:        ${g.packets} packets, ${g.hitWords} hit words, by board ${JSON.stringify(g.packetsByBoard)}, ${g.seqGaps} gaps (${g.framesLost} lost), ${g.duplicates} duplicates, ${g.reordered} reordered, ${g.badPackets} bad`);
    lines.push(`restarts:      ${g.boardRestarts} board restarts, by board ${JSON.stringify(g.restartsByBoard)}, ${g.restartsUnaligned} unaligned`);
  }
  const f = s.formation;
  if (f) {
    lines.push(
      `formation:     ${f.hitsIn} hits in, ${f.events} events formed from ${f.clustersX} X / ${f.clustersY} Y clusters`,
      `rejected:      ${f.xOnly} x-only, ${f.yOnly} y-only, ${f.tooWide} too wide, ${f.tooLong} too long, ${f.ratio} ratio`,
      `hits dropped:  ${f.hitsLate} late, ${f.hitsBadPlane} bad plane, ${f.hitsBadStrip} bad strip`,
      `other:         ${f.clockResets} clock resets, ${f.forcedCuts} forced cuts, ${f.stalledSettles} stalled settles, ${f.adcSaturated} ADC saturated`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

function parseSpeed(raw: string): number {
  if (raw === 'max') return Infinity;
  const v = Number(raw.replace(/x$/i, ''));
  if (!(v > 0) || !Number.isFinite(v)) throw new CliError(`--speed: expected a number > 0 or 'max', got '${raw}'`);
  return v;
}

async function serve(file: string, opts: ReplayOptions): Promise<void> {
  const speed = parseSpeed(opts.speed);
  let reader: RecordingReader;
  try {
    reader = RecordingReader.open(file);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const datagrams = reader.header.streamFormat === StreamFormat.GEMROC_UDP;
  reader.close();
  let endpoint: WireEndpoint;
  // the emulator endpoints load only when serving
  const { TcpServerEndpoint } = await import('../../../simulator/emulators/tcp-server.js');
  const { UdpSenderEndpoint } = await import('../../../simulator/emulators/udp-sender.js');
  try {
    if (opts.transport === 'tcp') {
      if (datagrams) throw new Error('this is a gemroc-udp recording: replay it with --transport udp');
      endpoint = await TcpServerEndpoint.listen({ listen: opts.listen });
    } else if (opts.transport === 'udp') {
      if (!datagrams) throw new Error('this is a gemx stream recording: replay it with --transport tcp');
      endpoint = await UdpSenderEndpoint.open({ target: opts.target, boards: 16 });
    } else {
      throw new Error(`--transport: expected tcp or udp, got '${opts.transport}'`);
    }
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  process.stderr.write(`replay: serving ${file} at ${endpoint.address} (speed ${opts.speed})\n`);
  if (opts.waitForClient && opts.transport === 'tcp' && !endpoint.hasReceiver()) {
    process.stderr.write('replay: waiting for a client to connect\n');
    await endpoint.whenReceiver();
  }
  const transport = createFileTransport(new URL(fileUrlFor(file, speed)));
  let sent = 0;
  let unsent = 0;
  await new Promise<void>((resolve, reject) => {
    const sub = transport.open().subscribe({
      next: (chunk) => {
        if (endpoint.write([chunk])) sent += chunk.length;
        else unsent += chunk.length;
      },
      error: (e: unknown) => reject(new CliError(e instanceof Error ? e.message : String(e))),
      complete: resolve,
    });
    const stop = (): void => {
      sub.unsubscribe();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await endpoint.close();
  const st = transport.status();
  process.stdout.write(`replayed ${st.frames as number} frames, ${sent} bytes sent${unsent ? `, ${unsent} bytes with no receiver` : ''}\n`);
}

export function register(program: Command): void {
  program
    .command('replay')
    .description('inspect a .gemx recording (--info), or serve it as the detector would at 1x, Nx or max speed')
    .argument('<file>', 'recording (.gemx)')
    .option('--info', 'print the header, duration, frame and record counts, gaps and errors (hits-level: event formation counters), then exit')
    .option('--json', 'with --info: print JSON')
    .option('--speed <factor>', "playback speed: 1, N (e.g. 10), or 'max'", '1')
    .option('--transport <kind>', 'serve over tcp (gemx recordings) or udp (gemroc-udp recordings)', 'tcp')
    .option('--listen <host:port>', 'tcp: address to listen on (port 0: any free port)', '127.0.0.1:48300')
    .option('--target <host:port>', 'udp: where to send the datagrams', '127.0.0.1:48350')
    .option('--no-wait-for-client', 'tcp: start at once instead of waiting for the first client')
    .action(async (file: string, opts: ReplayOptions, cmd: Command) => {
      if (opts.info) {
        const s = infoOf(file, cmd);
        if (opts.json) process.stdout.write(JSON.stringify(s, null, 2) + '\n');
        else printInfo(s);
        return;
      }
      if (opts.json) throw new CliError('--json goes with --info');
      await serve(file, opts);
    });
}
