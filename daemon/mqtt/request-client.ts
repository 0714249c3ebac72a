// The operator side of request/response: connects to the daemon's broker, sends request/<command> with a
// fresh transaction id and waits for the matching response/<command>. Used by `gemxrf scan ...`.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface DaemonResponse {
  status: 'ok' | 'error';
  data?: unknown;
  error?: string;
}

export interface RequestClientOptions {
  username?: string | null;
  password?: string | null;
  /** TLS (mqtts://, wss://): PEM files of the CA that signed the broker's certificate, and a client
   *  certificate and key where the broker asks for one (as the daemon's mqtt.ca / cert / key). */
  ca?: string | null;
  cert?: string | null;
  key?: string | null;
  timeoutMs?: number;
}

/** Reads a PEM file named in the configuration; the error names the key so the operator knows what to fix. */
function readPem(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`mqtt.${key}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export class RequestClient {
  private constructor(readonly client: MqttClient, readonly base: string) {}

  static async connect(url: string, base: string, opts: RequestClientOptions = {}): Promise<RequestClient> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const options: IClientOptions = { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: timeoutMs };
    if (opts.username) options.username = opts.username;
    if (opts.password) options.password = opts.password;
    if (opts.ca) options.ca = readPem('ca', opts.ca);
    if (opts.cert) options.cert = readPem('cert', opts.cert);
    if (opts.key) options.key = readPem('key', opts.key);
    const client = mqtt.connect(url, options);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        client.end(true);
        reject(new Error(`cannot reach the MQTT broker at ${url} (is the daemon running?)`));
      }, timeoutMs);
      client.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
      client.once('error', (e) => {
        clearTimeout(t);
        client.end(true);
        reject(new Error(`cannot connect to ${url}: ${e.message}`));
      });
    });
    await client.subscribeAsync(`${base}/response/#`, { qos: 1 });
    return new RequestClient(client, base);
  }

  request(command: string, payload: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<DaemonResponse> {
    const transaction = randomUUID();
    const topic = `${this.base}/response/${command}`;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.client.off('message', onMsg);
        reject(new Error(`no answer to ${command} within ${timeoutMs / 1000} s (is the daemon running on this broker, base topic ${this.base}?)`));
      }, timeoutMs);
      const onMsg = (tp: string, buf: Buffer) => {
        if (tp !== topic) return;
        let r: DaemonResponse & { transaction?: unknown };
        try {
          r = JSON.parse(buf.toString()) as DaemonResponse & { transaction?: unknown };
        } catch {
          return;
        }
        if (r.transaction !== transaction) return;
        clearTimeout(t);
        this.client.off('message', onMsg);
        resolve(r);
      };
      this.client.on('message', onMsg);
      this.client.publish(`${this.base}/request/${command}`, JSON.stringify({ ...payload, transaction }), { qos: 1 });
    });
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}
