// gemxrf daemon [--config FILE]: runs the instrument daemon until SIGINT/SIGTERM (then finishes the scan's
// files and publishes offline). With no configuration: embedded broker, simulated phantom-painting detector,
// ./data.
import type { Command } from 'commander';
import { stuckInferenceWorkers } from '../../../pipelines/inference/index.js';
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
      // An inference worker given up inside onnxruntime (a model run past inference.workerTimeoutSeconds) cannot
      // be ended, and Node joins every worker thread at exit: the process would wait for that run forever. The
      // scan's files and the database are closed by now; exit without waiting (stdout/stderr are synchronous).
      const stuck = stuckInferenceWorkers();
      if (stuck > 0) {
        log.error('an inference worker is stuck in a model run; exiting without waiting for it', { workers: stuck });
        process.kill(process.pid, 'SIGKILL');
      }
    });
}
