// The daemon's MQTT side (docs/mqtt.md): availability with last will, retained state republished on every
// (re)connect, live topics, and request/<command> -> response/<command> with the transaction echoed (and,
// with MQTT 5, the request's response topic and correlation data honoured).
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';

export interface BridgeOptions {
  url: string;
  baseTopic: string;
  instrumentId: string;
  protocolVersion: 4 | 5;
  username?: string | null;
  password?: string | null;
  ca?: string | null;
  cert?: string | null;
  key?: string | null;
  /** Largest request payload accepted (bytes). */
  maxRequestBytes?: number;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}

/** A request that cannot be served: answered with status "error" and this message. */
export class RequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequestError';
  }
}

export type RequestHandler = (data: Record<string, unknown>) => Promise<unknown> | unknown;

export interface LiveOptions {
  retain?: boolean;
  contentType?: string;
  /** MQTT 5 user properties (shape, dtype, model...). */
  userProperties?: Record<string, string>;
  /** MQTT 5 message expiry (s) for live frames that are stale after a while. */
  expirySeconds?: number;
  qos?: 0 | 1;
}

export class MqttBridge {
  private client: MqttClient | null = null;
  private readonly handlers = new Map<string, RequestHandler>();
  private readonly retained = new Map<string, { payload: Buffer | string; opts: LiveOptions }>();
  private readonly maxRequestBytes: number;
  readonly base: string;
  connected = false;
  reconnects = 0;

  constructor(private readonly opts: BridgeOptions) {
    this.base = `${opts.baseTopic}/${opts.instrumentId}`;
    this.maxRequestBytes = opts.maxRequestBytes ?? 64 * 1024;
  }

  topic(sub: string): string {
    return `${this.base}/${sub}`;
  }

  handle(command: string, handler: RequestHandler): void {
    this.handlers.set(command, handler);
  }

  async start(): Promise<void> {
    const o = this.opts;
    const options: IClientOptions = {
      protocolVersion: o.protocolVersion,
      clientId: `gemxrf-${o.instrumentId}-${process.pid}`,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      will: { topic: this.topic('availability'), payload: Buffer.from('offline'), retain: true, qos: 1 },
    };
    if (o.username) options.username = o.username;
    if (o.password) options.password = o.password;
    if (o.ca) options.ca = readFileSync(o.ca);
    if (o.cert) options.cert = readFileSync(o.cert);
    if (o.key) options.key = readFileSync(o.key);
    const client = mqtt.connect(o.url, options);
    this.client = client;
    let firstReady: Promise<void> | null = null;
    client.on('connect', () => {
      if (this.connected) return;
      this.connected = true;
      this.log('info', `mqtt connected to ${o.url} (MQTT ${o.protocolVersion === 5 ? '5' : '3.1.1'})`);
      const ready = this.onConnected().catch((err: Error) => this.log('warn', `mqtt setup after connect failed: ${err.message}`));
      firstReady ??= ready;
    });
    client.on('reconnect', () => {
      this.reconnects++;
    });
    client.on('close', () => {
      if (this.connected) this.log('warn', 'mqtt connection lost; reconnecting');
      this.connected = false;
    });
    client.on('error', (err) => this.log('warn', `mqtt: ${err.message}`));
    client.on('message', (topic, payload, packet) => {
      // A request must never take the daemon down: anything that escapes onMessage is logged, not rethrown.
      this.onMessage(topic, payload, packet.properties).catch((err: Error) => this.log('error', `request on ${topic} failed: ${err.stack ?? err}`));
    });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`cannot connect to MQTT broker ${o.url} within 10 s`)), 10_000);
      client.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
    });
    // Subscribed and announced before start() returns, so callers can rely on both.
    await firstReady;
  }

  /** After every (re)connect: subscribe, announce online, republish the retained state. */
  private async onConnected(): Promise<void> {
    const c = this.client!;
    await c.subscribeAsync(this.topic('request/#'), { qos: 1 });
    await c.publishAsync(this.topic('availability'), 'online', { retain: true, qos: 1 });
    for (const [topic, r] of this.retained) await this.send(topic, r.payload, r.opts);
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void {
    this.opts.log?.(level, msg);
  }

  private publishOptions(opts: LiveOptions): IClientPublishOptions {
    const p: IClientPublishOptions = { retain: opts.retain ?? false, qos: opts.qos ?? 0 };
    if (this.opts.protocolVersion === 5) {
      p.properties = {};
      if (opts.contentType) p.properties.contentType = opts.contentType;
      if (opts.userProperties) p.properties.userProperties = opts.userProperties;
      if (opts.expirySeconds) p.properties.messageExpiryInterval = opts.expirySeconds;
    }
    return p;
  }

  private async send(topic: string, payload: Buffer | string, opts: LiveOptions): Promise<void> {
    const c = this.client;
    if (!c || !this.connected) return;
    try {
      await c.publishAsync(topic, payload, this.publishOptions(opts));
    } catch (err) {
      this.log('debug', `publish ${topic} failed: ${(err as Error).message}`);
    }
  }

  /** Publishes under the base topic; retained payloads are remembered and republished after reconnects. */
  async publish(sub: string, payload: Buffer | string | object, opts: LiveOptions = {}): Promise<void> {
    const topic = this.topic(sub);
    const isBinary = Buffer.isBuffer(payload);
    const body = isBinary || typeof payload === 'string' ? (payload as Buffer | string) : JSON.stringify(payload);
    const o = { contentType: isBinary ? 'application/octet-stream' : 'application/json', ...opts };
    if (o.retain) this.retained.set(topic, { payload: body, opts: o });
    await this.send(topic, body, o);
  }

  /** Clears a retained topic (empty retained message). */
  async clear(sub: string): Promise<void> {
    const topic = this.topic(sub);
    this.retained.delete(topic);
    if (this.client && this.connected) await this.client.publishAsync(topic, '', { retain: true, qos: 1 });
  }

  private async onMessage(topic: string, payload: Buffer, props: { responseTopic?: string; correlationData?: Buffer } | undefined): Promise<void> {
    const prefix = this.topic('request/');
    if (!topic.startsWith(prefix)) return;
    const command = topic.slice(prefix.length);
    let transaction: unknown;
    const reply = async (body: Record<string, unknown>) => {
      const msg = JSON.stringify(transaction === undefined ? body : { ...body, transaction });
      const c = this.client;
      if (!c) return;
      const opts: IClientPublishOptions = { qos: 1 };
      if (this.opts.protocolVersion === 5) {
        opts.properties = { contentType: 'application/json' };
        if (props?.correlationData) opts.properties.correlationData = props.correlationData;
      }
      await c.publishAsync(this.topic(`response/${command}`), msg, opts).catch(() => undefined);
      // MQTT 5 request/response: also answer on the topic the requester asked for.
      if (props?.responseTopic && props.responseTopic !== this.topic(`response/${command}`)) {
        await c.publishAsync(props.responseTopic, msg, opts).catch(() => undefined);
      }
    };
    if (payload.length > this.maxRequestBytes) return reply({ status: 'error', error: `request too large (${payload.length} bytes; limit ${this.maxRequestBytes})` });
    let data: Record<string, unknown> = {};
    if (payload.length > 0) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(payload.toString('utf8'));
      } catch {
        return reply({ status: 'error', error: 'request payload is not valid JSON' });
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return reply({ status: 'error', error: 'request payload must be a JSON object' });
      data = parsed as Record<string, unknown>;
      transaction = data['transaction'];
      delete data['transaction'];
      // The transaction is echoed as JSON: one nested too deeply for JSON.stringify (it recurses) would make
      // the reply throw after the handler ran; refuse it before anything is done.
      try {
        JSON.stringify(transaction);
      } catch (err) {
        transaction = undefined;
        return reply({ status: 'error', error: `transaction cannot be echoed: ${(err as Error).message}` });
      }
    }
    const handler = this.handlers.get(command);
    if (!handler) return reply({ status: 'error', error: `unknown command '${command}' (known: ${[...this.handlers.keys()].sort().join(', ')})` });
    try {
      const result = await handler(data);
      await reply({ status: 'ok', data: result ?? null });
    } catch (err) {
      const message = err instanceof RequestError ? err.message : `internal error: ${(err as Error).message}`;
      if (!(err instanceof RequestError)) this.log('error', `request ${command} failed: ${(err as Error).stack ?? err}`);
      await reply({ status: 'error', error: message });
    }
  }

  /** Publishes offline and disconnects cleanly (the last will covers unclean exits). */
  async stop(): Promise<void> {
    const c = this.client;
    if (!c) return;
    if (this.connected) await c.publishAsync(this.topic('availability'), 'offline', { retain: true, qos: 1 }).catch(() => undefined);
    // Marked disconnected first, so the close that endAsync causes is not logged as a lost connection.
    this.connected = false;
    await c.endAsync().catch(() => undefined);
    this.client = null;
    this.connected = false;
  }
}
