// gemxrf config check FILE | gemxrf config show
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { applyEnvOverrides, parseConfigText, validateConfig } from '../../../config/index.js';
import { redactSecrets } from '../../../config/redact.js';
import { configFor } from '../context.js';
import { CliError } from '../errors.js';

export function register(program: Command): void {
  const config = program.command('config').description('check or show the configuration');

  config
    .command('check')
    .argument('<file>', 'YAML configuration file')
    .description("validate a configuration file: prints 'ok', or one line per problem (key path: reason) and exits 1")
    .action((file: string) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      const { raw, problems } = parseConfigText(text);
      const envProblems = problems.length === 0 ? applyEnvOverrides(raw as Record<string, unknown>, process.env) : [];
      const all = problems.length ? problems : (() => {
        const r = validateConfig(raw);
        return [...envProblems, ...(r.ok ? [] : r.problems)];
      })();
      if (all.length === 0) {
        console.log('ok');
        return;
      }
      for (const p of all) console.log(`${p.path}: ${p.reason}`);
      process.exitCode = 1;
    });

  config
    .command('show')
    .description('print the effective configuration (defaults <- file <- GEMXRF_* environment) as YAML')
    .option('--json', 'print JSON instead of YAML')
    .option('--show-secrets', 'print the broker passwords as they are (masked as *** by default, as in every published snapshot)')
    .action((opts: { json?: boolean; showSecrets?: boolean }, cmd: Command) => {
      // Masked by default: the output gets pasted into tickets and chats.
      const effective = opts.showSecrets ? configFor(cmd) : redactSecrets(configFor(cmd));
      process.stdout.write(opts.json ? JSON.stringify(effective, null, 2) + '\n' : stringify(effective));
    });
}
