// Scheme -> factory registry. Each transport module calls registerTransport('tcp', factory) at import time;
// openTransport(url) dispatches on the URL's scheme. Errors name the URL and the reason in one line.
import type { Transport, TransportFactory } from './transport.js';

const registry = new Map<string, TransportFactory>();

/** scheme without the colon, e.g. 'tcp', 'file'. A later registration replaces an earlier one. */
export function registerTransport(scheme: string, factory: TransportFactory): void {
  registry.set(scheme.replace(/:$/, '').toLowerCase(), factory);
}

export function registeredSchemes(): string[] {
  return [...registry.keys()].sort();
}

export class TransportUrlError extends Error {
  constructor(readonly url: string, reason: string) {
    super(`transport ${url}: ${reason}`);
    this.name = 'TransportUrlError';
  }
}

/** `usb://0x1234:0x5678` (the spelling operators write) is not a valid URL: ':0x5678' is no port. Rewritten
 *  to `usb:0x1234:0x5678`, which the usb transport parses. Other URLs pass unchanged. */
export function normalizeUsbUrl(s: string): string {
  return s.replace(/^usb:\/\/(0x[0-9a-f]{1,4}|[0-9a-f]{4}):(0x[0-9a-f]{1,4}|[0-9a-f]{4})(?=[/?#]|$)/i, 'usb:$1:$2');
}

export function openTransport(urlString: string): Transport {
  let url: URL;
  try {
    url = new URL(normalizeUsbUrl(urlString));
  } catch {
    throw new TransportUrlError(urlString, 'not a URL (expected e.g. tcp://host:port, udp://:48350, file:///path/x.gemx)');
  }
  const scheme = url.protocol.replace(/:$/, '').toLowerCase();
  const factory = registry.get(scheme);
  if (!factory) {
    const known = registeredSchemes();
    throw new TransportUrlError(urlString, `unknown scheme '${scheme}:' (registered: ${known.length ? known.join(', ') : 'none'})`);
  }
  try {
    return factory(url);
  } catch (e) {
    throw new TransportUrlError(urlString, e instanceof Error ? e.message : String(e));
  }
}
