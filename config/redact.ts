// Secrets never leave the process: configuration snapshots that are published (config/get, scan records in
// events and requests) or written into files others may read (recording headers, downloadable from the
// dashboard) carry '***' in place of passwords.
import type { GemxrfConfig } from './schema.js';

export const REDACTED = '***';

export function redactSecrets(config: GemxrfConfig): GemxrfConfig {
  const c = structuredClone(config);
  if (c.mqtt.password) c.mqtt.password = REDACTED;
  if (c.mqtt.embedded.password) c.mqtt.embedded.password = REDACTED;
  return c;
}
