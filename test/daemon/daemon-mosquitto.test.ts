// Interop with a real mosquitto started by the test: MQTT 5 request/response with response topic and
// correlation data, user properties on live frames, the retained state seen by mosquitto_sub, and a broker
// restart on the same port (the daemon reconnects and republishes its retained topics, no crash).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { startDaemon, type Daemon } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';
import { decodeMapFrame } from '../../daemon/mqtt/map-frame.js';
import { tempDir, testConfig, until, waitForMessage } from './helpers.js';
import { freePort, Mosquitto, mosquittoPath } from './mosquitto.js';

const run = promisify(execFile);

describe('daemon with a real mosquitto (MQTT 5)', function () {
  this.timeout(40_000);
  const bin = mosquittoPath();
  let broker: Mosquitto;
  let daemon: Daemon;
  let client: mqtt.MqttClient;
  const base = 'gemxrf/test';

  before(async function () {
    if (!bin) {
      if (process.env.CI) throw new Error('mosquitto is required in CI');
      this.skip();
    }
    const dir = tempDir('gemxrf-mosq-');
    broker = new Mosquitto(bin!, await freePort(), dir);
    await broker.start();
    // With the model method too: its frames' MQTT 5 user properties name the model.
    const maps = { methods: ['roi', 'fit', 'model'], elements: ['Cr', 'Cu', 'Pb'], cadenceSeconds: 0.5 };
    daemon = await startDaemon(testConfig(dir, { mqtt: { url: broker.url, protocolVersion: 5 }, maps }), silentLogger);
    client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 500 });
  });

  after(async () => {
    await client?.endAsync(true);
    await daemon?.stop();
    await broker?.kill();
  });

  it('answers on the MQTT 5 response topic with the correlation data', async () => {
    const replyTo = 'client-x/replies';
    await client.subscribeAsync(replyTo, { qos: 1 });
    const corr = Buffer.from('corr-42');
    const got = new Promise<{ payload: Buffer; corr?: Buffer }>((resolve) => {
      client.on('message', (topic, payload, packet) => {
        if (topic === replyTo) resolve({ payload, corr: packet.properties?.correlationData as Buffer | undefined });
      });
    });
    await client.publishAsync(`${base}/request/health`, JSON.stringify({ transaction: 7 }), { qos: 1, properties: { responseTopic: replyTo, correlationData: corr } });
    const r = await got;
    const body = JSON.parse(r.payload.toString()) as { status: string; transaction: number };
    assert.equal(body.status, 'ok');
    assert.equal(body.transaction, 7);
    assert.deepEqual(r.corr, corr);
  });

  it('mosquitto_sub sees the retained state', async () => {
    const { stdout } = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.port), '-C', '1', '-W', '5', '-t', `${base}/state`]);
    const s = JSON.parse(stdout) as { state: string; instrument: string };
    assert.equal(s.instrument, 'test');
    assert.ok(['idle', 'acquiring'].includes(s.state));
  });

  it('sends live frames with shape and dtype user properties', async () => {
    await client.subscribeAsync(`${base}/live/#`);
    const frame = new Promise<{ payload: Buffer; props: Record<string, string | string[]> | undefined; expiry?: number }>((resolve) => {
      client.on('message', (topic, payload, packet) => {
        if (topic === `${base}/live/counts`) resolve({ payload, props: packet.properties?.userProperties, expiry: packet.properties?.messageExpiryInterval });
      });
    });
    const r = await daemon.manager.start({ name: 'mosquitto', durationS: 30 });
    const f = await frame;
    assert.equal(f.props?.['shape'], '32,32');
    assert.equal(f.props?.['dtype'], 'float32-le');
    assert.ok(f.expiry !== undefined && f.expiry > 0);
    assert.equal(decodeMapFrame(f.payload).scanId, r.id);
  });

  it('names the model and its version in the model and presence frames\' user properties', async () => {
    const props = (method: string) =>
      new Promise<Record<string, string | string[]> | undefined>((resolve) => {
        client.on('message', (topic, _payload, packet) => {
          if (topic === `${base}/live/maps/${method}/Cu`) resolve(packet.properties?.userProperties);
        });
      });
    const model = props('model');
    const presence = props('presence');
    await client.subscribeAsync(`${base}/live/maps/#`);
    for (const [method, p] of [['model', await model], ['presence', await presence]] as const) {
      assert.equal(p?.['method'], method);
      assert.equal(p?.['model'], 'lt-vit');
      assert.equal(p?.['modelVersion'], '1');
      assert.equal(p?.['shape'], '32,32');
    }
  });

  it('survives a broker restart on the same port and republishes its retained state', async () => {
    await broker.kill();
    await until(() => !daemon.bridge.connected, 'the daemon to notice the broker is gone');
    await broker.start();
    await until(() => daemon.bridge.connected, 'the daemon to reconnect', 15_000);
    const c = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    const state = waitForMessage(c, `${base}/state`);
    const avail = waitForMessage(c, `${base}/availability`);
    const map = waitForMessage(c, `${base}/live/maps/roi/Cr`);
    await c.subscribeAsync([`${base}/state`, `${base}/availability`, `${base}/live/maps/roi/Cr`]);
    assert.equal((await avail).toString(), 'online');
    assert.equal((JSON.parse((await state).toString()) as { state: string }).state, 'acquiring');
    assert.equal(decodeMapFrame(await map).method, 'roi');
    await c.endAsync();
    assert.equal(daemon.manager.state, 'acquiring');
    const stopped = await daemon.manager.stop('manual');
    assert.equal(stopped.status, 'completed');
  });
});
