// Shared helpers for the daemon tests: a small fast configuration, and an MQTT requester that matches
// responses by transaction id.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { configSchema, type GemxrfConfig } from '../../config/index.js';
import { startDaemon, type Daemon } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';

export function tempDir(prefix = 'gemxrf-daemon-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A daemon configuration that runs light on a 2-core machine: 32x32 grid, 20 k events/s, ephemeral ports. */
export function testConfig(dataDir: string, extra: Record<string, unknown> = {}): GemxrfConfig {
  return configSchema.parse({
    instrument: { id: 'test' },
    detector: { width: 32, height: 32 },
    mqtt: { embedded: { host: '127.0.0.1', port: 0, wsPort: 0 } },
    storage: { dataDir, checkpointSeconds: 0.5, flushSeconds: 0.2 },
    maps: { methods: ['roi', 'fit'], elements: ['Cr', 'Cu', 'Pb'], cadenceSeconds: 0.5 },
    simulator: { enabled: true, rate: 20_000, listen: '127.0.0.1:0' },
    log: { level: 'error' },
    // Tests that need the page turn it on; the others must not compete for port 8080.
    http: { enabled: false },
    ...extra,
  });
}

export interface Response {
  status: 'ok' | 'error';
  data?: unknown;
  error?: string;
  transaction?: unknown;
}

export class Requester {
  private constructor(readonly client: mqtt.MqttClient, readonly base: string) {}

  static async connect(url: string, base: string, opts: mqtt.IClientOptions = {}): Promise<Requester> {
    const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, ...opts });
    await client.subscribeAsync(`${base}/response/#`, { qos: 1 });
    return new Requester(client, base);
  }

  /** Sends request/<command> (raw string payloads are sent as they are) and waits for the matching response. */
  request(command: string, payload: Record<string, unknown> | string = {}, timeoutMs = 8000): Promise<Response> {
    const transaction = randomUUID();
    const body = typeof payload === 'string' ? payload : JSON.stringify({ ...payload, transaction });
    const untagged = typeof payload === 'string';
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.client.off('message', onMsg);
        reject(new Error(`no response to ${command}`));
      }, timeoutMs);
      const onMsg = (topic: string, buf: Buffer) => {
        if (topic !== `${this.base}/response/${command}`) return;
        const r = JSON.parse(buf.toString()) as Response;
        if (!untagged && r.transaction !== transaction) return;
        clearTimeout(t);
        this.client.off('message', onMsg);
        resolve(r);
      };
      this.client.on('message', onMsg);
      void this.client.publishAsync(`${this.base}/request/${command}`, body, { qos: 1 });
    });
  }

  close(): Promise<void> {
    return this.client.endAsync();
  }
}

/** Resolves with the first message on topic that satisfies accept. */
export function waitForMessage(client: mqtt.MqttClient, topic: string, accept: (payload: Buffer) => boolean = () => true, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      client.off('message', onMsg);
      reject(new Error(`no accepted message on ${topic} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMsg = (tp: string, payload: Buffer) => {
      if (tp !== topic || !accept(payload)) return;
      clearTimeout(t);
      client.off('message', onMsg);
      resolve(payload);
    };
    client.on('message', onMsg);
  });
}

/** Polls cond every 50 ms (bounded). */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A daemon started in-process, a requester and a subscriber to everything under the test base topic. */
export interface TestRig {
  daemon: Daemon;
  req: Requester;
  sub: mqtt.MqttClient;
  stop(): Promise<void>;
}

export async function startRig(config: GemxrfConfig, base = 'gemxrf/test'): Promise<TestRig> {
  const daemon = await startDaemon(config, silentLogger);
  const req = await Requester.connect(daemon.brokerUrl, base);
  const sub = await mqtt.connectAsync(daemon.brokerUrl, { protocolVersion: 4, reconnectPeriod: 0 });
  await sub.subscribeAsync(`${base}/#`);
  return {
    daemon, req, sub,
    async stop() {
      await sub.endAsync();
      await req.close();
      await daemon.stop();
    },
  };
}
