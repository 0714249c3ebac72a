// Shared helpers for CLI commands: the effective config from the global --config option.
import type { Command } from 'commander';
import { ConfigError, loadConfig, type GemxrfConfig } from '../../config/index.js';
import { CliError } from './errors.js';

/** The effective configuration for a command: --config FILE (global), else gemxrf.yaml, else defaults. */
export function configFor(cmd: Command): GemxrfConfig {
  const root = rootOf(cmd);
  const file = root.opts<{ config?: string }>().config;
  try {
    return loadConfig({ file }).config;
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 1);
    throw err;
  }
}

function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

/** Parses a number option, naming the option in the error. */
export function numberOption(name: string, value: string, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
  const v = Number(value);
  if (!Number.isFinite(v)) throw new CliError(`--${name}: expected a number, got '${value}'`);
  if (opts.integer && !Number.isInteger(v)) throw new CliError(`--${name}: expected an integer, got '${value}'`);
  if (opts.min !== undefined && v < opts.min) throw new CliError(`--${name}: must be >= ${opts.min}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) throw new CliError(`--${name}: must be <= ${opts.max}, got ${v}`);
  return v;
}
