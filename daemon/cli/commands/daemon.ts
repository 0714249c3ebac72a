// gemxrf daemon [--config FILE]: runs the instrument daemon until SIGINT/SIGTERM (then finishes the scan's
// files and publishes offline). With no configuration: embedded broker, simulated phantom-painting detector,
// ./data.
import type { Command } from 'commander';
import { startDaemon } from '../../daemon.js';
import { createLogger } from '../../log.js';
import { configFor } from '../context.js';
import { CliError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('daemon')
    .description('run the instrument daemon: detector link, live cube and maps, MQTT, storage (Ctrl-C stops cleanly)')
    .option('--data-dir <dir>', 'data directory (overrides storage.dataDir)')
    .option('--no-simulator', 'do not start the in-process simulated detector (read config source.url)')
    .action(async (opts: { dataDir?: string; simulator?: boolean }, cmd: Command) => {
      const config = configFor(cmd);
      if (opts.dataDir) config.storage.dataDir = opts.dataDir;
      if (opts.simulator === false) config.simulator.enabled = false;
      const log = createLogger(config.log.level);
      let daemon;
      try {
        daemon = await startDaemon(config, log);
      } catch (e) {
        throw new CliError(`daemon: ${(e as Error).message}`);
      }
      // Printed once, plainly, for the operator (the log line above carries the same for machines).
      process.stderr.write(
        `gemxrf daemon running\n  broker   ${daemon.brokerUrl}\n  ws       ${daemon.wsUrl ?? '-'}\n  topics   ${daemon.bridge.topic('#')}\n  data     ${daemon.dataDir}\n  source   ${daemon.sourceUrl}\n`,
      );
      await new Promise<void>((resolve) => {
        const onSignal = (sig: string) => {
          log.info('signal received', { signal: sig });
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          void daemon.stop().then(resolve, (e: Error) => {
            log.error('shutdown failed', { error: e.message });
            resolve();
          });
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
    });
}
