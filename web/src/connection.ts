// The page's only channel to the daemon: MQTT over WebSocket (docs/mqtt.md). Subscribes to the topic tree,
// dispatches messages by topic, and sends requests whose responses are matched by their echoed transaction
// (other clients' responses arrive on the same topic and are ignored).
import mqtt, { type MqttClient } from 'mqtt';

export interface DaemonResponse<T = unknown> {
  status: 'ok' | 'error';
  data?: T;
  error?: string;
  transaction?: unknown;
}

export type LinkStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'error' | 'refused';
export interface Credentials {
  username: string;
  password: string;
}

/** CONNACK codes that mean "your credentials are not accepted": 3.1.1's 4 (bad username or password) and
 *  5 (not authorized), MQTT 5's 134, 135 and 140 (bad authentication method). mqtt.js reports a refused
 *  CONNACK as an 'error' whose numeric `code` is the return code, and then does not reconnect. */
const AUTH_REFUSALS = new Set([4, 5, 134, 135, 140]);
type Handler = (payload: Uint8Array, topic: string) => void;

export class DaemonLink {
  private client: MqttClient | null = null;
  private readonly exact = new Map<string, Handler[]>();
  private readonly prefixes: Array<{ prefix: string; fn: Handler }> = [];
  private readonly pending = new Map<string, { resolve: (r: DaemonResponse) => void; timer: ReturnType<typeof setTimeout> }>();
  private readonly statusListeners: Array<(s: LinkStatus, detail: string) => void> = [];
  private counter = 0;
  private readonly session = Math.random().toString(36).slice(2, 10);

  constructor(readonly base: string) {}

  /** Handles sub (relative to BASE); a trailing '/#' matches everything below it. */
  on(sub: string, fn: Handler): void {
    if (sub.endsWith('/#')) this.prefixes.push({ prefix: `${this.base}/${sub.slice(0, -1)}`, fn });
    else {
      const t = `${this.base}/${sub}`;
      this.exact.set(t, [...(this.exact.get(t) ?? []), fn]);
    }
  }

  onStatus(fn: (s: LinkStatus, detail: string) => void): void {
    this.statusListeners.push(fn);
  }

  private status(s: LinkStatus, detail = ''): void {
    for (const fn of this.statusListeners) fn(s, detail);
  }

  /** Connects (again: a previous client is closed first, and its late events are ignored). The credentials
   *  live only in this client's options, for its reconnects. A broker refusing them gives status 'refused'
   *  with the broker's reason as detail (e.g. "Connection refused: Bad username or password"). */
  connect(url: string, auth: Partial<Credentials> = {}): void {
    this.client?.end(true);
    this.status('connecting', url);
    // Protocol 4 (3.1.1): the embedded broker speaks only that, and every MQTT 5 broker accepts it too.
    const c = mqtt.connect(url, { protocolVersion: 4, clean: true, reconnectPeriod: 2000, connectTimeout: 8000, clientId: `gemxrf-web-${this.session}`, ...auth });
    this.client = c;
    const live = () => this.client === c;
    c.on('connect', () => {
      if (!live()) return;
      this.status('connected', url);
      const subs = ['availability', 'state', 'event', 'live/#', 'response/#'].map((s) => `${this.base}/${s}`);
      c.subscribe(subs, { qos: 0 }, (err) => err && live() && this.status('error', `subscribe failed: ${err.message}`));
    });
    c.on('reconnect', () => live() && this.status('reconnecting', url));
    c.on('offline', () => live() && this.status('offline', url));
    c.on('error', (e) => {
      if (!live()) return;
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'number' && AUTH_REFUSALS.has(code)) {
        c.end(true); // mqtt.js does not retry a refused CONNACK; drop the client and its credentials
        this.status('refused', e.message);
      } else this.status('error', e.message);
    });
    c.on('message', (topic, payload) => live() && this.dispatch(topic, payload as unknown as Uint8Array));
  }

  private dispatch(topic: string, payload: Uint8Array): void {
    if (topic.startsWith(`${this.base}/response/`)) this.settle(payload);
    for (const fn of this.exact.get(topic) ?? []) fn(payload, topic);
    for (const { prefix, fn } of this.prefixes) if (topic.startsWith(prefix)) fn(payload, topic);
  }

  private settle(payload: Uint8Array): void {
    let r: DaemonResponse;
    try {
      r = JSON.parse(new TextDecoder().decode(payload)) as DaemonResponse;
    } catch {
      return;
    }
    const key = typeof r.transaction === 'string' ? r.transaction : '';
    const p = this.pending.get(key);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(key);
    p.resolve(r);
  }

  /** Publishes request/<command> and resolves with its response (an error response on timeout or no link). */
  request<T = unknown>(command: string, payload: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<DaemonResponse<T>> {
    const c = this.client;
    if (!c || !c.connected) return Promise.resolve({ status: 'error', error: 'not connected to the MQTT broker' });
    const transaction = `web-${this.session}-${++this.counter}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(transaction);
        resolve({ status: 'error', error: `no response to ${command} within ${timeoutMs / 1000} s (is the daemon running?)` });
      }, timeoutMs);
      this.pending.set(transaction, { resolve: resolve as (r: DaemonResponse) => void, timer });
      c.publish(`${this.base}/request/${command}`, JSON.stringify({ ...payload, transaction }), { qos: 1 });
    });
  }

  close(): void {
    this.client?.end(true);
  }
}
