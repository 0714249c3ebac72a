// MqttBridge.stop() while the broker is gone: a QoS 1 publication made meanwhile (an event, the state) cannot be
// acknowledged, and mqtt.js's end() without force waits for every unacknowledged one ('outgoingEmpty'), which
// never comes once reconnecting stops: the daemon's shutdown would hang for good. stop() must end.
import assert from 'node:assert/strict';
import { startEmbeddedBroker } from '../../daemon/mqtt/embedded-broker.js';
import { MqttBridge } from '../../daemon/mqtt/bridge.js';

describe('MQTT bridge stop() with the broker gone', () => {
  it('ends although a QoS 1 publication is still unacknowledged', async function () {
    this.timeout(30_000);
    const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, wsPort: 0 });
    const bridge = new MqttBridge({ url: broker.url, baseTopic: 'gemxrf', instrumentId: 'stop-offline', protocolVersion: 4 });
    await bridge.start();
    await broker.close();
    const deadline = Date.now() + 10_000;
    while (bridge.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(bridge.connected, false, 'the bridge saw the broker go');
    // While the bridge is disconnected, publish() returns at once; one made just before the loss is the case
    // of interest: published through the client directly, as send() would have a moment earlier.
    const client = (bridge as unknown as { client: { publish(t: string, p: string, o: { qos: 1 }): void } }).client;
    client.publish('gemxrf/stop-offline/event', '{}', { qos: 1 });
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      bridge.stop().then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 5000))),
    ]);
    clearTimeout(timer);
    assert.equal(ended, true, 'stop() ended');
  });
});
