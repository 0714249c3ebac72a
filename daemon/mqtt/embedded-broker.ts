// The embedded MQTT broker (aedes, MQTT 3.1.1): TCP and WebSocket listeners, loopback by default, optional
// username/password. Used when no external broker URL is configured, so `npm start` needs nothing else.
import { createServer, type Server } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';

export interface EmbeddedBrokerOptions {
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** WebSocket port; 0 picks a free one; null disables the WebSocket listener. */
  wsPort: number | null;
  username?: string | null;
  password?: string | null;
}

export interface EmbeddedBroker {
  readonly url: string;
  readonly wsUrl: string | null;
  readonly port: number;
  readonly wsPort: number | null;
  readonly clients: () => number;
  close(): Promise<void>;
}

function sameSecret(a: string, b: Buffer | undefined): boolean {
  if (!b) return false;
  const ab = Buffer.from(a);
  return ab.length === b.length && timingSafeEqual(ab, b);
}

function listen(server: Server | HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(new Error(`cannot listen on ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const aedes = await Aedes.createBroker();
  if (opts.username) {
    const user = opts.username;
    const pass = opts.password ?? '';
    aedes.authenticate = (_client, username, password, done) => {
      const ok = username === user && sameSecret(pass, password);
      if (ok) return done(null, true);
      const err = Object.assign(new Error('bad username or password'), { returnCode: 4 as const });
      done(err, null);
    };
  }
  const tcp = createServer(aedes.handle as (s: import('node:net').Socket) => void);
  let port: number;
  try {
    port = await listen(tcp, opts.port, opts.host);
  } catch (e) {
    await new Promise<void>((r) => aedes.close(() => r()));
    throw e;
  }

  let http: HttpServer | null = null;
  let wss: WebSocketServer | null = null;
  let wsPort: number | null = null;
  if (opts.wsPort !== null) {
    http = createHttpServer();
    try {
      // Listening before the WebSocketServer attaches: ws re-emits the server's errors on itself, and an
      // EADDRINUSE re-emitted with no listener was an uncaught exception (and this start never settled).
      wsPort = await listen(http, opts.wsPort, opts.host);
    } catch (e) {
      // Nothing of a broker that failed to start stays open (an open listener keeps the process alive).
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
      throw e;
    }
    wss = new WebSocketServer({ server: http });
    wss.on('error', () => undefined); // the http server's own errors; clients' errors end their socket
    wss.on('connection', (socket, req) => {
      const stream = createWebSocketStream(socket);
      stream.on('error', () => socket.terminate());
      aedes.handle(stream, req);
    });
  }
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `mqtt://${host}:${port}`,
    wsUrl: wsPort !== null ? `ws://${host}:${wsPort}` : null,
    port,
    wsPort,
    clients: () => aedes.connectedClients,
    async close() {
      for (const c of wss?.clients ?? []) c.terminate();
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
      if (http) await new Promise<void>((r) => http!.close(() => r()));
    },
  };
}
