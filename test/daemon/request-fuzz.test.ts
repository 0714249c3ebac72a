// Property: a bad MQTT request gets exactly one error response (status "error", a non-empty error, the
// transaction echoed when it can be) and never takes the daemon down. Every registered command gets
// fast-check-generated payloads that are invalid by construction (never a valid scan/start), and the list of
// commands registered in the code must equal the commands documented in docs/mqtt.md.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import mqtt from 'mqtt';
import { repoRoot } from '../support/cli.js';
import { startRig, tempDir, testConfig, waitForMessage, type Response, type TestRig } from './helpers.js';

const BASE = 'gemxrf/test';
const LIMIT = 64 * 1024;

/** The commands documented in docs/mqtt.md's request table. */
function documentedCommands(): string[] {
  const md = readFileSync(join(repoRoot, 'docs', 'mqtt.md'), 'utf8');
  const section = md.slice(md.indexOf('## Requests'));
  const table = section.slice(0, section.indexOf('\n## ', 5) > 0 ? section.indexOf('\n## ', 5) : undefined);
  return [...table.matchAll(/^\| `([^`]+)` \| `\{/gm)].map((m) => m[1]!).sort();
}

type Field = { valid: fc.Arbitrary<unknown>; invalid: fc.Arbitrary<unknown>; required?: boolean };

// Values that are never a number (or never a valid one): numbers spelt as strings, other types, nested junk.
const numberAsString = fc.constantFrom('1', '-1', '0', 'NaN', 'Infinity', '-Infinity', '1e309', '9'.repeat(400), '0x10', ' 5 ', '');
const deep = (depth: number, leaf: unknown = 1): unknown => {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
};
const deepValue = fc.integer({ min: 50, max: 1500 }).map((d) => deep(d));
/** JSON text nested d deep, built as text: deeper than JSON.stringify can write (it recurses). */
const deepText = (d: number): string => '{"a":['.repeat(d) + '1' + ']}'.repeat(d);
/** JSON of obj with the value of key `slot` replaced by JSON text. */
const withRawValue = (obj: Record<string, unknown>, slot: string, text: string): string => JSON.stringify({ ...obj, [slot]: '\u0000SLOT' }).replace('"\\u0000SLOT"', text);
const notAString = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }), deepValue);
const notANumber = fc.oneof(numberAsString, fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 2 }), deepValue);
const longString = (min: number) => fc.integer({ min: min + 1, max: 100_000 }).map((n) => 'x'.repeat(n));

const posNumberField = (max: number): Field => ({
  valid: fc.double({ min: 1, max, noNaN: true }),
  invalid: fc.oneof(notANumber, fc.double({ max: 0, noNaN: true, noDefaultInfinity: true }), fc.double({ min: max * 2, max: 1e308, noNaN: true, noDefaultInfinity: true })),
});
const intField = (min: number, max: number): Field => ({
  valid: fc.integer({ min, max }),
  invalid: fc.oneof(
    notANumber,
    fc.integer({ min: -1e9, max: min - 1 }),
    fc.double({ min: max + 1, max: 1e308, noNaN: true, noDefaultInfinity: true }),
    fc.integer({ min, max: Math.min(max - 1, 1e6) }).map((v) => v + 0.5),
  ),
});
// x and y have no upper bound in the schema: only wrong types, negative and fractional values are invalid.
const pixelCoord: Field = {
  required: true,
  valid: fc.integer({ min: 0, max: 31 }),
  invalid: fc.oneof(notANumber, fc.integer({ min: -1e9, max: -1 }), fc.integer({ min: 0, max: 1000 }).map((v) => v + 0.25)),
};
const scanId = fc.constant('20260101-120000-Panel_A');
const idField: Field = { required: true, valid: scanId, invalid: fc.oneof(notAString, fc.constantFrom('', '../etc', 'Panel A', '20260101-120000-'), longString(100)) };
const enumArray = (values: string[], minLength: number): Field => ({
  valid: fc.uniqueArray(fc.constantFrom(...values), { minLength: Math.max(1, minLength), maxLength: values.length }),
  invalid: fc.oneof(notAString.filter((v) => !Array.isArray(v)), fc.array(fc.string({ maxLength: 8 }).filter((s) => !values.includes(s)), { minLength: 1, maxLength: 3 }), fc.array(fc.constantFrom(...values), { minLength: 4, maxLength: 8 })),
});

// The schema of every command's payload, as docs/mqtt.md gives it (the test's own copy: the daemon's is checked).
const commands: Record<string, Record<string, Field>> = {
  'scan/start': {
    name: { required: true, valid: fc.constantFrom('Panel A', 'x', 'fuzz-1'), invalid: fc.oneof(notAString, fc.constant(''), longString(80)) },
    duration: posNumberField(7 * 24 * 3600),
    counts: intField(1, Number.MAX_SAFE_INTEGER),
    notes: { valid: fc.string({ maxLength: 20 }), invalid: fc.oneof(notAString, longString(4000)) },
    operator: { valid: fc.string({ maxLength: 20 }), invalid: fc.oneof(notAString, longString(200)) },
  },
  'scan/stop': {},
  'scan/status': {},
  'scan/list': {
    limit: intField(1, 1000),
    status: { valid: fc.constantFrom('acquiring', 'completed', 'interrupted', 'error'), invalid: fc.oneof(notAString, fc.constantFrom('', 'done', 'ACQUIRING')) },
  },
  'scan/get': { id: idField },
  'config/get': {},
  health: {},
  'pixel/get': { x: pixelCoord, y: pixelCoord, radius: intField(0, 8) },
  'model/list': {},
  'model/select': { name: { required: true, valid: fc.constantFrom('lt-vit', 'nope'), invalid: fc.oneof(notAString, fc.constant(''), longString(200)) } },
  'scan/export': { id: idField, format: enumArray(['npy', 'hdf5', 'png'], 1), methods: enumArray(['roi', 'fit', 'model'], 0) },
  'scan/delete': { id: idField, confirm: { required: true, valid: scanId, invalid: fc.oneof(notAString, fc.constantFrom('', '20260101-120000-Panel_B'), longString(200)) } },
};

/** A payload as sent: raw text, and the transaction put in it (undefined: none, match the next response). */
interface Bad {
  body: string;
  transaction?: string;
  why: string;
}
/** fast-check prints a counterexample through this: the reason and the payload's start, not 100 kB. */
const shown = (b: Bad): Bad => Object.assign(b, { [fc.toStringMethod]: () => `${b.why}: ${b.body.slice(0, 120)}${b.body.length > 120 ? `... (${b.body.length} bytes)` : ''}` });

const withTx = (obj: Record<string, unknown>, why: string): Bad => {
  const transaction = randomUUID();
  return { body: JSON.stringify({ ...obj, transaction }), transaction, why };
};

/** Generated payloads that no schema accepts, by construction. */
function badPayloads(command: string): fc.Arbitrary<Bad> {
  const fields = commands[command]!;
  const names = Object.keys(fields);
  // A valid payload to break: every required field, some of the optional ones.
  const validBase: fc.Arbitrary<Record<string, unknown>> = fc.record(
    Object.fromEntries(names.map((n) => [n, fields[n]!.valid])),
    { requiredKeys: names.filter((n) => fields[n]!.required) },
  ) as fc.Arbitrary<Record<string, unknown>>;
  const unknownKey = fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'Name', 'NAME', ' name', 'data', 'status'))
    .filter((k) => !names.includes(k) && k !== 'transaction');
  const junk = fc.oneof(fc.jsonValue({ maxDepth: 3 }), deepValue, longString(1000));
  const arbs: fc.Arbitrary<Bad>[] = [
    // Not JSON at all (an empty payload is `{}`, a valid empty request: not generated).
    fc.string({ minLength: 1, maxLength: 200 }).filter((s) => { try { JSON.parse(s); return false; } catch { return true; } }).map((body) => ({ body, why: 'not JSON' })),
    fc.constantFrom('{', '{"a":', '{"name": "x"', 'null}', '\u0000', '{"a":1}}', '\ufeff{}').map((body) => ({ body, why: 'broken JSON' })),
    // JSON, but not an object.
    fc.oneof(fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }), fc.double(), fc.integer(), fc.string({ maxLength: 50 }), fc.constant(null), fc.boolean()).map((v) => ({ body: JSON.stringify(v) ?? 'null', why: 'not an object' })),
    // Unknown keys next to a valid payload.
    fc.tuple(validBase, fc.dictionary(unknownKey, junk, { minKeys: 1, maxKeys: 3 })).map(([b, extra]) => withTx({ ...b, ...Object.fromEntries(Object.entries(extra)) }, `unknown key(s) ${Object.keys(extra).join(',')}`)),
    // Deeply nested values, in an unknown field and as the transaction itself (echoed by the daemon).
    fc.tuple(validBase, fc.integer({ min: 1000, max: 9000 })).map(([b, d]) => ({ body: withRawValue(b, 'nested', deepText(d)), why: `nested ${2 * d} deep` })),
    fc.integer({ min: 1000, max: 9000 }).map((d) => ({ body: withRawValue({ bogus: 1 }, 'transaction', deepText(d)), why: `transaction nested ${2 * d} deep` })),
    // Over the 64 KiB limit.
    fc.tuple(validBase, fc.integer({ min: LIMIT + 1, max: 200_000 })).map(([b, n]) => ({ body: JSON.stringify({ ...b, pad: 'x'.repeat(n) }), why: `${n} bytes` })),
  ];
  if (names.length > 0) {
    // One field with a wrong value.
    arbs.push(
      fc.tuple(validBase, fc.constantFrom(...names)).chain(([b, n]) => fields[n]!.invalid.map((v) => withTx({ ...b, [n]: v }, `${n} = ${String(JSON.stringify(v)).slice(0, 60)}`))),
    );
  }
  const required = names.filter((n) => fields[n]!.required);
  if (required.length > 0) {
    arbs.push(fc.tuple(validBase, fc.constantFrom(...required)).map(([b, n]) => {
      const { [n]: _drop, ...rest } = b;
      return withTx(rest, `missing ${n}`);
    }));
  }
  return fc.oneof(...arbs).map(shown);
}

describe('bad MQTT requests (property-based): one error response each, the daemon stays up', function () {
  this.timeout(120_000);
  let rig: TestRig;
  let dataDir: string;
  const responses = new Map<string, Response[]>();
  const escaped: unknown[] = [];
  const onEscape = (e: unknown) => escaped.push(e);

  before(async () => {
    process.on('unhandledRejection', onEscape);
    process.on('uncaughtException', onEscape);
    dataDir = tempDir();
    rig = await startRig(testConfig(dataDir));
    rig.req.client.on('message', (topic, buf) => {
      const prefix = `${BASE}/response/`;
      if (!topic.startsWith(prefix)) return;
      const cmd = topic.slice(prefix.length);
      const list = responses.get(cmd) ?? [];
      list.push(JSON.parse(buf.toString()) as Response);
      responses.set(cmd, list);
    });
  });

  after(async () => {
    process.off('unhandledRejection', onEscape);
    process.off('uncaughtException', onEscape);
    await rig?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Sends one raw payload and waits for the next response on response/<command>. */
  async function send(command: string, bad: Bad, timeoutMs = 10_000): Promise<Response> {
    const before = responses.get(command)?.length ?? 0;
    await rig.req.client.publishAsync(`${BASE}/request/${command}`, bad.body, { qos: 1 });
    const end = Date.now() + timeoutMs;
    while ((responses.get(command)?.length ?? 0) <= before) {
      if (Date.now() > end) throw new Error(`no response to ${command} within ${timeoutMs} ms (${bad.why}: ${bad.body.slice(0, 80)})`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return responses.get(command)![before]!;
  }

  let registered: string[] = [];

  it('the registered commands are exactly the documented ones', async () => {
    const r = await rig.req.request('no/such-command');
    assert.equal(r.status, 'error');
    const known = /\(known: ([^)]*)\)/.exec(r.error ?? '');
    assert.ok(known, r.error);
    registered = known[1]!.split(', ').sort();
    assert.deepEqual(registered, documentedCommands());
    assert.deepEqual([...registered].sort(), Object.keys(commands).sort(), 'the test knows every command\'s payload');
  });

  it('every command answers every generated bad payload with exactly one error', async () => {
    assert.ok(registered.length > 0);
    let sent = 0;
    const counted = new Map<string, number>();
    for (const command of registered) {
      await fc.assert(
        fc.asyncProperty(badPayloads(command), async (bad) => {
          const r = await send(command, bad);
          sent++;
          counted.set(command, (counted.get(command) ?? 0) + 1);
          if (command === 'scan/start' && r.status === 'ok') await rig.req.request('scan/stop');
          const what = `${command} ${bad.why}: ${bad.body.slice(0, 120)} -> ${JSON.stringify(r).slice(0, 200)}`;
          assert.equal(r.status, 'error', what);
          assert.equal(typeof r.error, 'string', what);
          assert.ok(r.error!.length > 0, what);
          assert.equal('data' in r, false, what);
          // Correlation: the transaction comes back, except from a payload too large to be read at all.
          if (bad.transaction !== undefined && Buffer.byteLength(bad.body) <= LIMIT) assert.equal(r.transaction, bad.transaction, what);
          if (Buffer.byteLength(bad.body) > LIMIT) assert.match(r.error!, /too large/, what);
          assert.deepEqual(escaped, [], what);
        }),
        { seed: 42, numRuns: 20, endOnFailure: true },
      );
    }
    // Exactly one response per request: nothing more arrives late.
    await new Promise((r) => setTimeout(r, 300));
    for (const [command, n] of counted) assert.equal(responses.get(command)?.length ?? 0, n, `responses to ${command}`);
    assert.ok(sent >= registered.length * 20);
  });

  it('the daemon is healthy afterwards', async () => {
    assert.deepEqual(escaped, []);
    for (const cmd of ['health', 'model/list', 'scan/status', 'scan/list']) {
      const r = await rig.req.request(cmd);
      assert.equal(r.status, 'ok', `${cmd}: ${r.error}`);
    }
    const c = await mqtt.connectAsync(rig.daemon.brokerUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    try {
      const avail = waitForMessage(c, `${BASE}/availability`);
      await c.subscribeAsync(`${BASE}/availability`);
      assert.equal((await avail).toString(), 'online');
    } finally {
      await c.endAsync();
    }
  });
});
