// The serial transport over @serialport/binding-mock: open by path, find by identity, unplug (a read error,
// as a real unplug gives) and reconnect — under another /dev name when found by identity.
import assert from 'node:assert/strict';
import { SerialPortMock } from 'serialport';
import { createSerialTransport, type SerialBinding } from '../../../drivers/transports/serial.js';
import { openTransport } from '../../../drivers/open-transport.js';
import type { Transport } from '../../../drivers/transport.js';
import { concat, waitFor } from './wait.js';

// binding-mock's own types do not resolve under NodeNext; serialport re-exports the mock binding.
const MockBinding = SerialPortMock.binding;
type MockPort = Awaited<ReturnType<typeof MockBinding.open>>;

/**
 * MockBinding plus what the mock lacks: serial numbers in list() and an unplug() that fails the pending
 * read with EIO, the way a vanished tty does.
 */
function unpluggableBinding(serials: Record<string, string> = {}) {
  const ports: Array<MockPort & { unplug(): void }> = [];
  const binding = {
    ...MockBinding,
    list: async () => (await MockBinding.list()).map((p) => (serials[p.path] ? { ...p, serialNumber: serials[p.path] } : p)),
    open: async (o: Parameters<typeof MockBinding.open>[0]) => {
      const inner = await MockBinding.open(o);
      let failRead: ((e: Error) => void) | undefined;
      const port = new Proxy(inner, {
        get(target, key, receiver) {
          if (key === 'read')
            return (buf: Buffer, off: number, len: number) =>
              new Promise((resolve, reject) => {
                failRead = reject;
                target.read(buf, off, len).then(resolve, reject);
              });
          if (key === 'unplug') return () => failRead?.(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
          const v = Reflect.get(target, key, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }) as MockPort & { unplug(): void };
      ports.push(port);
      return port;
    },
  };
  return { binding: binding as unknown as SerialBinding, ports };
}

describe('transports: serial (binding-mock)', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  beforeEach(() => MockBinding.reset());
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
    MockBinding.reset();
  });

  function start(url: string, binding: SerialBinding): { t: Transport; got: Uint8Array[] } {
    const t = createSerialTransport(new URL(url), { binding });
    cleanup.push(() => t.close());
    const got: Uint8Array[] = [];
    const sub = t.open().subscribe({ next: (c) => got.push(c), error: (e) => assert.fail(`stream errored: ${String(e)}`) });
    cleanup.push(() => sub.unsubscribe());
    return { t, got };
  }

  it('opens a port by path with the given baud rate and delivers its bytes', async () => {
    MockBinding.createPort('/dev/ttyGEM0');
    const { binding, ports } = unpluggableBinding();
    const { t, got } = start('serial:///dev/ttyGEM0?baud=921600', binding);
    await waitFor(() => t.status().state === 'open', 'open');
    assert.equal(ports[0]!.openOptions.baudRate, 921600);
    ports[0]!.emitData(Buffer.from('GEMX-bytes'));
    await waitFor(() => got.length > 0, 'data');
    assert.equal(Buffer.from(concat(got)).toString(), 'GEMX-bytes');
    assert.equal(t.status().path, '/dev/ttyGEM0');
  });

  it('finds the port by serial number and vendor id, and finds it again under a new name after an unplug', async () => {
    MockBinding.createPort('/dev/ttyUSB0', { vendorId: '0403', productId: '6015' });
    MockBinding.createPort('/dev/ttyUSB1', { vendorId: '10c4', productId: 'ea60' });
    const serials: Record<string, string> = { '/dev/ttyUSB0': 'GEM-0042', '/dev/ttyUSB1': 'OTHER' };
    const { binding, ports } = unpluggableBinding(serials);
    const { t, got } = start('serial://?serialNumber=GEM-0042&vendorId=0x0403&reconnectMinMs=10&reconnectMaxMs=30', binding);
    await waitFor(() => t.status().state === 'open', 'open');
    assert.equal(t.status().path, '/dev/ttyUSB0');
    ports[0]!.emitData(Buffer.from('one;'));
    await waitFor(() => got.length === 1, 'first data');

    // Unplug: the read fails; the device re-enumerates as ttyUSB2 a little later.
    ports[0]!.unplug();
    await waitFor(() => t.status().reconnects === 1, 'unplug noticed');
    assert.match(String(t.status().error), /unplugged|EIO/);
    MockBinding.reset();
    await waitFor(() => /no serial port with/.test(String(t.status().error)), 'searching while absent');
    MockBinding.createPort('/dev/ttyUSB2', { vendorId: '0403', productId: '6015' });
    serials['/dev/ttyUSB2'] = 'GEM-0042';
    await waitFor(() => t.status().state === 'open' && t.status().path === '/dev/ttyUSB2', 'reconnected under the new name');
    ports.at(-1)!.emitData(Buffer.from('two;'));
    await waitFor(() => Buffer.from(concat(got)).toString() === 'one;two;', 'data after reconnect');
    assert.equal(t.status().connects, 2);
  });

  it('reports a missing port in status (never throws) and refuses ambiguous matches', async () => {
    MockBinding.createPort('/dev/ttyUSB0', { vendorId: '0403' });
    MockBinding.createPort('/dev/ttyUSB1', { vendorId: '0403' });
    const { binding } = unpluggableBinding();
    const missing = start('serial:///dev/ttyNOPE?reconnectMinMs=10&reconnectMaxMs=20', binding);
    await waitFor(() => missing.t.status().reconnects >= 1, 'failed open');
    assert.match(String(missing.t.status().error), /ttyNOPE/);
    const two = start('serial://?vendorId=0403&reconnectMinMs=10&reconnectMaxMs=20', binding);
    await waitFor(() => two.t.status().reconnects >= 1, 'failed match');
    assert.match(String(two.t.status().error), /2 serial ports match vendorId=0403/);
  });

  it('is registered as serial:// and validates its URL', () => {
    assert.throws(() => openTransport('serial://'), /no port given/);
    assert.throws(() => openTransport('serial:///dev/ttyUSB0?serialNumber=A'), /either a device path/);
    assert.throws(() => openTransport('serial:///dev/ttyUSB0?baud=fast'), /baud/);
    assert.throws(() => openTransport('serial:///dev/ttyUSB0?bauds=9600'), /unknown parameter 'bauds'/);
  });
});
