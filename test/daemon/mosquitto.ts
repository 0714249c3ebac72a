// Starts a real mosquitto on a free loopback port for interop tests (tiny config: one listener, anonymous).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

export function mosquittoPath(): string | null {
  for (const p of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto']) {
    const r = spawnSync(p, ['-h'], { encoding: 'utf8' });
    if (!r.error) return p;
  }
  return null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** PEM files for a TLS listener (see tls-certs.ts). */
export interface MosquittoTls {
  cafile: string;
  certfile: string;
  keyfile: string;
}

export class Mosquitto {
  private child: ChildProcess | null = null;
  constructor(readonly bin: string, readonly port: number, readonly dir: string, readonly tls: MosquittoTls | null = null) {}

  get url(): string {
    return `${this.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const conf = join(this.dir, 'mosquitto.conf');
    const tls = this.tls ? `cafile ${this.tls.cafile}\ncertfile ${this.tls.certfile}\nkeyfile ${this.tls.keyfile}\n` : '';
    writeFileSync(conf, `listener ${this.port} 127.0.0.1\n${tls}allow_anonymous true\npersistence false\n`);
    const child = spawn(this.bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    for (let i = 0; i < 100; i++) {
      if (await portOpen(this.port)) return;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`mosquitto did not start on port ${this.port}: ${err.trim()}`);
  }

  /** SIGKILL (no clean disconnects, like a crash) and wait for the exit. */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
    this.child = null;
  }
}
