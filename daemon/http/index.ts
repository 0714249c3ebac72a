// Starts the dashboard's HTTP server from the daemon's configuration. A port that cannot be opened is logged
// and the daemon runs on without the page: acquisition and the MQTT API must not depend on the dashboard.
import { resolve } from 'node:path';
import type { GemxrfConfig } from '../../config/index.js';
import type { Logger } from '../log.js';
import { linesDocument } from './lines.js';
import { startHttpServer, type HttpServer, type PageConfig } from './server.js';

export { startHttpServer, type HttpServer, type PageConfig } from './server.js';

/** The WebSocket URL the page should use: configured, else the embedded broker's, else a ws(s) broker URL. */
export function pageWsUrl(config: GemxrfConfig, embeddedWsUrl: string | null): string | null {
  if (config.http.mqttWsUrl) return config.http.mqttWsUrl;
  if (embeddedWsUrl) return embeddedWsUrl;
  const u = config.mqtt.url;
  return u && /^wss?:\/\//.test(u) ? u : null;
}

export function pageConfig(config: GemxrfConfig, embeddedWsUrl: string | null): PageConfig {
  const auth = config.mqtt.url === null ? config.mqtt.embedded.username !== null : config.mqtt.username !== null;
  return {
    wsUrl: pageWsUrl(config, embeddedWsUrl),
    baseTopic: `${config.mqtt.baseTopic}/${config.instrument.id}`,
    instrument: { id: config.instrument.id, name: config.instrument.name },
    methods: [...config.maps.methods],
    elements: [...config.maps.elements],
    auth,
  };
}

export async function startDashboard(config: GemxrfConfig, opts: { dataDir: string; embeddedWsUrl: string | null; log: Logger }): Promise<HttpServer | null> {
  if (!config.http.enabled) return null;
  const doc = pageConfig(config, opts.embeddedWsUrl);
  try {
    const server = await startHttpServer({
      host: config.http.host,
      port: config.http.port,
      dataDir: opts.dataDir,
      pageConfig: () => doc,
      lines: () => linesDocument(config.maps.elements, config.histogram.eMaxKeV),
      ...(config.http.webRoot ? { webRoot: resolve(config.http.webRoot) } : {}),
    });
    if (doc.wsUrl === null) opts.log.warn('dashboard: no MQTT WebSocket URL for the page (set http.mqttWsUrl for an mqtt:// broker)');
    return server;
  } catch (e) {
    opts.log.error('dashboard HTTP server not started', { error: (e as Error).message });
    return null;
  }
}
