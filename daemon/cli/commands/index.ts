// Every CLI command, in the order `gemxrf --help` lists them. Add one import and one entry per command.
import type { Command } from 'commander';
import { register as evaluate } from './eval.js';
import { register as calibrate } from './calibrate.js';
import { register as config } from './config.js';
import { register as daemon } from './daemon.js';
import { register as dataset } from './dataset.js';
import { register as lines } from './lines.js';
import { register as maps } from './maps.js';
import { register as record } from './record.js';
import { register as replay } from './replay.js';
import { register as scan } from './scan.js';
import { register as scanExport } from './export.js';
import { register as simulate } from './simulate.js';
import { register as spectrum } from './spectrum.js';

export const commands: Array<(program: Command) => void> = [
  calibrate,
  config,
  daemon,
  dataset,
  lines,
  maps,
  record,
  replay,
  scan,
  scanExport, // adds `scan export` (after scan: it attaches to that command)
  simulate,
  spectrum,
  evaluate,
];
