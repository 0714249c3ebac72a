// gemxrf record --from URL --out FILE.gemx [--duration S]: captures a detector stream untouched into a
// recording (header with the effective config, then the bytes exactly as they arrived; udp datagrams are
// wrapped one per gemx DATAGRAM frame so their boundaries survive).
import type { Command } from 'commander';
import { redactSecrets } from '../../../config/redact.js';
import type { Subscription } from 'rxjs';
import { GemxDecoder } from '../../../drivers/codecs/gemx-decode.js';
import { StreamFormat } from '../../../drivers/codecs/recording-header.js';
import { streamFormatOfUrl as streamFormatOf } from '../../../drivers/stream-format.js';
import { RecordingWriter } from '../../../drivers/file/recording-writer.js';
import { openTransport } from '../../../drivers/open-transport.js';
import { configFor, numberOption } from '../context.js';
import { CliError } from '../errors.js';

interface RecordOptions {
  from: string;
  out: string;
  duration?: string;
  overwrite?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('record')
    .description('capture a detector stream untouched into a .gemx recording (stops at --duration, end of stream, or Ctrl-C)')
    .requiredOption('--from <url>', 'source transport URL: tcp://host:port, udp://:48350, serial:///dev/ttyACM0, usb:..., file://x.gemx')
    .requiredOption('--out <file>', 'recording to create (.gemx); never overwritten unless --overwrite')
    .option('--duration <seconds>', 'stop after this many seconds')
    .option('--overwrite', 'replace an existing output file')
    .option('-q, --quiet', 'no progress lines')
    .action(async (opts: RecordOptions, cmd: Command) => {
      const durationS = opts.duration === undefined ? undefined : numberOption('duration', opts.duration, { min: 0 });
      const config = configFor(cmd);
      await import('../../../drivers/transports/index.js'); // registers serial/usb/tcp/udp (loaded only when recording)
      let transport;
      try {
        transport = openTransport(opts.from);
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      const streamFormat = streamFormatOf(opts.from);
      let writer: RecordingWriter;
      try {
        writer = RecordingWriter.create(opts.out, { instrumentId: config.instrument.id, streamFormat, meta: { config: redactSecrets(config), source: opts.from, software: 'gemxrf 0.1.0' } }, { flushMs: config.storage.flushSeconds * 1000 });
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      // Counting frames on the side (header + CRC only) so the operator sees what was captured.
      const decoder = new GemxDecoder({ decodePayload: false });
      const t0 = process.hrtime.bigint();
      let chunks = 0;
      let failure: Error | null = null;
      await new Promise<void>((resolve) => {
        let sub: Subscription | undefined;
        let finished = false;
        const finish = (): void => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          clearInterval(progress);
          process.off('SIGINT', finish);
          process.off('SIGTERM', finish);
          sub?.unsubscribe();
          resolve();
        };
        const timer = durationS === undefined ? undefined : setTimeout(finish, durationS * 1000);
        const progress = setInterval(() => {
          if (!opts.quiet) process.stderr.write(`record: ${writer.offset} bytes, ${decoder.counters.framesOk} frames, ${transport.status().state}\n`);
        }, 5000);
        process.once('SIGINT', finish);
        process.once('SIGTERM', finish);
        sub = transport.open().subscribe({
          next: (chunk) => {
            chunks++;
            try {
              if (streamFormat === StreamFormat.GEMROC_UDP) writer.appendDatagram(chunk, Number(process.hrtime.bigint() - t0));
              else {
                writer.append(chunk);
                decoder.push(chunk);
              }
            } catch (e) {
              failure = e as Error;
              finish();
            }
          },
          error: (e: unknown) => {
            failure = e instanceof Error ? e : new Error(String(e));
            finish();
          },
          complete: finish,
        });
        if (finished) sub.unsubscribe();
      });
      await transport.close();
      await writer.close();
      decoder.end();
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const c = decoder.counters;
      const frames = streamFormat === StreamFormat.GEMROC_UDP ? `${chunks} datagrams` : `${c.framesOk} frames (${c.events} events, ${c.hits} hits, ${c.framesLost} lost, ${c.crcErrors} CRC errors)`;
      process.stdout.write(`recorded ${writer.offset} bytes, ${frames} in ${secs.toFixed(1)} s to ${opts.out}\n`);
      if (failure) throw new CliError(`record stopped: ${(failure as Error).message} (what arrived before is saved in ${opts.out})`);
    });
}
