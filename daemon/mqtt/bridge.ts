// The daemon's MQTT side (docs/mqtt.md): availability with last will, retained state republished on every
// (re)connect, live topics, and request/<command> -> response/<command> with the transaction echoed (and,
// with MQTT 5, the request's response topic and correlation data honoured).
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';

export interface BridgeOptions {
  url: string;
  baseTopic: string;
  instrumentId: string;
  /** 'auto': MQTT 5, falling back to 3.1.1 for the rest of the run when the broker refuses 5; 5: MQTT 5 only
   *  (a broker that refuses it fails the start, with the reason); 4: MQTT 3.1.1 only. */
  protocolVersion: 4 | 5 | 'auto';
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

/** The longest topic MQTT can carry (a UTF-8 string with a 16-bit length). */
export const MAX_TOPIC_BYTES = 65_535;

/**
 * Why a topic cannot be published to (null: it can): empty, too long, NUL, a wildcard, or a control character
 * or non-character (MQTT 5 lets a broker drop the connection of a client that publishes one: mosquitto does).
 * mqtt.js checks none of this: a publish to `a/#` gets the daemon disconnected by mosquitto, an empty topic's
 * publish never settles, and a topic over 65535 bytes leaves the client unable to complete later QoS 1 publishes.
 */
export function topicProblem(topic: string): string | null {
  if (topic.length === 0) return 'it is empty';
  const bytes = Buffer.byteLength(topic, 'utf8');
  if (bytes > MAX_TOPIC_BYTES) return `it is too long (${bytes} bytes; MQTT allows ${MAX_TOPIC_BYTES})`;
  if (topic.includes('\u0000')) return 'it contains a NUL character';
  if (/[+#]/.test(topic)) return 'it contains a wildcard (+ or #), which cannot be published to';
  for (const ch of topic) {
    const cp = ch.codePointAt(0)!;
    if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) {
      return `it contains ${cp <= 0x9f ? 'a control character' : 'a Unicode non-character'} (U+${cp.toString(16).toUpperCase().padStart(4, '0')}), which brokers may refuse`;
    }
  }
  return null;
}

/**
 * Why an MQTT 5 request's response topic is not answered (null: it is): a topic that cannot be published to,
 * one starting with `$` (reserved for the broker), or one inside the daemon's own tree other than
 * `BASE/response/...` (an answer on `BASE/request/...` would be taken for a new request, one on `BASE/state`
 * or `BASE/availability` for the daemon's own message).
 */
export function responseTopicProblem(topic: string, base: string): string | null {
  const p = topicProblem(topic);
  if (p) return p;
  if (topic.startsWith('$')) return 'it starts with $ (topics reserved for the broker)';
  if ((topic === base || topic.startsWith(`${base}/`)) && !topic.startsWith(`${base}/response/`)) return `it is one of the daemon's own topics (only ${base}/response/... may be named)`;
  return null;
}

/** A topic (or command) for a log line or an error: JSON-quoted, so control characters show, cut to 120 characters. */
function shownTopic(topic: string): string {
  return JSON.stringify(topic.length > 120 ? `${topic.slice(0, 120)}…` : topic) + (topic.length > 120 ? ` (${topic.length} characters)` : '');
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
  /** The MQTT version of the current client: 5 first unless 4 is configured, 4 after a fallback. */
  private version: 4 | 5;
  private fallback = false;
  /** A 3.1.1 attempt made because the broker dropped an MQTT 5 CONNECT unanswered (not yet a fallback). */
  private probing = false;
  private stopped = false;
  /** The last reason each version could not connect, for the message of a failed start. */
  private readonly failures = new Map<4 | 5, string>();
  private firstReady: Promise<void> | null = null;
  /** Set while start() waits for the first connection: settles it (with an error: start fails). */
  private onStarted: ((err?: Error) => void) | null = null;
  private replaceTimer: NodeJS.Timeout | undefined;
  /** Delay before the next attempt after the broker refused a running daemon's CONNECT (doubles to 60 s; reset
   *  on connect). */
  private refusedRetryMs = 0;
  private tlsFiles: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  readonly base: string;
  connected = false;
  reconnects = 0;

  constructor(private readonly opts: BridgeOptions) {
    this.base = `${opts.baseTopic}/${opts.instrumentId}`;
    this.maxRequestBytes = opts.maxRequestBytes ?? 64 * 1024;
    this.version = opts.protocolVersion === 4 ? 4 : 5;
  }

  topic(sub: string): string {
    return `${this.base}/${sub}`;
  }

  handle(command: string, handler: RequestHandler): void {
    this.handlers.set(command, handler);
  }

  /** The MQTT version in use (after a fallback: 4), or that the next connection attempt will use. */
  get protocolVersion(): 4 | 5 {
    return this.version;
  }

  /** True once this run fell back from MQTT 5 to 3.1.1 because the broker refused 5 (sticky until stop()). */
  get fellBack(): boolean {
    return this.fallback;
  }

  async start(): Promise<void> {
    const o = this.opts;
    // Every start tries MQTT 5 again (unless 4 is configured): a broker upgraded since the last run is used with 5.
    this.version = o.protocolVersion === 4 ? 4 : 5;
    this.fallback = false;
    this.probing = false;
    this.stopped = false;
    this.failures.clear();
    this.firstReady = null;
    // Read once per start (a client made later, for a fallback, must not throw from a timer on a file gone since).
    this.tlsFiles = {};
    if (o.ca) this.tlsFiles.ca = readFileSync(o.ca);
    if (o.cert) this.tlsFiles.cert = readFileSync(o.cert);
    if (o.key) this.tlsFiles.key = readFileSync(o.key);
    let settle: ((err?: Error) => void) | null = null;
    const started = new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve());
    });
    this.onStarted = (err) => {
      const s = settle;
      settle = null;
      this.onStarted = null;
      s?.(err);
    };
    this.client = this.connectClient(this.version);
    const t = setTimeout(() => this.onStarted?.(new Error(this.failureMessage('within 10 s'))), 10_000);
    try {
      await started;
    } catch (err) {
      // Nothing keeps trying in the background after a failed start.
      this.stopped = true;
      clearTimeout(this.replaceTimer);
      await this.client?.endAsync(true).catch(() => undefined);
      this.client = null;
      throw err;
    } finally {
      clearTimeout(t);
    }
    // Subscribed and announced before start() returns, so callers can rely on both.
    await this.firstReady;
  }

  /** Why the broker could not be used, for a start that failed: the last failure with each version tried. */
  private failureMessage(when: string): string {
    const o = this.opts;
    const tried = [...this.failures].map(([v, why]) => `with MQTT ${v === 5 ? '5' : '3.1.1'}: ${why}`);
    const because = tried.length ? `: ${tried.join('; ')}` : ' (no answer)';
    let hint = '';
    const v5 = this.failures.get(5);
    if (o.protocolVersion === 5 && v5 && /unacceptable protocol version|unsupported protocol version/i.test(v5)) {
      hint = ' (the broker does not speak MQTT 5: set mqtt.protocolVersion to auto or 4)';
    }
    return `cannot connect to MQTT broker ${o.url}${when ? ` ${when}` : ''}${because}${hint}`;
  }

  /** One mqtt.js client speaking `version`; replaced by a new one when the bridge falls back to 3.1.1. */
  private connectClient(version: 4 | 5): MqttClient {
    const o = this.opts;
    const options: IClientOptions = {
      protocolVersion: version,
      clientId: `gemxrf-${o.instrumentId}-${process.pid}`,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      will: { topic: this.topic('availability'), payload: Buffer.from('offline'), retain: true, qos: 1 },
    };
    if (o.username) options.username = o.username;
    if (o.password) options.password = o.password;
    Object.assign(options, this.tlsFiles);
    const client = mqtt.connect(o.url, options);
    const current = () => client === this.client && !this.stopped;
    // The connection attempt under way: whether a CONNACK came, and the error it ended with (if any).
    let connack = false;
    let attemptError: (Error & { code?: unknown }) | null = null;
    client.on('packetsend', (p) => {
      if (p.cmd === 'connect') {
        connack = false;
        attemptError = null;
      }
    });
    client.on('packetreceive', (p) => {
      if (p.cmd === 'connack') connack = true;
    });
    client.on('connect', () => {
      if (!current() || this.connected) return;
      this.connected = true;
      if (this.probing) {
        // 3.1.1 accepted right after the broker dropped an MQTT 5 CONNECT unanswered: it does not speak 5.
        this.probing = false;
        this.fallBack('it closed the connection on the MQTT 5 CONNECT without an answer and accepts 3.1.1');
      }
      this.failures.clear();
      this.refusedRetryMs = 0;
      this.log('info', `mqtt connected to ${o.url} (MQTT ${version === 5 ? '5' : '3.1.1'})`);
      const ready = this.onConnected().catch((err: Error) => this.log('warn', `mqtt setup after connect failed: ${err.message}`));
      this.firstReady ??= ready;
      this.onStarted?.();
    });
    client.on('reconnect', () => {
      if (current()) this.reconnects++;
    });
    client.on('close', () => {
      if (!current()) return;
      if (this.connected) this.log('warn', 'mqtt connection lost; reconnecting');
      this.connected = false;
      if (connack) return; // a refused CONNACK: handled on its error
      if (this.probing) {
        // The 3.1.1 attempt after a dropped MQTT 5 CONNECT failed too: not a version problem (a broker or a
        // proxy in front of it that drops every connection), so back to 5 for the next attempt.
        this.probing = false;
        this.replaceClient(5, 1000);
        return;
      }
      // Closed before any CONNACK. With no error (the broker closed the connection) or a reset, a broker
      // that does not speak MQTT 5 may have dropped the v5 CONNECT (some do that instead of answering with
      // return code 1): the next attempt tries 3.1.1, and only a 3.1.1 connection accepted right then makes
      // the fallback stick. A connection that never opened (ECONNREFUSED, DNS, TLS...) says nothing about the
      // version: mqtt.js retries it as it is.
      const code = (attemptError as (Error & { code?: unknown }) | null)?.code;
      const dropped = attemptError === null || code === 'ECONNRESET' || code === 'EPIPE';
      if (!dropped) return;
      this.failures.set(version, attemptError ? `connection reset (${String(code)})` : 'the broker closed the connection without answering the CONNECT');
      if (this.opts.protocolVersion === 'auto' && version === 5 && !this.fallback) {
        this.log('debug', 'mqtt: the broker closed the connection on the MQTT 5 CONNECT without an answer; trying 3.1.1');
        this.probing = true;
        this.replaceClient(4, 1000);
      }
    });
    client.on('error', (err: Error & { code?: unknown }) => {
      if (!current()) return;
      attemptError = err;
      const rc = err.code;
      if (connack && typeof rc === 'number') {
        // A CONNACK refusal: mqtt.js does not retry those. 1 is a 3.1.1 broker's "unacceptable protocol version"
        // (not a valid MQTT 5 reason code: the broker answered in 3.1.1), 0x84 an MQTT 5 broker's "unsupported
        // protocol version".
        const versionRefused = rc === 1 || rc === 0x84;
        this.failures.set(version, err.message);
        if (versionRefused && version === 5 && this.opts.protocolVersion === 'auto' && !this.fallback) {
          this.fallBack(`it answered the MQTT 5 CONNECT with "${err.message}"`);
          this.replaceClient(4, 0);
          return;
        }
        // While starting, the start fails with the reason (a wrong configuration is said at once). Later (a broker
        // restarted with its authentication not ready yet, an ACL being edited), mqtt.js would not retry and the
        // daemon would stay offline for good: it tries again, backing off from 5 s to a minute.
        // A 3.1.1 probe (after a dropped MQTT 5 CONNECT) refused for another reason (credentials) says nothing about
        // the version: the probe ends, and the retry uses the version the run had before it.
        const retryVersion = this.probing ? 5 : version;
        this.probing = false;
        if (this.onStarted) this.onStarted(new Error(this.failureMessage('')));
        else {
          this.refusedRetryMs = Math.min(60_000, this.refusedRetryMs > 0 ? this.refusedRetryMs * 2 : 5000);
          this.log('error', `mqtt: the broker refused the connection (MQTT ${version === 5 ? '5' : '3.1.1'}): ${err.message}; retrying in ${this.refusedRetryMs / 1000} s`);
          this.replaceClient(retryVersion, this.refusedRetryMs);
        }
        return;
      }
      this.failures.set(version, err.message);
      this.log('warn', `mqtt: ${err.message}`);
    });
    client.on('message', (topic, payload, packet) => {
      if (!current()) return;
      // A request must never take the daemon down: anything that escapes onMessage is logged, not rethrown.
      this.onMessage(topic, payload, packet.properties).catch((err: Error) => this.log('error', `request on ${topic} failed: ${err.stack ?? err}`));
    });
    return client;
  }

  /** Uses 3.1.1 for the rest of this run (reconnects included), logged once. */
  private fallBack(why: string): void {
    if (this.fallback) return;
    this.fallback = true;
    this.version = 4;
    this.log('warn', `mqtt: broker ${this.opts.url} does not speak MQTT 5 (${why}): using 3.1.1; response topics, correlation data and user properties are unavailable`);
  }

  /** Ends the current client and connects a new one with `version` after `delayMs` (like mqtt.js's own
   *  reconnect period, so a broker that drops every connection is not hammered); the old client's events are
   *  ignored from now. */
  private replaceClient(version: 4 | 5, delayMs: number): void {
    const old = this.client;
    this.client = null;
    this.version = version;
    old?.end(true);
    clearTimeout(this.replaceTimer);
    this.replaceTimer = setTimeout(() => {
      if (this.stopped) return;
      this.reconnects++;
      this.client = this.connectClient(version);
    }, delayMs);
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
    if (this.version === 5) {
      p.properties = {};
      if (opts.contentType) p.properties.contentType = opts.contentType;
      // An empty set must not be passed on: mqtt-packet cannot encode it and the publish then never settles.
      if (opts.userProperties && Object.keys(opts.userProperties).length > 0) p.properties.userProperties = opts.userProperties;
      if (opts.expirySeconds) p.properties.messageExpiryInterval = opts.expirySeconds;
    }
    return p;
  }

  private async send(topic: string, payload: Buffer | string, opts: LiveOptions): Promise<void> {
    const c = this.client;
    if (!c || !this.connected) return;
    const problem = topicProblem(topic);
    if (problem) {
      this.log('warn', `not published to ${shownTopic(topic)}: ${problem}`);
      return;
    }
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
    // The answer goes to BASE/response/<command>, and with MQTT 5 also to the request's response topic when it
    // names one that can be answered (docs/mqtt.md). Neither is published to unless it is a legal topic: mqtt.js
    // does not check, and one bad publish can get the daemon disconnected or wedge its client.
    const defaultTopic = this.topic(`response/${command}`);
    const defaultProblem = topicProblem(defaultTopic);
    if (defaultProblem) this.log('warn', `request on ${shownTopic(topic)}: no answer on ${shownTopic(defaultTopic)}: ${defaultProblem}`);
    let responseTopic = props?.responseTopic ? props.responseTopic : undefined; // an empty one names none
    let badResponseTopic: string | null = null;
    if (responseTopic !== undefined) {
      const problem = responseTopicProblem(responseTopic, this.base);
      if (problem) {
        badResponseTopic = `the request's response topic ${shownTopic(responseTopic)} cannot be answered: ${problem}`;
        this.log('warn', `request ${shownTopic(command)} refused: ${badResponseTopic}`);
        responseTopic = undefined;
      }
    }
    const reply = async (body: Record<string, unknown>) => {
      const msg = JSON.stringify(transaction === undefined ? body : { ...body, transaction });
      const c = this.client;
      if (!c) return;
      const opts: IClientPublishOptions = { qos: 1 };
      if (this.version === 5) {
        opts.properties = { contentType: 'application/json' };
        if (props?.correlationData) opts.properties.correlationData = props.correlationData;
      }
      if (!defaultProblem) await c.publishAsync(defaultTopic, msg, opts).catch(() => undefined);
      // MQTT 5 request/response: also answer on the topic the requester asked for.
      if (responseTopic !== undefined && responseTopic !== defaultTopic) {
        await c.publishAsync(responseTopic, msg, opts).catch(() => undefined);
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
    // A response topic that cannot be answered makes the request a bad one: refused, nothing is done.
    if (badResponseTopic) return reply({ status: 'error', error: badResponseTopic });
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
    clearTimeout(this.replaceTimer);
    const c = this.client;
    if (!c) {
      this.stopped = true;
      return;
    }
    if (this.connected) {
      // Bounded: a connection lost meanwhile would leave the acknowledgement (and this wait) pending for good.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        c.publishAsync(this.topic('availability'), 'offline', { retain: true, qos: 1 }).catch(() => undefined),
        new Promise<void>((r) => (timer = setTimeout(r, 5000))),
      ]);
      clearTimeout(timer);
    }
    // Marked disconnected first, so the close that endAsync causes is not logged as a lost connection.
    this.connected = false;
    this.stopped = true;
    // Without a connection, a graceful end waits for QoS 1 acknowledgements that can never come (mqtt.js waits
    // for 'outgoingEmpty' and no longer reconnects): the shutdown would hang. Forced then.
    await c.endAsync(!c.connected).catch(() => undefined);
    this.client = null;
    this.connected = false;
  }
}
