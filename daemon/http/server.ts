// The daemon's HTTP server (config `http`): the built dashboard page (web/dist), /config.json telling the
// page where the MQTT WebSocket listener is, /api/lines.json (line markers) and downloads of scan files.
// Everything live goes over MQTT: this server only hands out static things and files. GET and HEAD only.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { LinesDocument } from './lines.js';
import { FileRequestError, listScanFiles, scanFilePath, sendDownload } from './scan-files.js';
import { defaultWebRoot, staticFile } from './static-files.js';

/** What the page needs to know before it connects (served as /config.json). */
export interface PageConfig {
  /** ws:// or wss:// URL of an MQTT WebSocket listener; a 0.0.0.0 / :: host means "the page's own host". */
  wsUrl: string | null;
  /** BASE of docs/mqtt.md: <baseTopic>/<instrument id>. */
  baseTopic: string;
  instrument: { id: string; name: string };
  methods: string[];
  elements: string[];
  /** Whether the broker wants a username/password (the page asks for them; they are never served). */
  auth: boolean;
}

export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  dataDir: string;
  pageConfig(): PageConfig;
  lines(): LinesDocument;
  /** The built page; default web/dist of this package. */
  webRoot?: string;
}

export interface HttpServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

// The page loads nothing from elsewhere: scripts, styles and data come from this server, live data from
// the MQTT WebSocket (any host: an external broker may live elsewhere).
const CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

function sendJson(res: ServerResponse, status: number, body: unknown, head = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store' });
  res.end(head ? undefined : text);
}

function sendText(res: ServerResponse, status: number, text: string, head = false): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(head ? undefined : text);
}

const FILES_RE = /^\/api\/scans\/([^/]+)\/files(?:\/(.+))?$/;

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const webRoot = opts.webRoot ?? defaultWebRoot();
  let lines: LinesDocument | null = null;

  const headerValue = (v: string | string[] | undefined) => (typeof v === 'string' ? v : undefined);
  const route = (req: IncomingMessage, res: ServerResponse) => {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      return sendText(res, 405, 'method not allowed');
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/config.json') return sendJson(res, 200, opts.pageConfig(), head);
    if (path === '/api/lines.json') return sendJson(res, 200, (lines ??= opts.lines()), head);
    const m = FILES_RE.exec(path);
    if (m) {
      try {
        const id = decodeURIComponent(m[1]!);
        if (m[2] === undefined) return sendJson(res, 200, { id, files: listScanFiles(opts.dataDir, id) }, head);
        const rel = decodeURIComponent(m[2]);
        return sendDownload(res, scanFilePath(opts.dataDir, id, rel), rel.split('/').pop()!, head, req.headers.range, headerValue(req.headers['if-range']));
      } catch (e) {
        if (e instanceof FileRequestError) return sendJson(res, e.status, { error: e.message }, head);
        if (e instanceof URIError) return sendJson(res, 400, { error: 'bad URL encoding' }, head);
        throw e;
      }
    }
    if (path.startsWith('/api/')) return sendJson(res, 404, { error: `no such endpoint ${path}` }, head);
    const f = staticFile(webRoot, path);
    if (!f) {
      if (path === '/' || path === '/index.html') return sendText(res, 503, `the dashboard page is not built (${webRoot} has no index.html): run npm run build:web`, head);
      return sendText(res, 404, 'not found', head);
    }
    res.writeHead(200, { ...f.headers, 'content-length': String(f.body.length), ...(f.headers['content-type']!.startsWith('text/html') ? { 'content-security-policy': CSP } : {}) });
    res.end(head ? undefined : f.body);
  };

  const server = createServer((req, res) => {
    try {
      route(req, res);
    } catch (e) {
      if (!res.headersSent) sendText(res, 500, `internal error: ${(e as Error).message}`);
      else res.destroy();
    }
  });
  const port = await new Promise<number>((resolvePort, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(new Error(`http: cannot listen on ${opts.host}:${opts.port}: ${err.code ?? err.message}`));
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      const a = server.address();
      resolvePort(typeof a === 'object' && a ? a.port : opts.port);
    });
  });
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
