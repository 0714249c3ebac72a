// The gemxrf command line: one file per command under daemon/cli/commands/, each exporting
// register(program). Errors are one clear line on stderr and a non-zero exit.
import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.js';
import { CliError } from './errors.js';

const program = new Command();
program
  .name('gemxrf')
  .description('Full-field XRF imager daemon for GEM detectors: live cube, elemental maps, MQTT.')
  .version('0.1.0')
  .option('-c, --config <file>', 'configuration file (YAML)', undefined)
  // A usage mistake is one line on stderr like every other error (not the whole help page after it), with
  // the hint where the help is; subcommands inherit this output configuration.
  .configureOutput({ outputError: (text, write) => write(`gemxrf: ${text.replace(/^error: /, '').trimEnd()} (--help for usage)\n`) })
  .exitOverride();

for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else if (err instanceof CliError) {
    process.stderr.write(`gemxrf: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`gemxrf: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.GEMXRF_DEBUG) console.error(err);
    process.exitCode = 1;
  }
}
