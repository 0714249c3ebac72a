// mqtt.protocolVersion 'auto' (the default): MQTT 5 with a broker that speaks it, 3.1.1 for the rest of the run
// with one that does not. Real brokers only: aedes (the embedded broker) speaks 3.1.1 and refuses an MQTT 5
// CONNECT as the spec asks a 3.1.1 broker to (CONNACK return code 1, "unacceptable protocol version"; the first
// test checks those bytes, the same mosquitto 1.4 sends), and mosquitto 2 speaks 5. A small TCP front records
// the protocol level of each CONNECT it passes on to the real broker behind it, and can close a connection whose
// CONNECT is MQTT 5 without answering (what some 3.1.1-only brokers do instead of a CONNACK).
import assert from 'node:assert/strict';
import net from 'node:net';
import mqtt from 'mqtt';
import { startDaemon, type Daemon } from '../../daemon/daemon.js';
import type { Logger, LogLevel } from '../../daemon/log.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../daemon/mqtt/embedded-broker.js';
import { MqttBridge } from '../../daemon/mqtt/bridge.js';
import { Requester, tempDir, testConfig, until, waitForMessage } from './helpers.js';
import { freePort, Mosquitto, mosquittoPath } from './mosquitto.js';

const FALLBACK = /does not speak MQTT 5 .*: using 3\.1\.1; response topics, correlation data and user properties are unavailable/;

/** Log lines kept for assertions (everything from debug up). */
function capture(): { lines: Array<{ level: LogLevel; msg: string }>; logger: Logger } {
  const lines: Array<{ level: LogLevel; msg: string }> = [];
  const log = (level: LogLevel, msg: string) => void lines.push({ level, msg });
  return {
    lines,
    logger: { log, debug: (m) => log('debug', m), info: (m) => log('info', m), warn: (m) => log('warn', m), error: (m) => log('error', m) },
  };
}

/** The protocol level of the CONNECT at the start of buf, or null while more bytes are needed. */
function connectLevel(buf: Buffer): number | null {
  if (buf.length < 2) return null;
  if (buf[0] !== 0x10) return -1;
  let i = 1;
  while (i < buf.length && i <= 4 && buf[i]! & 0x80) i++;
  i++; // past the remaining length
  if (buf.length < i + 2) return null;
  const nameLen = buf.readUInt16BE(i);
  const at = i + 2 + nameLen;
  return buf.length > at ? buf[at]! : null;
}

/** A TCP front for a real broker: records each CONNECT's protocol level, passes everything on unchanged; with
 *  dropV5, closes (no answer) a connection whose CONNECT is MQTT 5. */
class ConnectFront {
  readonly levels: number[] = [];
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(public targetPort: number, public dropV5 = false) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = net.createServer((sock) => this.accept(sock));
    this.server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    this.port = (server.address() as net.AddressInfo).port;
  }

  private accept(sock: net.Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const level = connectLevel(buf);
      if (level === null) return;
      sock.off('data', onData);
      sock.pause();
      this.levels.push(level);
      if (this.dropV5 && level === 5) {
        sock.end();
        return;
      }
      const up = net.connect({ host: '127.0.0.1', port: this.targetPort });
      this.sockets.add(up);
      up.on('close', () => {
        this.sockets.delete(up);
        sock.destroy();
      });
      sock.on('close', () => up.destroy());
      up.on('error', () => up.destroy());
      up.write(buf);
      sock.pipe(up);
      up.pipe(sock);
      sock.resume();
    };
    sock.on('data', onData);
  }

  /** Cuts every connection passing through (the broker behind stays up). */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** What a broker answers to a raw MQTT 5 CONNECT (client id "x", clean start, no properties), up to its close. */
async function answerToV5Connect(port: number): Promise<Buffer> {
  const connect = Buffer.from([0x10, 0x0e, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05, 0x02, 0x00, 0x3c, 0x00, 0x00, 0x01, 0x78]);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(connect));
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`the broker neither answered nor closed: ${Buffer.concat(chunks).toString('hex')}`));
    }, 5000);
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks));
    });
  });
}

describe('MQTT version: 5 where the broker speaks it, 3.1.1 where it does not', function () {
  this.timeout(40_000);
  let aedes: EmbeddedBroker;
  const base = 'gemxrf/test';
  const bin = mosquittoPath();
  let mosquitto: Mosquitto;

  before(async () => {
    aedes = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, wsPort: null });
    if (bin) {
      mosquitto = new Mosquitto(bin, await freePort(), tempDir('gemxrf-fallback-mosq-'));
      await mosquitto.start();
    }
  });

  after(async () => {
    await aedes?.close();
    await mosquitto?.kill();
  });

  it('aedes refuses an MQTT 5 CONNECT as a 3.1.1 broker must: CONNACK return code 1, then closes', async () => {
    const answer = await answerToV5Connect(aedes.port);
    assert.equal(answer.toString('hex'), '20020001');
  });

  describe('the daemon with the default config against a 3.1.1-only broker', () => {
    let front: ConnectFront;
    let daemon: Daemon;
    let log: ReturnType<typeof capture>;
    let req: Requester | null = null;

    before(async () => {
      front = new ConnectFront(aedes.port);
      await front.start();
      log = capture();
      const config = testConfig(tempDir('gemxrf-fallback-'), { mqtt: { url: front.url } });
      assert.equal(config.mqtt.protocolVersion, 'auto');
      daemon = await startDaemon(config, log.logger);
    });

    after(async () => {
      await req?.close();
      await daemon?.stop();
      await front?.close();
    });

    it('falls back to 3.1.1 and says so once', () => {
      assert.deepEqual(front.levels, [5, 4]);
      assert.equal(daemon.bridge.protocolVersion, 4);
      assert.equal(daemon.bridge.fellBack, true);
      const fallbacks = log.lines.filter((l) => FALLBACK.test(l.msg));
      assert.equal(fallbacks.length, 1, JSON.stringify(log.lines));
      assert.equal(fallbacks[0]!.level, 'warn');
      assert.match(fallbacks[0]!.msg, /Unacceptable protocol version/);
      assert.ok(log.lines.some((l) => l.level === 'info' && /mqtt connected to .* \(MQTT 3\.1\.1\)/.test(l.msg)));
      assert.deepEqual(log.lines.filter((l) => l.level === 'error'), []);
    });

    it('answers a request and publishes its retained state', async () => {
      req = await Requester.connect(aedes.url, base);
      const r = await req.request('health');
      assert.equal(r.status, 'ok');
      // health says which version is in use and that it fell back.
      assert.deepEqual((r.data as { mqtt: { protocolVersion: number; fellBack: boolean } }).mqtt, { connected: true, reconnects: daemon.bridge.reconnects, protocolVersion: 4, fellBack: true });
      const c = await mqtt.connectAsync(aedes.url, { protocolVersion: 4, reconnectPeriod: 0 });
      const state = waitForMessage(c, `${base}/state`);
      const avail = waitForMessage(c, `${base}/availability`);
      await c.subscribeAsync([`${base}/state`, `${base}/availability`]);
      assert.equal((JSON.parse((await state).toString()) as { instrument: string }).instrument, 'test');
      assert.equal((await avail).toString(), 'online');
      await c.endAsync();
    });

    it('keeps 3.1.1 across reconnects (no new MQTT 5 attempt, no second fallback line)', async () => {
      const reconnects = daemon.bridge.reconnects;
      const seen = front.levels.length;
      front.cut(); // the daemon's connection is cut (the broker stays up): it reconnects
      await until(() => daemon.bridge.connected && daemon.bridge.reconnects > reconnects && front.levels.length > seen, 'the daemon to reconnect', 15_000);
      assert.deepEqual(front.levels.slice(seen), [4]);
      assert.equal(log.lines.filter((l) => FALLBACK.test(l.msg)).length, 1);
      const r = await req!.request('health');
      assert.equal(r.status, 'ok');
    });
  });

  describe('the bridge', () => {
    const fronts: ConnectFront[] = [];
    const bridges: MqttBridge[] = [];
    const front = async (target: number, dropV5 = false) => {
      const f = new ConnectFront(target, dropV5);
      await f.start();
      fronts.push(f);
      return f;
    };
    const bridge = (url: string, protocolVersion: 4 | 5 | 'auto', log: ReturnType<typeof capture>, extra: { username?: string; password?: string } = {}) => {
      const b = new MqttBridge({ url, baseTopic: 'gemxrf', instrumentId: 'test', protocolVersion, log: (lv, m) => log.logger.log(lv, m), ...extra });
      bridges.push(b);
      return b;
    };

    afterEach(async () => {
      for (const b of bridges.splice(0)) await b.stop();
      for (const f of fronts.splice(0)) await f.close();
    });

    it('falls back when the broker closes the connection on an MQTT 5 CONNECT without answering', async () => {
      const f = await front(aedes.port, true);
      const log = capture();
      const b = bridge(f.url, 'auto', log);
      await b.start();
      assert.deepEqual(f.levels, [5, 4]);
      assert.equal(b.protocolVersion, 4);
      const fallbacks = log.lines.filter((l) => FALLBACK.test(l.msg));
      assert.equal(fallbacks.length, 1);
      assert.match(fallbacks[0]!.msg, /closed the connection on the MQTT 5 CONNECT/);
      // Requests are served over 3.1.1.
      b.handle('ping', () => 'pong');
      const req = await Requester.connect(aedes.url, 'gemxrf/test');
      try {
        const r = await req.request('ping');
        assert.deepEqual([r.status, r.data], ['ok', 'pong']);
      } finally {
        await req.close();
      }
    });

    it('protocolVersion 4: 3.1.1 only, no MQTT 5 attempt', async () => {
      const f = await front(aedes.port);
      const log = capture();
      const b = bridge(f.url, 4, log);
      await b.start();
      assert.deepEqual(f.levels, [4]);
      assert.equal(b.fellBack, false);
      assert.equal(log.lines.filter((l) => FALLBACK.test(l.msg)).length, 0);
    });

    it('protocolVersion 5: a 3.1.1 broker fails the start at once, saying why and what to set', async () => {
      const log = capture();
      const b = bridge(aedes.url, 5, log);
      await assert.rejects(b.start(), (err: Error) => {
        assert.match(err.message, /with MQTT 5: Connection refused: Unacceptable protocol version/);
        assert.match(err.message, /does not speak MQTT 5: set mqtt\.protocolVersion to auto or 4/);
        assert.doesNotMatch(err.message, /within 10 s/); // refused: no point waiting
        return true;
      });
    });

    it('neither version accepted: the start fails naming each version\'s refusal', async () => {
      const locked = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, wsPort: null, username: 'u', password: 'p' });
      try {
        const log = capture();
        const b = bridge(locked.url, 'auto', log, { username: 'u', password: 'wrong' });
        await assert.rejects(b.start(), (err: Error) => {
          assert.match(err.message, /with MQTT 5: Connection refused: Unacceptable protocol version; with MQTT 3\.1\.1: Connection refused: Bad username or password/);
          return true;
        });
      } finally {
        await locked.close();
      }
    });

    it('no broker at all: the start fails after 10 s with the connection error', async function () {
      this.timeout(20_000);
      const log = capture();
      const b = bridge(`mqtt://127.0.0.1:${await freePort()}`, 'auto', log);
      await assert.rejects(b.start(), /within 10 s: with MQTT 5: connect ECONNREFUSED/);
      // A refused TCP connection says nothing about the version: no 3.1.1 attempt, no fallback.
      assert.equal(b.fellBack, false);
    });

    it('a fresh start tries MQTT 5 again (mosquitto behind the same address now)', async function () {
      if (!bin) {
        if (process.env.CI) throw new Error('mosquitto is required in CI');
        this.skip();
      }
      const f = await front(aedes.port);
      const log = capture();
      const b = bridge(f.url, 'auto', log);
      await b.start();
      assert.equal(b.protocolVersion, 4);
      await b.stop();
      f.targetPort = mosquitto.port;
      await b.start();
      assert.equal(b.protocolVersion, 5);
      assert.equal(b.fellBack, false);
      assert.deepEqual(f.levels, [5, 4, 5]);
    });
  });

  describe('the daemon with the default config against mosquitto (MQTT 5)', () => {
    let daemon: Daemon;
    let client: mqtt.MqttClient;
    let log: ReturnType<typeof capture>;

    before(async function () {
      if (!bin) {
        if (process.env.CI) throw new Error('mosquitto is required in CI');
        this.skip();
      }
      log = capture();
      daemon = await startDaemon(testConfig(tempDir('gemxrf-fallback-mosq-'), { mqtt: { url: mosquitto.url } }), log.logger);
      client = await mqtt.connectAsync(mosquitto.url, { protocolVersion: 5, reconnectPeriod: 0 });
    });

    after(async () => {
      await client?.endAsync(true);
      await daemon?.stop();
    });

    it('uses MQTT 5 and honours the response topic and correlation data', async () => {
      assert.equal(daemon.bridge.protocolVersion, 5);
      assert.equal(daemon.bridge.fellBack, false);
      assert.equal(log.lines.filter((l) => FALLBACK.test(l.msg)).length, 0);
      const replyTo = 'client-y/replies';
      await client.subscribeAsync(replyTo, { qos: 1 });
      const corr = Buffer.from('corr-7');
      const got = new Promise<{ payload: Buffer; corr?: Buffer }>((resolve) => {
        client.on('message', (topic, payload, packet) => {
          if (topic === replyTo) resolve({ payload, corr: packet.properties?.correlationData as Buffer | undefined });
        });
      });
      await client.publishAsync(`${base}/request/health`, JSON.stringify({ transaction: 3 }), { qos: 1, properties: { responseTopic: replyTo, correlationData: corr } });
      const r = await got;
      const body = JSON.parse(r.payload.toString()) as { status: string; data: { mqtt: { protocolVersion: number; fellBack: boolean } } };
      assert.equal(body.status, 'ok');
      assert.deepEqual([body.data.mqtt.protocolVersion, body.data.mqtt.fellBack], [5, false]);
      assert.deepEqual(r.corr, corr);
    });
  });
});
