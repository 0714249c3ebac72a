// Property: over MQTT 5 with a real mosquitto, requests with arbitrary payloads, response topics (absent,
// empty, wildcards, `$` topics, very long, unicode, inside and outside the daemon's tree), correlation data
// (absent, empty, binary, large), user properties and content types never take the daemon off the broker or
// stop it answering. Every request gets exactly one response on BASE/response/<command> and, when it names a
// legal response topic, exactly one there too, both with its correlation data; a request whose response topic
// cannot be published to (docs/mqtt.md) is refused with an error on BASE/response/<command> and not executed.
// Fixed seed, a few tens of cases: the test takes seconds.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import fc from 'fast-check';
import mqtt from 'mqtt';
import { startDaemon, type Daemon } from '../../daemon/daemon.js';
import { createLogger } from '../../daemon/log.js';
import { responseTopicProblem } from '../../daemon/mqtt/bridge.js';
import { tempDir, testConfig, until, type Response } from './helpers.js';
import { freePort, Mosquitto, mosquittoPath } from './mosquitto.js';

const BASE = 'gemxrf/test';
const LIMIT = 64 * 1024;

interface Received {
  topic: string;
  payload: Buffer;
  corr: Buffer | undefined;
}

/** One generated request. */
interface Case {
  command: string;
  body: Buffer;
  /** Whether the payload is a valid request for the command (an ok answer is expected). */
  good: boolean;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
  contentType?: string;
  payloadFormatIndicator?: boolean;
}

/**
 * Drops what mosquitto refuses in any MQTT string (it disconnects the sender, as MQTT 5 allows): NUL, control
 * characters and non-characters. These never reach the daemon through mosquitto, so the fuzz leaves them out.
 */
const noNul = (s: string) =>
  Array.from(s)
    .filter((ch) => {
      const cp = ch.codePointAt(0)!;
      return !(cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe);
    })
    .join('');
/** The string as it arrives: mqtt.js writes UTF-8, so a lone surrogate becomes U+FFFD. */
const wire = (s: string) => Buffer.from(s, 'utf8').toString('utf8');

const safeCommands = ['health', 'scan/status', 'scan/list', 'config/get', 'model/list'];
const command = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...safeCommands) },
  { weight: 1, arbitrary: fc.constantFrom('scan/start', 'scan/get', 'no/such', 'health/x', 'ünïcode/☃') },
);

const junkPayload = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((a) => ({ body: Buffer.from(a), why: 'bytes' })),
  fc.string({ maxLength: 100 }).map((s) => ({ body: Buffer.from(s), why: 'text' })),
  fc.jsonValue({ maxDepth: 3 }).map((v) => ({ body: Buffer.from(JSON.stringify(v) ?? 'null'), why: 'json' })),
  fc.integer({ min: LIMIT + 1, max: LIMIT + 5000 }).map((n) => ({ body: Buffer.from(JSON.stringify({ pad: 'x'.repeat(n) })), why: 'too large' })),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== 'transaction'), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 3 })
    .map((o) => ({ body: Buffer.from(JSON.stringify({ ...o, transaction: 'tx' })), why: 'unknown fields' })),
);

/** Payload for a command: `{}` (valid for the safe commands) or junk that no command accepts as valid. */
function payloadFor(cmd: string): fc.Arbitrary<{ body: Buffer; good: boolean }> {
  const good = safeCommands.includes(cmd);
  return fc.oneof(
    fc.constantFrom(Buffer.from('{}'), Buffer.alloc(0), Buffer.from('{"transaction":[1,{"a":"☃"}]}')).map((body) => ({ body, good })),
    junkPayload.map(({ body }) => {
      // Junk that happens to be `{}` or an empty object with a transaction is a valid request after all.
      let ok = false;
      try {
        const v = JSON.parse(body.toString('utf8')) as unknown;
        ok = body.length <= LIMIT && v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).every((k) => k === 'transaction');
      } catch {
        ok = body.length === 0;
      }
      return { body, good: good && ok };
    }),
  );
}

const legalTopic = fc.oneof(
  fc.constantFrom('client-x/replies', 'a', '/', 'a//b', '/leading', 'trailing/', ' ', 'sp ace/ta b', `${BASE}/response/mine`, `${BASE}/response/health`, `${BASE}-other/request/health`, 'gemxrf/other/request/health'),
  fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }).map(noNul).filter((s) => s.length > 0 && !/[+#]/.test(s) && !s.startsWith('$')).map((s) => `u/${s}`),
  fc.integer({ min: 1000, max: 65535 - 2 }).map((n) => `L/${'x'.repeat(n)}`),
  fc.constant(`L/${'é'.repeat(32766)}`), // 65534 bytes: at the limit
);
const illegalTopic = fc.oneof(
  fc.constantFrom('#', '+', 'a/#', 'a/+/b', `${BASE}/response/+`, `${BASE}/#`, 'a#b', 'x+', '$SYS/x', '$share/g/t', '$'),
  fc.constantFrom(`${BASE}/request/health`, `${BASE}/request/scan/start`, `${BASE}/state`, `${BASE}/availability`, `${BASE}/live/stats`, BASE, `${BASE}/`),
  fc.tuple(fc.string({ maxLength: 20 }).map(noNul), fc.constantFrom('+', '#'), fc.string({ maxLength: 20 }).map(noNul)).map(([a, w, b]) => a + w + b),
);
const responseTopic = fc.option(fc.oneof({ weight: 3, arbitrary: legalTopic }, { weight: 2, arbitrary: illegalTopic }, { weight: 1, arbitrary: fc.constant('') }), { nil: undefined, freq: 4 });
const correlationData = fc.option(
  fc.oneof(
    fc.constant(Buffer.alloc(0)),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((a) => Buffer.from(a)),
    fc.integer({ min: 1000, max: 65535 }).map((n) => Buffer.alloc(n, n & 0xff)),
  ),
  { nil: undefined, freq: 4 },
);
const propString = fc.string({ maxLength: 30, unit: 'binary' }).map(noNul);
const userProperties = fc.option(fc.dictionary(propString, fc.oneof(propString, fc.array(propString, { minLength: 1, maxLength: 3 })), { minKeys: 1, maxKeys: 4 }), { nil: undefined }); // mqtt.js cannot send an empty set

function describeCase(c: Case): string {
  const rt = c.responseTopic === undefined ? '-' : `${JSON.stringify(c.responseTopic.slice(0, 60))} (${c.responseTopic.length})`;
  const extra = JSON.stringify({ up: c.userProperties, ct: c.contentType, pfi: c.payloadFormatIndicator }).slice(0, 200);
  return `${c.command} body=${JSON.stringify(c.body.toString('utf8').slice(0, 60))} (${c.body.length} B) rt=${rt} corr=${c.correlationData?.length ?? '-'} ${extra}`;
}

const cases: fc.Arbitrary<Case> = command.chain((cmd) =>
  fc.record({
    command: fc.constant(cmd),
    payload: payloadFor(cmd),
    responseTopic,
    correlationData,
    userProperties,
    contentType: fc.option(propString, { nil: undefined }),
    payloadFormatIndicator: fc.option(fc.boolean(), { nil: undefined }),
  }).map(({ payload, ...rest }) => {
    const c: Case = { command: rest.command, body: payload.body, good: payload.good };
    for (const k of ['responseTopic', 'correlationData', 'userProperties', 'contentType', 'payloadFormatIndicator'] as const) {
      if (rest[k] !== undefined) (c as unknown as Record<string, unknown>)[k] = rest[k];
    }
    return Object.assign(c, { [fc.toStringMethod]: () => describeCase(c) });
  }),
);

describe('MQTT 5 requests with arbitrary response topics and correlation data (property-based, real mosquitto)', function () {
  this.timeout(120_000);
  const bin = mosquittoPath();
  let broker: Mosquitto;
  let daemon: Daemon;
  let client: mqtt.MqttClient;
  let dir: string;
  const received: Received[] = [];
  const logs: string[] = [];
  const escaped: unknown[] = [];
  const onEscape = (e: unknown) => escaped.push(e);
  let clientClosed = 0;

  before(async function () {
    if (!bin) {
      if (process.env.CI) throw new Error('mosquitto is required in CI');
      this.skip();
    }
    process.on('unhandledRejection', onEscape);
    process.on('uncaughtException', onEscape);
    dir = tempDir('gemxrf-mosq5-');
    broker = new Mosquitto(bin!, await freePort(), dir);
    await broker.start();
    const logger = createLogger('debug', (l) => logs.push(l));
    daemon = await startDaemon(testConfig(dir, { mqtt: { url: broker.url, protocolVersion: 5 } }), logger);
    client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    client.on('close', () => clientClosed++);
    client.on('message', (topic, payload, packet) => {
      if (topic.startsWith(`${BASE}/live/`) || topic === `${BASE}/state`) return;
      received.push({ topic, payload, corr: packet.properties?.correlationData as Buffer | undefined });
    });
    await client.subscribeAsync('#', { qos: 1 });
    // The retained availability arrives after the subscription is acknowledged: seen before the batch starts.
    await until(() => received.some((r) => r.topic === `${BASE}/availability` && r.payload.toString() === 'online'), 'the retained availability');
  });

  after(async () => {
    process.off('unhandledRejection', onEscape);
    process.off('uncaughtException', onEscape);
    await client?.endAsync(true);
    await daemon?.stop();
    await broker?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const on = (topic: string, from: number) => received.slice(from).filter((r) => r.topic === topic);

  async function send(c: Case): Promise<void> {
    const properties: mqtt.IClientPublishOptions['properties'] = {};
    if (c.responseTopic !== undefined) properties.responseTopic = c.responseTopic;
    if (c.correlationData !== undefined) properties.correlationData = c.correlationData;
    if (c.userProperties !== undefined) properties.userProperties = c.userProperties;
    if (c.contentType !== undefined) properties.contentType = c.contentType;
    if (c.payloadFormatIndicator !== undefined) properties.payloadFormatIndicator = c.payloadFormatIndicator;
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`the broker did not acknowledge the request within 10 s (test client closed ${clientClosed} times; daemon connected ${daemon.bridge.connected}; ${describeCase(c)})`)), 10_000);
    });
    try {
      await Promise.race([client.publishAsync(`${BASE}/request/${c.command}`, c.body, { qos: 1, properties }), timeout]);
    } finally {
      clearTimeout(t);
    }
  }

  it('the response topic rules (unit)', () => {
    const base = BASE;
    assert.equal(responseTopicProblem('client-x/replies', base), null);
    assert.equal(responseTopicProblem(`${base}/response/x`, base), null);
    assert.equal(responseTopicProblem(`L/${'x'.repeat(65533)}`, base), null);
    assert.match(responseTopicProblem(`L/${'x'.repeat(65534)}`, base)!, /too long/);
    assert.match(responseTopicProblem(`L/${'é'.repeat(32767)}`, base)!, /too long/);
    assert.match(responseTopicProblem('', base)!, /empty/);
    assert.match(responseTopicProblem('a/#', base)!, /wildcard/);
    assert.match(responseTopicProblem('a/+/b', base)!, /wildcard/);
    assert.match(responseTopicProblem('a\u0000b', base)!, /NUL/);
    assert.match(responseTopicProblem('$SYS/x', base)!, /\$/);
    assert.match(responseTopicProblem(`${base}/request/health`, base)!, /daemon's own/);
    assert.match(responseTopicProblem(`${base}/state`, base)!, /daemon's own/);
    assert.match(responseTopicProblem(base, base)!, /daemon's own/);
    assert.equal(responseTopicProblem(`${base}-other/state`, base), null);
  });

  it('every request gets exactly one response per legal topic with its correlation data; the daemon stays on the broker', async () => {
    const reconnects = daemon.bridge.reconnects;
    let sent = 0;
    const expected = new Map<string, number>();
    const start = received.length;
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        const from = received.length;
        const dflt = `${BASE}/response/${c.command}`;
        const rt = c.responseTopic === undefined ? undefined : wire(c.responseTopic);
        const legal = rt !== undefined && rt !== '' && responseTopicProblem(rt, BASE) === null;
        const illegal = rt !== undefined && rt !== '' && !legal;
        const topics = legal && rt !== dflt ? [dflt, rt] : [dflt];
        for (const t of topics) expected.set(t, (expected.get(t) ?? 0) + 1);
        if (process.env.FUZZ_VERBOSE) console.log(describeCase(c));
        await send(c);
        sent++;
        await until(() => topics.every((t) => on(t, from).length >= 1), `responses on ${topics.map((t) => t.slice(0, 60)).join(', ')}`, 10_000);
        const what = `${describeCase(c)}`;
        for (const t of topics) {
          const got = on(t, from);
          assert.equal(got.length, 1, `${what}: one response on ${t.slice(0, 60)}`);
          const r = got[0]!;
          // The correlation data comes back as it was sent (absent stays absent, empty stays empty).
          assert.deepEqual(r.corr, c.correlationData, `${what}: correlation data on ${t.slice(0, 60)}`);
          const body = JSON.parse(r.payload.toString('utf8')) as Response;
          assert.ok(body.status === 'ok' || body.status === 'error', what);
          if (illegal) {
            // Refused (a bad payload may be reported first); the good request was not executed.
            assert.equal(body.status, 'error', what);
            if (c.good) assert.match(body.error!, /response topic .* cannot be answered/, what);
          } else if (c.good) {
            assert.equal(body.status, 'ok', `${what}: ${body.error}`);
          } else {
            assert.equal(body.status, 'error', what);
          }
        }
        assert.equal(daemon.bridge.connected, true, what);
        assert.equal(daemon.bridge.reconnects, reconnects, `${what}: the daemon was disconnected`);
        assert.equal(clientClosed, 0, `${what}: the broker dropped the test client`);
        assert.deepEqual(escaped, [], what);
      }),
      { seed: 5150, numRuns: 60, endOnFailure: true },
    );
    // Nothing late or doubled: exactly the expected count on every topic, and the daemon never went offline.
    await new Promise((r) => setTimeout(r, 300));
    const counts = new Map<string, number>();
    for (const r of received.slice(start)) counts.set(r.topic, (counts.get(r.topic) ?? 0) + 1);
    const availability = counts.get(`${BASE}/availability`);
    counts.delete(`${BASE}/availability`);
    counts.delete(`${BASE}/event`);
    assert.equal(availability, undefined, 'availability changed during the batch (the daemon went offline)');
    for (const t of new Set([...counts.keys(), ...expected.keys()])) {
      // A request topic seen by the wildcard subscription is the test's own request.
      if (t.startsWith(`${BASE}/request/`)) continue;
      assert.equal(counts.get(t) ?? 0, expected.get(t) ?? 0, `messages on ${t.slice(0, 80)}`);
    }
    assert.ok(sent >= 60);
  });

  // Regressions for what the fuzz found (each failed before the fix in daemon/mqtt/bridge.ts).

  it('a wildcard response topic is refused with an error on BASE/response/<command>, without a disconnect (was: mosquitto dropped the daemon, which went offline)', async () => {
    const reconnects = daemon.bridge.reconnects;
    const from = received.length;
    const corr = Buffer.from('wild');
    await client.publishAsync(`${BASE}/request/health`, '{"transaction":5}', { qos: 1, properties: { responseTopic: 'replies/#', correlationData: corr } });
    await until(() => on(`${BASE}/response/health`, from).length === 1, 'the error answer');
    const r = on(`${BASE}/response/health`, from)[0]!;
    const body = JSON.parse(r.payload.toString()) as Response;
    assert.equal(body.status, 'error');
    assert.equal(body.transaction, 5);
    assert.match(body.error!, /response topic "replies\/#" cannot be answered: it contains a wildcard/);
    assert.deepEqual(r.corr, corr);
    assert.ok(logs.some((l) => l.includes('warn') && l.includes('replies/#')), 'logged');
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(daemon.bridge.reconnects, reconnects);
    assert.equal(on(`${BASE}/availability`, from).length, 0);
  });

  it('a response topic inside the daemon\'s request tree is refused (was: the answer came back to the daemon as a second request)', async () => {
    const from = received.length;
    await client.publishAsync(`${BASE}/request/scan/status`, '{}', { qos: 1, properties: { responseTopic: `${BASE}/request/scan/status` } });
    await until(() => on(`${BASE}/response/scan/status`, from).length >= 1, 'the answer');
    await new Promise((res) => setTimeout(res, 300));
    const got = on(`${BASE}/response/scan/status`, from);
    assert.equal(got.length, 1, 'one answer only');
    assert.match((JSON.parse(got[0]!.payload.toString()) as Response).error!, /daemon's own topics/);
  });

  it('a request topic whose response topic would be over 65535 bytes leaves the daemon working (was: its MQTT client wedged)', async () => {
    const from = received.length;
    const prefix = `${BASE}/request/`;
    const command = 'x'.repeat(65_535 - prefix.length);
    // Answered only on the response topic the request names: BASE/response/<command> cannot exist.
    await client.publishAsync(prefix + command, '{}', { qos: 1, properties: { responseTopic: 'client-x/long', correlationData: Buffer.from('L') } });
    await until(() => on('client-x/long', from).length === 1, 'the answer on the response topic');
    assert.match((JSON.parse(on('client-x/long', from)[0]!.payload.toString()) as Response).error!, /unknown command/);
    assert.ok(logs.some((l) => l.includes('no answer on') && l.includes('too long')), 'logged');
    const r = await new Promise<Response>((resolve) => {
      const n = received.length;
      void client.publishAsync(`${BASE}/request/health`, '{}', { qos: 1 });
      void until(() => on(`${BASE}/response/health`, n).length === 1, 'health after the long request').then(() => resolve(JSON.parse(on(`${BASE}/response/health`, n)[0]!.payload.toString()) as Response));
    });
    assert.equal(r.status, 'ok');
  });

  it('a publish with an empty set of user properties goes out (was: mqtt-packet could not encode it and the publish never settled)', async () => {
    const from = received.length;
    await daemon.bridge.publish('event', { type: 'fuzz-probe' }, { userProperties: {}, qos: 1 });
    await until(() => on(`${BASE}/event`, from).some((m) => m.payload.toString().includes('fuzz-probe')), 'the event');
  });

  it('a good request afterwards is answered on its response topic', async () => {
    const from = received.length;
    const corr = Buffer.from([0, 1, 2, 255]);
    await client.publishAsync(`${BASE}/request/health`, '{"transaction":"after"}', { qos: 1, properties: { responseTopic: 'client-x/after', correlationData: corr } });
    await until(() => on('client-x/after', from).length === 1 && on(`${BASE}/response/health`, from).length === 1, 'the health answer');
    const r = on('client-x/after', from)[0]!;
    assert.deepEqual(r.corr, corr);
    const body = JSON.parse(r.payload.toString()) as Response;
    assert.equal(body.status, 'ok');
    assert.equal(body.transaction, 'after');
    assert.equal(daemon.bridge.connected, true);
    assert.deepEqual(escaped, []);
  });
});
