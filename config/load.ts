// Loads the effective configuration: defaults <- YAML file <- GEMXRF_<PATH> environment variables.
// Every problem is reported with its key path and reason; nothing is silently ignored.
import { readFileSync, existsSync } from 'node:fs';
import { parse as parseYaml, parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type GemxrfConfig } from './schema.js';

export const DEFAULT_CONFIG_FILE = 'gemxrf.yaml';

export interface ConfigProblem {
  path: string;
  reason: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[], readonly source: string) {
    super(`invalid configuration (${source}):\n` + problems.map((p) => `  ${p.path}: ${p.reason}`).join('\n'));
    this.name = 'ConfigError';
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  // YAML's .nan and .inf are numbers that the schema refuses: say which, not "expected number, got number".
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return typeof value;
}

/** Characters that would break a one-problem-per-line output or disguise it: C0 and C1 control characters
 *  (newline, carriage return, tab, escape...), DEL, the line and paragraph separators, bidi controls, BOM. */
const UNPRINTABLE = '\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufeff';
const UNPRINTABLE_ANY = new RegExp(`[${UNPRINTABLE}]`);
const UNPRINTABLE_ALL = new RegExp(`[${UNPRINTABLE}]`, 'g');

/** The text with those characters written as JSON escapes (`\n`, `\t`, `\u2028`): one printable line. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE_ALL, (ch) => {
    const json = JSON.stringify(ch).slice(1, -1);
    return json !== ch ? json : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** One key of a problem's path: as it is, or JSON-quoted (`"a\nb"`) when it is empty, holds a character
 *  that is not printable on one line, or starts with a quote (so a quoted segment is never ambiguous). */
export function pathSegment(key: PropertyKey): string {
  const text = String(key);
  return text === '' || text.startsWith('"') || UNPRINTABLE_ANY.test(text) ? printable(JSON.stringify(text)) : text;
}

/** A problem's key path: `histogram.channels`, `detector.channelMap.0.board`, `maps."a\nb"`. */
export function keyPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map(pathSegment).join('.');
}

/** The offending value as shown in a message: JSON (control characters escaped), cut to a line's worth (a
 *  pasted 100 kB string must not make a 100 kB error line). */
function shown(value: unknown): string {
  const text = printable(JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Whether the object at path's parent has path's last key at all (undefined values count as present). */
function hasKey(root: unknown, path: ReadonlyArray<PropertyKey>): boolean {
  const parent = valueAt(root, path.slice(0, -1));
  return parent !== null && typeof parent === 'object' && Object.prototype.hasOwnProperty.call(parent, path[path.length - 1]!);
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = root;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** Turns zod issues into one line per problem: "histogram.channels: must be >= 16 (got 4)". */
export function formatIssues(issues: z.core.$ZodIssue[], input: unknown): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    const base = keyPath(issue.path);
    const got = valueAt(input, issue.path);
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) out.push({ path: base ? `${base}.${pathSegment(key)}` : pathSegment(key), reason: 'unknown key' });
        break;
      case 'invalid_type':
        // A required key left out (e.g. a channelMap entry without `board`) is missing, not of a wrong type.
        if (got === undefined && issue.path.length > 0 && !hasKey(input, issue.path)) out.push({ path: base, reason: `missing: expected ${issue.expected}` });
        else out.push({ path: base || '(root)', reason: `wrong type: expected ${issue.expected}, got ${describe(got)}` });
        break;
      case 'too_small':
        out.push({ path: base, reason: `out of range: must be ${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)} (got ${shown(got)})` });
        break;
      case 'too_big':
        out.push({ path: base, reason: `out of range: must be ${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)} (got ${shown(got)})` });
        break;
      case 'invalid_value':
        out.push({ path: base, reason: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')} (got ${shown(got)})` });
        break;
      case 'invalid_union':
        out.push({ path: base, reason: `invalid value ${shown(got)}` });
        break;
      default:
        out.push({ path: base || '(root)', reason: `${issue.message}${got !== undefined ? ` (got ${shown(got)})` : ''}` });
    }
  }
  // Every reason on one printable line too, whatever a message quotes.
  return out.map((p) => ({ path: p.path, reason: printable(p.reason) }));
}

/** Validates a raw (parsed YAML) config; returns the config with defaults, or the list of problems. */
export function validateConfig(raw: unknown): { ok: true; config: GemxrfConfig } | { ok: false; problems: ConfigProblem[] } {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return { ok: true, config: result.data };
  return { ok: false, problems: formatIssues(result.error.issues, raw) };
}

/** The defaults alone: what `npm start` runs with. */
export function defaultConfig(): GemxrfConfig {
  return configSchema.parse({});
}

/** Parses YAML text, reporting syntax errors with line numbers as problems. */
export function parseConfigText(text: string): { raw: unknown; problems: ConfigProblem[] } {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    return { raw: undefined, problems: doc.errors.map((e) => ({ path: '(yaml)', reason: printable(e.message.split('\n')[0] ?? e.message) })) };
  }
  const raw = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) return { raw, problems: [{ path: '(root)', reason: 'expected a mapping of sections' }] };
  return { raw, problems: [] };
}

/** The schema of one key (with its default/nullable wrappers), or null when the path is not in the schema. */
function schemaAt(path: string[]): z.ZodType | null {
  type Node = { shape?: Record<string, Node>; _zod: { def: { innerType?: Node } } };
  let s: Node | undefined = configSchema as unknown as Node;
  for (const key of path) {
    while (s && !s.shape && s._zod.def.innerType) s = s._zod.def.innerType;
    s = s?.shape?.[key];
    if (!s) return null;
  }
  return s as unknown as z.ZodType;
}

/** How a variable's text reads as a value: YAML (numbers, booleans, null, [a, b]), except for a key that takes
 *  a string: there the text is the value as written (GEMXRF_INSTRUMENT_ID=2024, a password with a '#'),
 *  unless it spells null (null, ~ or nothing), which resets a nullable key. */
function envValue(text: string, key: z.ZodType | null): unknown {
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch {
    return text;
  }
  if (parsed === text || !key || !key.safeParse(text).success) return parsed;
  if (parsed === null && /^\s*(null|Null|NULL|~)?\s*$/.test(text)) return parsed;
  return text;
}

/** The top-level section a variable's name starts with (GEMXRF_MQTT_URLL -> mqtt), or null. */
function sectionOf(template: Record<string, unknown>, parts: string[]): string | null {
  for (const key of Object.keys(template)) {
    let joined = '';
    for (const part of parts) {
      joined += part;
      if (joined === key.toLowerCase()) return key;
      if (joined.length >= key.length) break;
    }
  }
  return null;
}

/**
 * Applies GEMXRF_<PATH> variables onto raw config. Path segments are matched case-insensitively
 * against the schema's keys, and a camelCase key may be spelt with or without underscores:
 * GEMXRF_MQTT_URL -> mqtt.url, GEMXRF_STORAGE_DATA_DIR or GEMXRF_STORAGE_DATADIR -> storage.dataDir.
 * Values are parsed as YAML scalars/flow collections (numbers, booleans, null, [a, b]); a string key takes
 * the text as it is. A variable that starts with a section's name but names none of its keys is a problem
 * (a typo must not be silently ignored); the returned problems name the variable.
 */
export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const template = defaultConfig() as unknown as Record<string, unknown>;
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('GEMXRF_') || value === undefined) continue;
    const parts = name.slice('GEMXRF_'.length).toLowerCase().split('_').filter(Boolean);
    const path = resolveEnvPath(template, parts);
    if (!path) {
      // Variables outside the sections (GEMXRF_DEBUG, GEMXRF_FROM_SOURCE) belong to the CLI, not here.
      const section = sectionOf(template, parts);
      if (section) problems.push({ path: printable(name), reason: `not a configuration key (no key of '${section}' is spelt like that)` });
      continue;
    }
    if (path.length === 0) continue;
    const parsed = envValue(value, schemaAt(path));
    let node = raw;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = parsed;
  }
  return problems;
}

function resolveEnvPath(template: unknown, parts: string[]): string[] | null {
  if (parts.length === 0) return [];
  if (template === null || typeof template !== 'object' || Array.isArray(template)) return null;
  for (const key of Object.keys(template)) {
    const lower = key.toLowerCase();
    // Try consuming 1..n parts for this key (dataDir = "data" + "dir" or "datadir").
    let joined = '';
    for (let i = 0; i < parts.length; i++) {
      joined += parts[i];
      if (joined === lower) {
        const rest = resolveEnvPath((template as Record<string, unknown>)[key], parts.slice(i + 1));
        if (rest) return [key, ...rest];
      }
      if (joined.length >= lower.length) break;
    }
  }
  return null;
}

export interface LoadOptions {
  /** Explicit file (--config); when absent, gemxrf.yaml in the working directory if it exists. */
  file?: string;
  env?: NodeJS.ProcessEnv;
}

/** Loads and validates; throws ConfigError naming every bad key. */
export function loadConfig(opts: LoadOptions = {}): { config: GemxrfConfig; source: string } {
  const env = opts.env ?? process.env;
  let raw: Record<string, unknown> = {};
  let source = 'defaults';
  const file = opts.file ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError([{ path: '(file)', reason: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }], file);
    }
    const { raw: parsed, problems } = parseConfigText(text);
    if (problems.length) throw new ConfigError(problems, file);
    raw = parsed as Record<string, unknown>;
    source = file;
  }
  const envProblems = applyEnvOverrides(raw, env);
  const result = validateConfig(raw);
  if (envProblems.length || !result.ok) throw new ConfigError([...envProblems, ...(result.ok ? [] : result.problems)], envProblems.length ? `${source} + environment` : source);
  return { config: result.config, source };
}
