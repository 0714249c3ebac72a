// Structured log lines: `2025-01-01T12:00:00.000Z info  message key=value ...`, one per line, filtered by level.
// Plain text on stderr-free stdout so `npm start | tee` and journald both keep it; values with spaces are quoted.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  log(level: LogLevel, msg: string, fields?: LogFields): void;
}

function formatValue(v: string | number | boolean | null): string {
  const s = String(v);
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
}

export function formatLine(level: LogLevel, msg: string, fields: LogFields = {}, now = new Date()): string {
  let line = `${now.toISOString()} ${level.padEnd(5)} ${msg}`;
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) line += ` ${k}=${formatValue(v)}`;
  return line;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stdout.write(l + '\n')): Logger {
  const min = RANK[level];
  const log = (lv: LogLevel, msg: string, fields?: LogFields): void => {
    if (RANK[lv] >= min) write(formatLine(lv, msg, fields));
  };
  return {
    log,
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
  };
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = createLogger('error', () => undefined);
