// gemxrf simulate: the simulated detector as its own process, speaking the real wire formats — a TCP server
// (gemx frames to every client), gemroc-udp datagrams to a target (--level hits), or a socat pty pair
// (--transport serial; prints the device path to open). Faults for robustness tests: --drop, --corrupt,
// --garbage, --disconnect-every. The first stdout line is the URL to open; a summary follows at the end.
import type { Command } from 'commander';
import type { EmulatorOptions, EmulatorStats } from '../../../simulator/emulators/index.js';
import { configFor, numberOption } from '../context.js';
import { CliError } from '../errors.js';

interface SimulateOptions {
  phantom?: string;
  rate?: string;
  level?: string;
  transport?: string;
  listen?: string;
  target: string;
  seed?: string;
  duration?: string;
  maxRecords?: string;
  frameMs: string;
  frameRecords: string;
  corrupt?: string;
  drop?: string;
  garbage?: string | boolean;
  disconnectEvery?: string;
  start?: string;
  statsEvery: string;
  json?: boolean;
}

const probability = (name: string, v: string | undefined): number | undefined => (v === undefined ? undefined : numberOption(name, v, { min: 0, max: 1 }));

function summary(s: EmulatorStats): string {
  return [
    `${s.elapsedSec.toFixed(2)} s`,
    `${s.records} records (${Math.round(s.achievedRate)}/s)`,
    `${s.framesSent} frames sent`,
    s.framesDropped ? `${s.framesDropped} dropped` : '',
    s.framesCorrupted ? `${s.framesCorrupted} corrupted` : '',
    s.garbageChunks ? `${s.garbageBytes} garbage bytes` : '',
    s.framesUnheard ? `${s.framesUnheard} unheard` : '',
    s.disconnects ? `${s.disconnects} disconnects` : '',
    `max tick delay ${s.maxTickLagMs.toFixed(1)} ms`,
    s.cappedTicks ? `behind the requested rate in ${s.cappedTicks} of ${s.ticks} ticks` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

export function register(program: Command): void {
  program
    .command('simulate')
    .description('serve a simulated detector over tcp, udp (gemroc) or serial (socat pty), paced in real time')
    .option('--phantom <name>', "phantom: phantom-painting, old-master, uniform:El, png:DIR (default: config simulator.phantom)")
    .option('--rate <events/s>', 'mean event rate (default: config simulator.rate)')
    .option('--level <level>', 'events (formed events) or hits (strip hits) (default: config simulator.level)')
    .option('--transport <kind>', 'tcp, udp or serial (default: config simulator.transport)')
    .option('--listen <host:port>', 'tcp: address to listen on (default: config simulator.listen)')
    .option('--target <host:port>', 'udp: where to send the gemroc datagrams', '127.0.0.1:48350')
    .option('--seed <n>', 'random seed (default: config simulator.seed)')
    .option('--duration <s>', 'stop after this many seconds of device time (sends END)')
    .option('--max-records <n>', 'stop after this many events/hits (sends END)')
    .option('--frame-ms <ms>', 'one batch per this many ms', '5')
    .option('--frame-records <n>', 'at most this many records per gemx frame', '8192')
    .option('--corrupt <p>', 'fault: probability per frame of one flipped bit (tcp, serial)')
    .option('--drop <p>', 'fault: probability per frame of losing it (its sequence number is skipped)')
    .option('--garbage [p]', 'fault: probability per frame of random bytes before it (flag alone: 0.05)')
    .option('--disconnect-every <s>', 'fault: drop the link every this many seconds (tcp: close clients, serial: kill socat, udp: new source ports)')
    .option('--start <when>', "start the clock 'now' or on the first 'receiver' (tcp default: receiver; others: now)")
    .option('--stats-every <s>', 'print a progress line on stderr this often (0: never)', '5')
    .option('--json', 'print the final stats as JSON instead of a summary line')
    .action(async (opts: SimulateOptions, cmd: Command) => {
      const cfg = configFor(cmd);
      const sim = cfg.simulator;
      const transport = opts.transport ?? sim.transport;
      if (transport === 'usb')
        throw new CliError('--transport usb: the fake USB device exists only in-process (startEmulator in tests and the daemon); a separate process cannot present a USB device');
      if (!['tcp', 'udp', 'serial'].includes(transport)) throw new CliError(`--transport: expected tcp, udp or serial, got '${transport}'`);
      const level = opts.level ?? sim.level;
      if (level !== 'events' && level !== 'hits') throw new CliError(`--level: expected events or hits, got '${level}'`);
      const start = opts.start;
      if (start !== undefined && start !== 'now' && start !== 'receiver') throw new CliError(`--start: expected now or receiver, got '${start}'`);
      const garbage = opts.garbage === true ? 0.05 : probability('garbage', opts.garbage === false ? undefined : opts.garbage);
      const corrupt = probability('corrupt', opts.corrupt);
      const drop = probability('drop', opts.drop);
      const disconnectEverySec = opts.disconnectEvery !== undefined ? numberOption('disconnect-every', opts.disconnectEvery, { min: 0.01 }) : undefined;
      const options: EmulatorOptions = {
        transport: transport as EmulatorOptions['transport'],
        level,
        rate: opts.rate !== undefined ? numberOption('rate', opts.rate, { min: 1, max: 100_000_000 }) : sim.rate,
        phantom: opts.phantom ?? sim.phantom,
        seed: opts.seed !== undefined ? numberOption('seed', opts.seed, { min: 0, max: 2 ** 31 - 1, integer: true }) : sim.seed,
        listen: opts.listen ?? sim.listen,
        target: opts.target,
        channelMap: cfg.detector.channelMap,
        width: cfg.detector.width,
        height: cfg.detector.height,
        stripsPerPlane: cfg.detector.stripsPerPlane,
        framePeriodMs: numberOption('frame-ms', opts.frameMs, { min: 0.5, max: 1000 }),
        maxRecordsPerFrame: numberOption('frame-records', opts.frameRecords, { min: 1, max: 100_000, integer: true }),
        ...(opts.duration !== undefined ? { durationSec: numberOption('duration', opts.duration, { min: 0.001 }) } : {}),
        ...(opts.maxRecords !== undefined ? { maxRecords: numberOption('max-records', opts.maxRecords, { min: 1, integer: true }) } : {}),
        faults: {
          ...(corrupt !== undefined ? { corrupt } : {}),
          ...(drop !== undefined ? { drop } : {}),
          ...(garbage !== undefined ? { garbage } : {}),
          ...(disconnectEverySec !== undefined ? { disconnectEverySec } : {}),
        },
        ...(start ? { start: start as 'now' | 'receiver' } : {}),
      };
      const statsEvery = numberOption('stats-every', opts.statsEvery, { min: 0 });

      const { startEmulator } = await import('../../../simulator/emulators/index.js');
      let emu;
      try {
        emu = await startEmulator(options);
      } catch (e) {
        throw new CliError(`simulate: ${(e as Error).message}`);
      }
      process.stdout.write(`${emu.address}\n`);
      process.stderr.write(
        `simulate: ${options.level} at ${options.rate}/s from ${options.phantom} (seed ${options.seed}) on ${emu.address}` +
          (transport === 'serial' ? ` — open serial://${emu.serialEndpoint!.hostPath}` : '') +
          (transport === 'tcp' && (start ?? 'receiver') === 'receiver' ? ' — the clock starts when the first client connects' : '') +
          '\n',
      );
      const ticker = statsEvery > 0 ? setInterval(() => process.stderr.write(`simulate: ${summary(emu.stats())}\n`), statsEvery * 1000) : undefined;
      const onSignal = (): void => void emu.stop();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const final = await emu.done;
      if (ticker) clearInterval(ticker);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.stdout.write(opts.json ? JSON.stringify(final) + '\n' : `simulate: ${summary(final)}\n`);
    });
}
