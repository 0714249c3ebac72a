// A pty pair made by socat: two linked pseudo-terminals, like a USB-serial cable between the detector and
// the host. Killing socat removes both ends (an unplug); starting it again with the same link names brings
// the cable back under the same paths.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';

export interface PtyPair {
  /** The host's end: what the daemon opens (serial://<hostPath>). */
  hostPath: string;
  /** The detector's end: what the emulator writes to. */
  devicePath: string;
}

export class SocatPty {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  lastStderr = '';

  constructor(readonly pair: PtyPair, private readonly socatPath = 'socat') {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts socat and waits (bounded) until both links exist. */
  async start(timeoutMs = 5000): Promise<void> {
    if (this.running) return;
    const args = ['-d', '-d', `pty,raw,echo=0,link=${this.pair.hostPath}`, `pty,raw,echo=0,link=${this.pair.devicePath}`];
    const child = spawn(this.socatPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.lastStderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      this.lastStderr = (this.lastStderr + s).slice(-4000);
    });
    this.exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const spawnError = new Promise<never>((_, reject) =>
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(err.code === 'ENOENT' ? `socat not found (install it: apt-get install socat)` : `socat: ${err.message}`)),
      ),
    );
    const ready = (async () => {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        if (child.exitCode !== null) throw new Error(`socat exited (${child.exitCode}): ${this.lastStderr.trim().split('\n').pop() ?? ''}`);
        // socat logs "starting data transfer loop" once both ptys (and their links) are in place.
        if (/starting data transfer loop/.test(this.lastStderr) && isLink(this.pair.hostPath) && isLink(this.pair.devicePath)) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`socat did not create ${this.pair.hostPath} within ${timeoutMs} ms`);
    })();
    try {
      await Promise.race([ready, spawnError]);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Kills socat (SIGTERM) and waits for it to exit; socat removes its links on the way out. */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c) return;
    this.child = undefined;
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 2000);
    await this.exited;
    clearTimeout(t);
  }
}

function isLink(p: string): boolean {
  try {
    return existsSync(p) && lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
