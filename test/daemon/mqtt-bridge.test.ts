import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../daemon/mqtt/embedded-broker.js';
import { MqttBridge, RequestError } from '../../daemon/mqtt/bridge.js';
import { decodeMapFrame, encodeMapFrame } from '../../daemon/mqtt/map-frame.js';

function nextMessage(client: mqtt.MqttClient, topic: string, timeoutMs = 5000): Promise<{ payload: Buffer; retain: boolean }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no message on ${topic}`)), timeoutMs);
    const onMsg = (tp: string, payload: Buffer, packet: { retain?: boolean }) => {
      if (tp !== topic) return;
      clearTimeout(t);
      client.off('message', onMsg);
      resolve({ payload, retain: !!packet.retain });
    };
    client.on('message', onMsg);
  });
}

describe('MQTT bridge on the embedded broker', () => {
  let broker: EmbeddedBroker;
  let bridge: MqttBridge;
  let client: mqtt.MqttClient;

  before(async () => {
    broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, wsPort: 0 });
    bridge = new MqttBridge({ url: broker.url, baseTopic: 'gemxrf', instrumentId: 'test', protocolVersion: 4 });
    bridge.handle('echo', (d) => ({ got: d }));
    bridge.handle('fail', () => {
      throw new RequestError('nope');
    });
    await bridge.start();
    await bridge.publish('state', { scan: null }, { retain: true });
    client = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    await client.subscribeAsync('gemxrf/test/#');
  });

  after(async () => {
    await client.endAsync();
    await bridge.stop();
    await broker.close();
  });

  it('retains availability online and the state', async () => {
    const c2 = await mqtt.connectAsync(broker.url);
    const avail = nextMessage(c2, 'gemxrf/test/availability');
    const state = nextMessage(c2, 'gemxrf/test/state');
    await c2.subscribeAsync('gemxrf/test/+');
    const a = await avail;
    assert.equal(a.payload.toString(), 'online');
    assert.equal(a.retain, true);
    assert.deepEqual(JSON.parse((await state).payload.toString()), { scan: null });
    await c2.endAsync();
  });

  it('answers requests with the transaction echoed', async () => {
    const resp = nextMessage(client, 'gemxrf/test/response/echo');
    await client.publishAsync('gemxrf/test/request/echo', JSON.stringify({ a: 1, transaction: 'tx-7' }));
    assert.deepEqual(JSON.parse((await resp).payload.toString()), { status: 'ok', data: { got: { a: 1 } }, transaction: 'tx-7' });
  });

  it('answers bad requests with an error', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['echo', '{not json', /not valid JSON/],
      ['echo', '[1,2]', /JSON object/],
      ['nosuch', '{}', /unknown command 'nosuch'/],
      ['fail', '{"transaction":1}', /^nope$/],
      ['echo', JSON.stringify({ big: 'x'.repeat(70_000) }), /too large/],
    ];
    for (const [cmd, body, re] of cases) {
      const resp = nextMessage(client, `gemxrf/test/response/${cmd}`);
      await client.publishAsync(`gemxrf/test/request/${cmd}`, body);
      const r = JSON.parse((await resp).payload.toString());
      assert.equal(r.status, 'error', body.slice(0, 30));
      assert.match(r.error, re);
    }
  });

  it('answers a transaction nested too deeply to echo with an error, without running the handler (regression)', async () => {
    let ran = 0;
    bridge.handle('count', () => ++ran);
    const escaped: unknown[] = [];
    const onEscape = (e: unknown) => escaped.push(e);
    process.on('unhandledRejection', onEscape);
    try {
      // Parsed fine by JSON.parse, but JSON.stringify (recursive) overflows the stack echoing it back.
      const d = 10_000;
      const resp = nextMessage(client, 'gemxrf/test/response/count');
      await client.publishAsync('gemxrf/test/request/count', `{"transaction":${'['.repeat(d)}${']'.repeat(d)}}`);
      const r = JSON.parse((await resp).payload.toString());
      assert.equal(r.status, 'error');
      assert.match(r.error, /transaction cannot be echoed/);
      assert.equal('transaction' in r, false);
      assert.equal(ran, 0);
      const ok = nextMessage(client, 'gemxrf/test/response/count');
      await client.publishAsync('gemxrf/test/request/count', '{"transaction":"t"}');
      assert.deepEqual(JSON.parse((await ok).payload.toString()), { status: 'ok', data: 1, transaction: 't' });
      assert.deepEqual(escaped, []);
    } finally {
      process.off('unhandledRejection', onEscape);
    }
  });

  it('publishes offline when stopped (and the last will covers crashes)', async () => {
    const b2 = new MqttBridge({ url: broker.url, baseTopic: 'gemxrf', instrumentId: 'other', protocolVersion: 4 });
    await b2.start();
    const on = nextMessage(client, 'gemxrf/other/availability');
    await client.subscribeAsync('gemxrf/other/availability');
    assert.equal((await on).payload.toString(), 'online');
    const off = nextMessage(client, 'gemxrf/other/availability');
    await b2.stop();
    assert.equal((await off).payload.toString(), 'offline');
  });
});

describe('map frame', () => {
  it('round-trips header and data', () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i * 0.5);
    const buf = encodeMapFrame({ element: 'Cu', method: 'fit', scanId: 'scan-1', width: 4, height: 3, sequence: 9, timestampMs: 1234.5, data });
    assert.equal(buf.readUInt16LE(6) % 4, 0);
    const f = decodeMapFrame(buf);
    assert.equal(f.element, 'Cu');
    assert.equal(f.method, 'fit');
    assert.equal(f.scanId, 'scan-1');
    assert.equal(f.sequence, 9);
    assert.deepEqual(Array.from(f.data), Array.from(data));
    assert.throws(() => decodeMapFrame(buf.subarray(0, buf.length - 4)), /length/);
    assert.throws(() => decodeMapFrame(Buffer.from('nope-nope-nope-nope-nope-nope')), /magic/);
  });
});
