// Property: a bad configuration names the exact key path and a reason, and validation never throws.
// Wrong values at known key paths (wrong types, NaN/Infinity as YAML writes them, out-of-range numbers, bad
// strings) and unknown keys at several levels; then `gemxrf config check` on generated bad YAML files.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { validateConfig } from '../../config/index.js';
import { runCli } from '../support/cli.js';

const notNumber = fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('5', '1e3', '.inf'), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.constant({ a: 1 }), fc.constantFrom(NaN, Infinity, -Infinity));
const intOutside = (min: number, max: number) => fc.oneof(notNumber, fc.integer({ min: -1e9, max: min - 1 }), fc.integer({ min: max + 1, max: max + 1e9 }), fc.integer({ min, max: max - 1 }).map((v) => v + 0.5));
const positiveOutside = (max: number) => fc.oneof(notNumber, fc.double({ min: -1e6, max: 0, noNaN: true }), fc.double({ min: max * 1.01, max: 1e300, noNaN: true, noDefaultInfinity: true }));
const notString = fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 2 }), fc.constant({ a: 'b' }));
const notBoolean = fc.oneof(fc.constantFrom('true', 'yes', 'on', 0, 1, null), fc.string({ maxLength: 5 }));
const notOneOf = (values: unknown[]) => fc.oneof(notString, fc.constant(null), fc.string({ maxLength: 8 })).filter((v) => !values.includes(v));

/** Key paths (dotted; a number is an array index) and values that are never valid there. */
const wrong: Array<[string, fc.Arbitrary<unknown>]> = [
  ['histogram.channels', intOutside(16, 4096)],
  ['detector.width', intOutside(1, 1024)],
  ['detector.adcBits', intOutside(8, 16)],
  ['detector.channelMap.0.board', intOutside(0, 15)],
  ['mqtt.embedded.port', intOutside(0, 65535)],
  ['simulator.seed', intOutside(0, 2 ** 31 - 1)],
  ['inference.threads', intOutside(1, 64)],
  ['storage.checkpointSeconds', positiveOutside(3600)],
  ['maps.cadenceSeconds', positiveOutside(3600)],
  ['simulator.rate', positiveOutside(100_000_000)],
  ['calibration.offsetKeV', fc.oneof(notNumber, fc.double({ min: 10.001, max: 1e9, noNaN: true }), fc.double({ min: -1e9, max: -10.001, noNaN: true }))],
  ['log.level', notOneOf(['debug', 'info', 'warn', 'error'])],
  ['simulator.transport', notOneOf(['tcp', 'udp', 'serial'])],
  ['mqtt.protocolVersion', fc.oneof(notNumber, fc.integer({ min: -10, max: 10 }).filter((v) => v !== 4 && v !== 5))],
  ['inference.enabled', notBoolean],
  ['http.enabled', notBoolean],
  ['instrument.id', fc.oneof(notString, fc.constantFrom('', 'a b', 'a/b', 'x'.repeat(65), 'é'))],
  ['mqtt.baseTopic', fc.oneof(notString, fc.constantFrom('a/#', 'a/+/b', 'a b', ''))],
  ['simulator.listen', fc.oneof(notString, fc.constantFrom('localhost', ':80', 'host:', 'h:123456'))],
  ['mqtt.url', notString],
  ['http.mqttWsUrl', fc.oneof(notString, fc.constantFrom('http://x', 'ws://', 'mqtt://a:1'))],
  ['maps.elements', fc.oneof(notString.filter((v) => !Array.isArray(v)), fc.constant([]), fc.constant(['fe']), fc.constant(['Xyz']))],
];

const validEntry = { board: 0, asic: 0, plane: 0, firstStrip: 0 };

/** A raw config with value at the dotted path (channelMap gets one otherwise valid entry). */
function withValue(path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  const root: Record<string, unknown> = {};
  let node: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < keys.length - 1; i++) {
    const k = keys[i]!;
    const nextIsIndex = /^\d+$/.test(keys[i + 1]!);
    const child: Record<string, unknown> | unknown[] = nextIsIndex ? [] : k === '0' ? { ...validEntry } : {};
    (node as Record<string, unknown>)[k] = child;
    node = child;
  }
  (node as Record<string, unknown>)[keys[keys.length - 1]!] = value;
  return root;
}

function check(raw: unknown): { path: string; reason: string }[] {
  let r: ReturnType<typeof validateConfig>;
  try {
    r = validateConfig(raw);
  } catch (e) {
    assert.fail(`validateConfig threw ${(e as Error).stack}`);
  }
  assert.equal(r.ok, false, 'a bad config must not validate');
  if (r.ok) return [];
  return r.problems;
}

/** A reason says something, and does not contradict itself ("expected number, got number"). */
function assertReason(reason: string, what: string): void {
  assert.ok(reason.trim().length > 0, what);
  const m = /expected (\w+), got (\w+)/.exec(reason);
  assert.ok(!m || m[1] !== m[2], `self-contradictory reason: ${what}`);
}

describe('config validation (property-based): the key path and the reason, never a throw', () => {
  it('a wrong value at a known key path is reported at exactly that path, with a reason', () => {
    fc.assert(
      fc.property(fc.constantFrom(...wrong).chain(([path, arb]) => arb.map((v) => [path, v] as const)), ([path, value]) => {
        const problems = check(withValue(path, value));
        const what = `${path} = ${String(value)} -> ${JSON.stringify(problems).slice(0, 300)}`;
        // At the key itself, or at an element of it (maps.elements.0).
        const mine = problems.filter((p) => p.path === path || p.path.startsWith(`${path}.`));
        assert.ok(mine.length >= 1, what);
        for (const p of mine) assertReason(p.reason, what);
        assert.equal(mine.length, problems.length, `only ${path} is wrong: ${what}`);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('an unknown key at any level is named with its full path', () => {
    const levels = ['', 'histogram', 'mqtt', 'mqtt.embedded', 'detector.channelMap.0', 'simulator'];
    const key = fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'Channels', 'channels ', 'url2'))
      .filter((k) => !['histogram', 'mqtt', 'detector', 'simulator', 'embedded', 'url', 'port', 'board', 'asic', 'plane', 'firstStrip', 'step'].includes(k));
    fc.assert(
      fc.property(fc.constantFrom(...levels), key, fc.jsonValue({ maxDepth: 2 }), (level, k, v) => {
        const raw = level ? withValue(level, undefined) : {};
        // The node at `level` (created above), or the root.
        let node: Record<string, unknown> = raw;
        if (level) {
          const keys = level.split('.');
          for (const part of keys.slice(0, -1)) node = node[part] as Record<string, unknown>;
          const last = keys[keys.length - 1]!;
          node[last] = /^\d+$/.test(last) ? { ...validEntry } : {};
          node = node[last] as Record<string, unknown>;
        }
        Object.defineProperty(node, k, { value: v, enumerable: true, configurable: true, writable: true });
        // A key starting with a quote is shown JSON-quoted (so that a quoted key is never ambiguous).
        const shownKey = k.startsWith('"') ? JSON.stringify(k) : k;
        const full = level ? `${level}.${shownKey}` : shownKey;
        const problems = check(raw);
        const what = `${full} -> ${JSON.stringify(problems).slice(0, 300)}`;
        assert.ok(problems.some((p) => p.path === full && p.reason === 'unknown key'), what);
      }),
      { seed: 42, numRuns: 150 },
    );
  });

  it('every problem is one printable line, whatever characters the keys and values hold; an odd key reads back', () => {
    // Keys and values with line breaks, control characters, separators, bidi controls, quotes, any code point.
    const nasty = fc.constantFrom('\n', '\r', '\r\n', '\t', '\u0000', '\u001b', '\u007f', '\u0085', '\u2028', '\u2029', '\u202e', '\ufeff', '"', '\\', '.', ' ');
    const oddString = fc.array(fc.oneof(nasty, fc.string({ maxLength: 4, unit: 'binary' })), { minLength: 1, maxLength: 5 }).map((parts) => parts.join(''));
    const levels = ['', 'histogram', 'mqtt', 'mqtt.embedded', 'detector.channelMap.0'];
    const badLine = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
    fc.assert(
      fc.property(fc.constantFrom(...levels), oddString.filter((k) => !['histogram', 'mqtt', 'detector', 'embedded'].includes(k)), oddString, fc.constantFrom('instrument.id', 'mqtt.baseTopic', 'log.level', 'detector.width'), (level, k, v, valuePath) => {
        const raw = withValue(valuePath, v);
        let node: Record<string, unknown> = raw;
        for (const part of level ? level.split('.') : []) {
          if (part === 'channelMap') node[part] = [{ ...validEntry }];
          else node[part] ??= {};
          node = node[part] as Record<string, unknown>;
        }
        Object.defineProperty(node, k, { value: 1, enumerable: true, configurable: true, writable: true });
        const problems = check(raw);
        const what = JSON.stringify(problems).slice(0, 400);
        for (const p of problems) {
          const line = `${p.path}: ${p.reason}`;
          assert.doesNotMatch(line, badLine, `not one printable line: ${JSON.stringify(line)} (${what})`);
        }
        // The unknown key is named: its last path segment reads back as the key (JSON-quoted when odd).
        const prefix = level ? `${level}.` : '';
        const named = problems.filter((p) => p.reason === 'unknown key' && p.path.startsWith(prefix)).map((p) => p.path.slice(prefix.length));
        assert.ok(named.some((seg) => seg === k || (seg.startsWith('"') && JSON.parse(seg) === k)), `${JSON.stringify(k)} named: ${what}`);
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('never throws, whatever the parsed YAML is', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything({ maxDepth: 3 }), fc.dictionary(fc.constantFrom('histogram', 'mqtt', 'detector', 'maps', 'log'), fc.anything({ maxDepth: 2 }))), (raw) => {
        let r: ReturnType<typeof validateConfig> | undefined;
        assert.doesNotThrow(() => (r = validateConfig(raw)));
        if (r && !r.ok) for (const p of r.problems) assertReason(p.reason, `${p.path}: ${p.reason}`);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('gemxrf config check: generated bad YAML files exit 1 with one line per problem naming the key', function () {
    this.timeout(60_000);
    const dir = mkdtempSync(join(tmpdir(), 'gemxrf-config-prop-'));
    try {
      // Values YAML can write (no NaN: a YAML file has .nan, tested through validateConfig above), 2-3 bad keys.
      const yamlable = wrong.filter(([p]) => p !== 'detector.channelMap.0.board');
      const files = fc.sample(
        fc.uniqueArray(fc.constantFrom(...yamlable), { minLength: 2, maxLength: 3, selector: ([p]) => p.split('.')[0] })
          .chain((picks) => fc.tuple(...picks.map(([p, arb]) => arb.filter((v) => typeof v !== 'number' || Number.isFinite(v)).map((v) => [p, v] as const)))),
        { seed: 42, numRuns: 3 },
      );
      for (const [i, picks] of files.entries()) {
        const raw: Record<string, Record<string, unknown>> = {};
        for (const [p, v] of picks) {
          const obj = withValue(p, v) as Record<string, Record<string, unknown>>;
          for (const [s, body] of Object.entries(obj)) raw[s] = { ...raw[s], ...body };
        }
        raw['histogram'] = { ...raw['histogram'], bogusKey: 1 };
        const file = join(dir, `bad-${i}.yaml`);
        writeFileSync(file, stringify(raw));
        const r = runCli(['config', 'check', file]);
        const what = `${stringify(raw)}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`;
        assert.notEqual(r.status, 0, what);
        const lines = r.stdout.trim().split('\n');
        for (const [p] of picks) assert.ok(lines.some((l) => l.startsWith(`${p}: `) && l.length > p.length + 2), `${p} named: ${what}`);
        assert.ok(lines.includes('histogram.bogusKey: unknown key'), what);
        for (const l of lines) assert.match(l, /^[\w.]+: \S/, what);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
