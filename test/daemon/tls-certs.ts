// A throw-away certificate authority and a broker certificate for 127.0.0.1, made with the openssl command
// line, for TLS interop tests (the lab's own CA, as README's mqtts example has it).
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function opensslPath(): string | null {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? null : 'openssl';
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

export interface TestCerts {
  /** The CA certificate a client must trust. */
  ca: string;
  /** The broker's certificate (signed by ca, subjectAltName IP 127.0.0.1 and DNS localhost) and key. */
  cert: string;
  key: string;
}

export function makeTestCerts(dir: string): TestCerts {
  const p = (f: string) => join(dir, f);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=gemxrf test CA', '-keyout', 'ca.key', '-out', 'ca.pem'], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'broker.key', '-out', 'broker.csr'], dir);
  writeFileSync(p('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(['x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'broker.pem'], dir);
  // mosquitto started as root drops to its own user: it must be able to read the folder and the files
  // (throw-away test keys, so world-readable is fine).
  chmodSync(dir, 0o755);
  for (const f of ['ca.pem', 'broker.pem', 'broker.key']) chmodSync(p(f), 0o644);
  return { ca: p('ca.pem'), cert: p('broker.pem'), key: p('broker.key') };
}
