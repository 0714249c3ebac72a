// usb:0x1234:0x5678?interface=0&endpoint=0x81&transfers=4&size=65536 — a detector on a USB bulk IN
// endpoint. Several transfers stay in flight so the endpoint never idles between reads; results are emitted
// in submission order (one emission per transfer). Hot-plug: a detach of our device drops the link at once,
// an attach of a matching device retries at once instead of waiting out the backoff.
//
// URL forms: usb:VID:PID, usb:///VID:PID, usb://?vendorId=VID&productId=PID (ids hex, 0x optional).
// `usb://0x1234:0x5678` is not a valid WHATWG URL (":0x5678" is not a port), so openTransport cannot parse
// it; openTransport() rewrites it to usb:0x1234:0x5678 (normalizeUsbUrl) before parsing.
import { Observable } from 'rxjs';
import { registerTransport } from '../open-transport.js';
import type { Transport } from '../transport.js';
import { backoffFromUrl } from './backoff.js';
import { ReconnectingTransport, type Link, type LinkSink } from './reconnecting-transport.js';
import type { UsbBackend, UsbDeviceInfo } from './usb-backend.js';
import { LibusbBackend } from './usb-libusb.js';
import { boolParam, checkKnownParams, intParam, parseId, RECONNECT_PARAMS } from './url-params.js';

export interface UsbTransportOptions {
  /** Defaults to the real libusb backend; tests pass a FakeUsbDevice's backend. */
  backend?: UsbBackend;
}

export interface UsbTarget {
  vendorId: number;
  productId: number;
  serialNumber?: string;
}

/** usb://0x1234:0x5678?... -> usb:0x1234:0x5678?... (anything else unchanged). */
export { normalizeUsbUrl } from '../open-transport.js';

export function parseUsbTarget(url: URL): UsbTarget {
  const ids = decodeURIComponent(url.pathname).replace(/^\/+/, '').replace(/\/+$/, '');
  const q = url.searchParams;
  const serialNumber = q.get('serialNumber') || undefined;
  if (ids) {
    const m = /^([^:]+):([^:]+)$/.exec(ids);
    if (!m) throw new Error(`expected usb:VID:PID (e.g. usb:0x1234:0x5678), got '${ids}'`);
    if (q.has('vendorId') || q.has('productId')) throw new Error('give VID:PID in the path or vendorId/productId in the query, not both');
    return { vendorId: parseId(m[1]!, 'vendor id'), productId: parseId(m[2]!, 'product id'), ...(serialNumber ? { serialNumber } : {}) };
  }
  const v = q.get('vendorId');
  const p = q.get('productId');
  if (!v || !p) throw new Error('expected usb:VID:PID or usb://?vendorId=VID&productId=PID');
  return { vendorId: parseId(v, 'vendorId'), productId: parseId(p, 'productId'), ...(serialNumber ? { serialNumber } : {}) };
}

const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

/** How long a detached device's pending transfers get to fail by themselves before the link is dropped. */
const DETACH_GRACE_MS = 250;

export function createUsbTransport(url: URL, opts: UsbTransportOptions = {}): Transport {
  checkKnownParams(url, ['interface', 'endpoint', 'transfers', 'size', 'vendorId', 'productId', 'serialNumber', ...RECONNECT_PARAMS]);
  const target = parseUsbTarget(url);
  const interfaceNumber = intParam(url, 'interface', 0, { min: 0, max: 255 });
  const endpoint = intParam(url, 'endpoint', 0x81, { min: 0x81, max: 0x8f });
  const transfers = intParam(url, 'transfers', 4, { min: 1, max: 64 });
  const size = intParam(url, 'size', 65536, { min: 64, max: 16 * 1024 * 1024 });
  const backend = opts.backend ?? new LibusbBackend();
  const label = `${hex4(target.vendorId)}:${hex4(target.productId)}`;
  const isOurs = (d: UsbDeviceInfo): boolean =>
    d.vendorId === target.vendorId && d.productId === target.productId && (target.serialNumber === undefined || d.serialNumber === target.serialNumber);

  let current: UsbDeviceInfo | undefined;
  let attaches = 0;
  let detaches = 0;
  let transfersDone = 0;

  const connect = async (sink: LinkSink): Promise<Link> => {
    const device = await backend.findDevice(target.vendorId, target.productId, target.serialNumber);
    if (!device) throw new Error(`usb device ${label}${target.serialNumber ? ` serial ${target.serialNumber}` : ''} not attached`);
    const bulk = await backend.openBulkIn(device, interfaceNumber, endpoint);
    current = device;
    let stopped = false;
    // Submission-ordered ring of in-flight transfers; each carries its own catch so a rejection after the
    // link stopped is not an unhandled rejection.
    const inflight: Array<Promise<Uint8Array | Error>> = [];
    const submit = (): void => {
      inflight.push(bulk.transferIn(size).then((b) => b, (e: unknown) => (e instanceof Error ? e : new Error(String(e)))));
    };
    for (let i = 0; i < transfers; i++) submit();
    void (async () => {
      while (!stopped) {
        const r = await inflight.shift()!;
        if (stopped) break;
        if (r instanceof Error) {
          stopped = true;
          sink.end(new Error(`usb ${label}: ${r.message}`));
          break;
        }
        submit();
        transfersDone++;
        if (r.length > 0) sink.data(r);
      }
    })();
    return {
      close: async () => {
        stopped = true;
        current = undefined;
        await bulk.close();
      },
    };
  };

  const transport = new ReconnectingTransport(url.toString(), connect, {
    backoff: backoffFromUrl(url),
    reconnect: boolParam(url, 'reconnect', true),
    extraStatus: () => ({
      device: label,
      interface: interfaceNumber,
      endpoint: `0x${endpoint.toString(16)}`,
      transfersInFlight: transfers,
      transferSize: size,
      transfers: transfersDone,
      attaches,
      detaches,
      ...(current ? { deviceId: current.id } : {}),
    }),
  });

  const onAttach = (d: UsbDeviceInfo): void => {
    if (!isOurs(d)) return;
    attaches++;
    transport.retryNow();
  };
  // A detach fails the pending transfers, which ends the link in order: transfers that completed before the
  // unplug are still delivered first. Only a backend that leaves transfers hanging needs the forced drop.
  let detachTimer: NodeJS.Timeout | undefined;
  const onDetach = (d: UsbDeviceInfo): void => {
    if (!isOurs(d)) return;
    detaches++;
    if (!current || current.id !== d.id) return;
    if (detachTimer) clearTimeout(detachTimer);
    detachTimer = setTimeout(() => {
      detachTimer = undefined;
      if (current && current.id === d.id) transport.dropLink(`usb ${label} detached`);
    }, DETACH_GRACE_MS);
  };

  // Listen for hot-plug only while the stream is open, so an unused transport holds no listeners.
  return {
    url: transport.url,
    open: () => {
      const inner = transport.open();
      return new Observable<Uint8Array>((subscriber) => {
        backend.on('attach', onAttach);
        backend.on('detach', onDetach);
        const sub = inner.subscribe(subscriber);
        return () => {
          if (detachTimer) clearTimeout(detachTimer);
          sub.unsubscribe();
          backend.off('attach', onAttach);
          backend.off('detach', onDetach);
        };
      });
    },
    status: () => transport.status(),
    close: async () => {
      if (detachTimer) clearTimeout(detachTimer);
      backend.off('attach', onAttach);
      backend.off('detach', onDetach);
      await transport.close();
    },
  };
}

registerTransport('usb', (url) => createUsbTransport(url));
