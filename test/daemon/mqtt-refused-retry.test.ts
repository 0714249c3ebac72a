// A running daemon whose broker comes back refusing it (restarted with its authentication not ready, credentials
// being rotated) must try again: mqtt.js does not retry a refused CONNACK, so the daemon stayed offline for good.
// Real brokers: aedes (the embedded broker) restarted on the same port with other credentials, then the right ones.
import assert from 'node:assert/strict';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../daemon/mqtt/embedded-broker.js';
import { MqttBridge } from '../../daemon/mqtt/bridge.js';
import { Requester, until } from './helpers.js';

describe('mqtt bridge: broker refusal while running', function () {
  this.timeout(60_000);
  let broker: EmbeddedBroker | null = null;
  let bridge: MqttBridge | null = null;
  const lines: string[] = [];

  const startBroker = async (port: number, password: string) => {
    broker = await startEmbeddedBroker({ host: '127.0.0.1', port, wsPort: null, username: 'gemxrf', password });
    return broker;
  };

  after(async () => {
    await bridge?.stop();
    await broker?.close();
  });

  it('keeps trying after a refused CONNACK and is back once the broker accepts it again', async () => {
    const first = await startBroker(0, 'right');
    const port = first.port;
    bridge = new MqttBridge({ url: first.url, baseTopic: 'gemxrf', instrumentId: 'test', protocolVersion: 4, username: 'gemxrf', password: 'right', log: (_l, m) => void lines.push(m) });
    bridge.handle('ping', () => 'pong');
    await bridge.start();

    // The broker restarts refusing these credentials: the reconnect is refused.
    await first.close();
    await startBroker(port, 'other');
    await until(() => lines.some((l) => /refused the connection .*retrying in 5 s/.test(l)), 'the refusal logged with its retry', 20_000);
    assert.equal(bridge.connected, false);

    // The broker accepts them again: the daemon reconnects by itself and serves requests.
    await broker!.close();
    await startBroker(port, 'right');
    await until(() => bridge!.connected, 'the bridge reconnected', 30_000);
    const req = await Requester.connect(broker!.url, 'gemxrf/test', { username: 'gemxrf', password: 'right' });
    try {
      const r = await req.request('ping');
      assert.deepEqual([r.status, r.data], ['ok', 'pong']);
    } finally {
      await req.close();
    }
  });
});
