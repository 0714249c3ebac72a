// The dashboard's HTTP server on an ephemeral port: the built page with its CSP and content types, nothing
// outside the page folder or a scan folder reachable, /config.json and /api/lines.json, and downloads of a
// scan's files byte for byte.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { linesDocument, markerLines } from '../../daemon/http/lines.js';
import { startHttpServer, type HttpServer, type PageConfig } from '../../daemon/http/server.js';
import { parseByteRange, sendDownload } from '../../daemon/http/scan-files.js';
import { pageConfig } from '../../daemon/http/index.js';
import { configSchema } from '../../config/index.js';
import { removeDir } from './support/fixture.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw request: fetch() would normalise '..' in the path before sending it. */
function get(url: string, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<Reply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const r = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    r.on('error', reject);
    r.end();
  });
}

describe('dashboard HTTP server', function () {
  this.timeout(15_000);
  let root: string;
  let server: HttpServer;
  const scanId = '20261126-101500-Panel_A';
  const raw = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff));
  const config: PageConfig = { wsUrl: 'ws://127.0.0.1:8883', baseTopic: 'gemxrf/gemxrf-1', instrument: { id: 'gemxrf-1', name: 'x' }, methods: ['roi'], elements: ['Fe'], auth: false };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'gemxrf-http-'));
    const web = join(root, 'web');
    mkdirSync(join(web, 'assets'), { recursive: true });
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(web, 'assets', 'index-abc.js'), 'console.log(1)');
    writeFileSync(join(root, 'secret.txt'), 'secret');
    const data = join(root, 'data');
    const scan = join(data, 'scans', scanId);
    mkdirSync(join(scan, 'exports'), { recursive: true });
    writeFileSync(join(scan, 'raw.gemx'), raw);
    writeFileSync(join(scan, 'exports', 'maps.h5'), 'h5');
    writeFileSync(join(scan, 'cube.ckpt.tmp'), 'partial');
    writeFileSync(join(data, 'gemxrf.db'), 'db');
    symlinkSync(join(root, 'secret.txt'), join(scan, 'link.txt'));
    symlinkSync(join(root, 'secret.txt'), join(web, 'leak.txt'));
    server = await startHttpServer({ host: '127.0.0.1', port: 0, dataDir: data, webRoot: web, pageConfig: () => config, lines: () => linesDocument(['Fe'], 20.48) });
  });

  after(async () => {
    await server?.close();
    removeDir(root);
  });

  it('serves the page with a no-CDN content security policy, and hashed assets as immutable', async () => {
    const index = await get(server.url, '/');
    assert.equal(index.status, 200);
    assert.match(String(index.headers['content-type']), /^text\/html/);
    assert.match(String(index.headers['content-security-policy']), /default-src 'self'/);
    assert.equal(index.headers['cache-control'], 'no-cache');
    const js = await get(server.url, '/assets/index-abc.js');
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    assert.match(String(js.headers['cache-control']), /immutable/);
    const head = await get(server.url, '/', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  });

  it('reaches nothing outside the page folder', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/leak.txt', '/nope.js', '/%00']) {
      const r = await get(server.url, p);
      assert.equal(r.status, 404, p);
      assert.ok(!r.body.toString().includes('secret'), p);
    }
    assert.equal((await get(server.url, '/', 'POST')).status, 405);
    assert.equal((await get(server.url, '/api/nothing')).status, 404);
  });

  it('serves /config.json and /api/lines.json (line energies from physics, escape constants)', async () => {
    const c = JSON.parse((await get(server.url, '/config.json')).body.toString()) as PageConfig;
    assert.deepEqual(c, config);
    const doc = JSON.parse((await get(server.url, '/api/lines.json')).body.toString()) as ReturnType<typeof linesDocument>;
    assert.equal(doc.escapeKeV, 2.957);
    assert.equal(doc.escapeThresholdKeV, 3.206);
    const fe = doc.elements.Fe!;
    assert.ok(fe.some((l) => l.name === 'Ka1' && Math.abs(l.energyKeV - 6.404) < 0.002));
    assert.ok(fe.some((l) => l.name === 'Kb1' && Math.abs(l.energyKeV - 7.058) < 0.002));
    assert.ok(!fe.some((l) => l.name === 'Ka2'), 'Ka2 is 13 eV from Ka1: merged into one marker');
    assert.ok(!fe.some((l) => l.energyKeV < 1), 'Fe L lines (0.7 keV) are below what the detector sees');
    const pb = doc.elements.Pb!;
    assert.ok(pb.some((l) => l.name === 'La1' && Math.abs(l.energyKeV - 10.551) < 0.002));
    assert.ok(pb.every((l) => l.energyKeV <= 20.48));
    assert.deepEqual(markerLines('Cu').map((l) => l.name), ['Ka1', 'Kb1']);
  });

  it('lists a scan folder (no partial .tmp files, no symlinks) and downloads files byte for byte', async () => {
    const list = JSON.parse((await get(server.url, `/api/scans/${scanId}/files`)).body.toString()) as { files: Array<{ path: string; size: number }> };
    assert.deepEqual(list.files.map((f) => [f.path, f.size]), [['exports/maps.h5', 2], ['raw.gemx', raw.length]]);
    const dl = await get(server.url, `/api/scans/${scanId}/files/raw.gemx`);
    assert.equal(dl.status, 200);
    assert.match(String(dl.headers['content-disposition']), /attachment; filename="raw.gemx"/);
    assert.ok(dl.body.equals(raw));
    assert.equal((await get(server.url, `/api/scans/${scanId}/files/exports/maps.h5`)).body.toString(), 'h5');
  });

  it('serves one byte range as 206 so an interrupted download resumes; 416 past the end; other forms get the whole file', async () => {
    const path = `/api/scans/${scanId}/files/raw.gemx`;
    const whole = await get(server.url, path);
    assert.equal(whole.headers['accept-ranges'], 'bytes');
    // Resume after 50,000 bytes: the two parts make the file.
    const rest = await get(server.url, path, 'GET', { range: 'bytes=50000-' });
    assert.equal(rest.status, 206);
    assert.equal(rest.headers['content-range'], `bytes 50000-${raw.length - 1}/${raw.length}`);
    assert.equal(Number(rest.headers['content-length']), raw.length - 50_000);
    assert.ok(Buffer.concat([raw.subarray(0, 50_000), rest.body]).equals(raw));
    const mid = await get(server.url, path, 'GET', { range: 'bytes=10-19' });
    assert.equal(mid.status, 206);
    assert.ok(mid.body.equals(raw.subarray(10, 20)));
    const tail = await get(server.url, path, 'GET', { range: 'bytes=-5' });
    assert.ok(tail.body.equals(raw.subarray(raw.length - 5)));
    const past = await get(server.url, path, 'GET', { range: `bytes=${raw.length}-` });
    assert.equal(past.status, 416);
    assert.equal(past.headers['content-range'], `bytes */${raw.length}`);
    const several = await get(server.url, path, 'GET', { range: 'bytes=0-1,5-6' });
    assert.equal(several.status, 200);
    assert.ok(several.body.equals(raw));
    // If-Range: the range only while the file is the version the client has (its ETag), else the whole file.
    const etag = String(whole.headers['etag']);
    assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/);
    assert.equal((await get(server.url, path, 'GET', { range: 'bytes=10-19', 'if-range': etag })).status, 206);
    const stale = await get(server.url, path, 'GET', { range: 'bytes=10-19', 'if-range': '"0-0-0"' });
    assert.equal(stale.status, 200);
    assert.ok(stale.body.equals(raw));
    // A file replaced whole (checkpoint, export: written aside, renamed over) is another version: another ETag.
    const h5 = `/api/scans/${scanId}/files/exports/maps.h5`;
    const before = (await get(server.url, h5)).headers['etag'];
    writeFileSync(join(root, 'data', 'scans', scanId, 'exports', 'maps.h5.new'), 'h5');
    renameSync(join(root, 'data', 'scans', scanId, 'exports', 'maps.h5.new'), join(root, 'data', 'scans', scanId, 'exports', 'maps.h5'));
    assert.notEqual((await get(server.url, h5)).headers['etag'], before);
    const headRange = await get(server.url, path, 'HEAD', { range: 'bytes=100-' });
    assert.equal(headRange.status, 206);
    assert.equal(headRange.body.length, 0);
  });

  it('parses byte ranges as RFC 9110 says (single range only)', () => {
    assert.equal(parseByteRange(undefined, 100), null);
    assert.deepEqual(parseByteRange('bytes=0-', 100), { start: 0, end: 99 });
    assert.deepEqual(parseByteRange('bytes=90-200', 100), { start: 90, end: 99 });
    assert.deepEqual(parseByteRange('bytes=-10', 100), { start: 90, end: 99 });
    assert.deepEqual(parseByteRange('bytes=-500', 100), { start: 0, end: 99 });
    assert.equal(parseByteRange('bytes=100-', 100), 'unsatisfiable');
    assert.equal(parseByteRange('bytes=-0', 100), 'unsatisfiable');
    assert.equal(parseByteRange('bytes=0-', 0), 'unsatisfiable');
    assert.equal(parseByteRange('bytes=5-2', 100), null);
    assert.equal(parseByteRange('items=0-1', 100), null);
    assert.equal(parseByteRange('bytes=-', 100), null);
    assert.equal(parseByteRange('bytes=0-1,3-4', 100), null);
  });

  it('lists and downloads the per-element PNGs of an export (<scan>/export/png/<method>/<El>.png, four levels down)', async () => {
    const nested = join(root, 'data', 'scans', scanId, 'export', 'png', 'roi');
    mkdirSync(nested, { recursive: true });
    writeFileSync(join(nested, 'Fe.png'), 'png-bytes');
    try {
      const list = JSON.parse((await get(server.url, `/api/scans/${scanId}/files`)).body.toString()) as { files: Array<{ path: string }> };
      assert.ok(list.files.some((f) => f.path === 'export/png/roi/Fe.png'), JSON.stringify(list.files));
      const dl = await get(server.url, `/api/scans/${scanId}/files/export/png/roi/Fe.png`);
      assert.equal(dl.status, 200);
      assert.equal(dl.body.toString(), 'png-bytes');
    } finally {
      removeDir(join(root, 'data', 'scans', scanId, 'export'));
    }
  });

  it('sends exactly content-length bytes of a file that grows or is replaced while it downloads', async () => {
    // raw.gemx grows during a scan; checkpoints are replaced by rename. Bytes past content-length would
    // corrupt a keep-alive connection, and a short body leaves the client waiting.
    const file = join(root, 'growing.bin');
    const cases: Array<[string, () => void]> = [
      ['appended', () => appendFileSync(file, Buffer.alloc(50_000, 0xee))],
      ['replaced by a shorter file', () => {
        writeFileSync(`${file}.new`, 'short');
        renameSync(`${file}.new`, file);
      }],
    ];
    for (const [what, change] of cases) {
      writeFileSync(file, raw);
      const s = createServer((req, res) => {
        sendDownload(res, file, 'growing.bin', false);
        change(); // before the stream's first read
      });
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      try {
        const port = (s.address() as { port: number }).port;
        const all = await new Promise<Buffer>((resolve, reject) => {
          const chunks: Buffer[] = [];
          const c = connect(port, '127.0.0.1', () => c.write('GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
          c.on('data', (d: Buffer) => chunks.push(d));
          c.on('end', () => resolve(Buffer.concat(chunks)));
          c.on('error', reject);
          c.setTimeout(5000, () => c.destroy(new Error(`${what}: no end of response`)));
        });
        const split = all.indexOf('\r\n\r\n');
        const length = Number(/content-length: (\d+)/i.exec(all.subarray(0, split).toString())![1]);
        const body = all.subarray(split + 4);
        assert.equal(body.length, length, `${what}: body ${body.length} bytes, content-length ${length}`);
        assert.ok(body.equals(raw), `${what}: the file as it was when the download started`);
      } finally {
        await new Promise<void>((r) => s.close(() => r()));
      }
    }
  });

  it('refuses paths out of a scan folder and ids that are not scan ids', async () => {
    const cases: Array<[string, number]> = [
      [`/api/scans/${scanId}/files/..%2F..%2Fgemxrf.db`, 400],
      [`/api/scans/${scanId}/files/../../gemxrf.db`, 404], // normalised by the URL parser to /api/gemxrf.db
      [`/api/scans/${scanId}/files/link.txt`, 404],
      [`/api/scans/${scanId}/files/missing.bin`, 404],
      [`/api/scans/..%2F..%2Fetc/files`, 400],
      ['/api/scans/20200101-000000-none/files', 404],
      [`/api/scans/${scanId}/files/%E0%A4%A`, 400],
    ];
    for (const [p, status] of cases) {
      const r = await get(server.url, p);
      assert.equal(r.status, status, p);
      assert.ok(!r.body.toString().includes('secret') && !r.body.toString().includes('"db"'), p);
    }
  });

  it('says how to build the page when it is missing', async () => {
    const s = await startHttpServer({ host: '127.0.0.1', port: 0, dataDir: root, webRoot: join(root, 'no-such-dir'), pageConfig: () => config, lines: () => linesDocument([], 20) });
    try {
      const r = await get(s.url, '/');
      assert.equal(r.status, 503);
      assert.match(r.body.toString(), /npm run build:web/);
    } finally {
      await s.close();
    }
  });

  it('tells the page the embedded broker WebSocket, a configured URL, or a ws broker URL', () => {
    const base = configSchema.parse({});
    assert.equal(pageConfig(base, 'ws://127.0.0.1:8883').wsUrl, 'ws://127.0.0.1:8883');
    assert.equal(pageConfig(base, null).baseTopic, 'gemxrf/gemxrf-1');
    assert.equal(pageConfig(configSchema.parse({ mqtt: { url: 'wss://broker.example:8884/mqtt' } }), null).wsUrl, 'wss://broker.example:8884/mqtt');
    assert.equal(pageConfig(configSchema.parse({ mqtt: { url: 'mqtt://broker:1883', username: 'u' } }), null).wsUrl, null);
    assert.equal(pageConfig(configSchema.parse({ mqtt: { url: 'mqtt://broker:1883', username: 'u' } }), null).auth, true);
    assert.equal(pageConfig(configSchema.parse({ http: { mqttWsUrl: 'ws://broker:9001' } }), 'ws://127.0.0.1:8883').wsUrl, 'ws://broker:9001');
    assert.throws(() => configSchema.parse({ http: { mqttWsUrl: 'http://x' } }), /ws/);
  });
});
