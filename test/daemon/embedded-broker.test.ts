// The embedded broker fails to start cleanly: when its WebSocket port is taken, the TCP listener it had
// already opened is closed again (an open server would keep `gemxrf daemon` from exiting after its error).
import assert from 'node:assert/strict';
import net from 'node:net';
import { startEmbeddedBroker } from '../../daemon/mqtt/embedded-broker.js';
import { freePort } from './mosquitto.js';

function listenOn(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

describe('embedded broker start failure', function () {
  this.timeout(10_000);

  it('closes its TCP listener when the WebSocket port is taken', async () => {
    const blocker = await listenOn(0);
    const wsPort = (blocker.address() as net.AddressInfo).port;
    const port = await freePort();
    try {
      await assert.rejects(startEmbeddedBroker({ host: '127.0.0.1', port, wsPort }), /cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
      // The TCP port is free again: nothing of the failed broker is left listening.
      const again = await listenOn(port);
      await new Promise<void>((r) => again.close(() => r()));
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});
