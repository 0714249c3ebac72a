// request/pixel/get against a running daemon (simulated detector, embedded broker): before a scan it is
// refused; after a scan the pixel's spectrum is the cube's, its roi counts equal the published roi map at
// that pixel, a neighbourhood sums its pixels, and bad payloads are refused with the field named.
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { startDaemon, type Daemon } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';
import { decodeMapFrame, type MapFrame } from '../../daemon/mqtt/map-frame.js';
import { Requester, tempDir, testConfig, until } from '../daemon/helpers.js';
import { removeDir } from './support/fixture.js';

interface Answer {
  scanId: string;
  x: number;
  y: number;
  radius: number;
  pixels: number;
  channels: number;
  total: number;
  counts: number[];
  elements: string[];
  roi: { counts: number[]; fractions: number[] };
  fit: { netCounts: number[]; fractions: number[]; chi2: number };
  model: unknown;
}

describe('request/pixel/get', function () {
  this.timeout(30_000);
  let daemon: Daemon;
  let req: Requester;
  let dataDir: string;
  const base = 'gemxrf/test';

  before(async () => {
    dataDir = tempDir('gemxrf-pixel-');
    daemon = await startDaemon(testConfig(dataDir, { http: { enabled: false } }), silentLogger);
    req = await Requester.connect(daemon.brokerUrl, base);
  });

  after(async () => {
    await req?.close();
    await daemon?.stop();
    removeDir(dataDir);
  });

  it('is refused before any scan', async () => {
    const r = await req.request('pixel/get', { x: 1, y: 1 });
    assert.equal(r.status, 'error');
    assert.match(r.error!, /no cube yet/);
  });

  it('answers with the cube pixel spectrum and the roi map value at that pixel', async () => {
    const started = await req.request('scan/start', { name: 'pixel test', counts: 40_000 });
    assert.equal(started.status, 'ok', started.error);
    await until(() => daemon.manager.state === 'idle' && daemon.manager.lastCube !== null, 'the count-limited scan to end', 15_000);
    // The final maps are published once after the stop (retained): read the roi map of Cu.
    const sub = await mqtt.connectAsync(daemon.brokerUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    // The roi frames retained during the scan carry the same scan id as the final ones: wait for the final
    // live/maps index (published after the final maps it lists), or a live frame covering fewer events than the
    // stopped cube could be compared with the final pixel (seen under load).
    const frames = new Map<string, MapFrame>();
    const cube = daemon.manager.lastCube!;
    const scanId = daemon.manager.lastScanId!;
    let finalSeen = false;
    sub.on('message', (topic, payload) => {
      if (topic.startsWith(`${base}/live/maps/roi/`) && payload.length) {
        const f = decodeMapFrame(payload);
        frames.set(f.element, f);
      } else if (topic === `${base}/live/maps` && payload.length) {
        const index = JSON.parse(payload.toString()) as { scanId?: string; final?: boolean };
        if (index.scanId === scanId && index.final === true) finalSeen = true;
      }
    });
    await sub.subscribeAsync([`${base}/live/maps/roi/+`, `${base}/live/maps`]);
    await until(() => finalSeen && ['Cr', 'Cu', 'Pb'].every((e) => frames.get(e)?.scanId === scanId), 'the final roi frames');
    await sub.endAsync();

    // Pick the pixel with the most counts, so the check is not on an empty pixel.
    let best = 0;
    const countMap = cube.countMap();
    for (let i = 1; i < countMap.length; i++) if (countMap[i]! > countMap[best]!) best = i;
    const x = best % cube.width;
    const y = Math.floor(best / cube.width);
    const r = await req.request('pixel/get', { x, y });
    assert.equal(r.status, 'ok', r.error);
    const a = r.data as Answer;
    assert.equal(a.scanId, scanId);
    assert.deepEqual([a.x, a.y, a.radius, a.pixels, a.channels], [x, y, 0, 1, cube.channels]);
    assert.deepEqual(a.counts, Array.from(cube.pixelSpectrum(x, y)));
    assert.equal(a.total, countMap[best]);
    assert.ok(a.total > 0);
    assert.deepEqual(a.elements, ['Cr', 'Cu', 'Pb']);
    a.elements.forEach((el, e) => {
      const f = frames.get(el)!;
      const mapValue = f.data[y * f.width + x]!;
      assert.ok(Math.abs(a.roi.counts[e]! - mapValue) <= 1e-3 * Math.max(1, mapValue), `${el}: roi ${a.roi.counts[e]} vs map ${mapValue}`);
      assert.ok(a.roi.fractions[e]! >= 0 && a.roi.fractions[e]! <= 1);
      assert.ok(a.fit.fractions[e]! >= 0 && a.fit.fractions[e]! <= 1);
      assert.ok(a.fit.netCounts[e]! >= 0);
    });
    // The fit attributes no more counts to the elements than the spectrum has.
    assert.ok(a.fit.netCounts.reduce((s, v) => s + v, 0) <= a.total * 1.001);
    assert.equal(a.model, null);
  });

  it('sums a clipped neighbourhood with radius', async () => {
    const cube = daemon.manager.lastCube!;
    const r = await req.request('pixel/get', { x: 0, y: 0, radius: 2 });
    assert.equal(r.status, 'ok', r.error);
    const a = r.data as Answer;
    assert.equal(a.pixels, 9); // 3x3 of the 5x5 lie inside the image at the corner
    const expected = new Array<number>(cube.channels).fill(0);
    for (let y = 0; y <= 2; y++) for (let x = 0; x <= 2; x++) cube.pixelSpectrum(x, y).forEach((v, c) => (expected[c]! += v));
    assert.deepEqual(a.counts, expected);
  });

  it('refuses bad payloads and pixels outside the image', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ x: 1 }, /y/],
      [{ x: -1, y: 0 }, /x/],
      [{ x: 1.5, y: 0 }, /x/],
      [{ x: 0, y: 0, radius: 9 }, /radius/],
      [{ x: 0, y: 0, z: 1 }, /unknown field.*'z'/],
      [{ x: 32, y: 0 }, /outside the 32x32 image/],
    ];
    for (const [payload, re] of cases) {
      const r = await req.request('pixel/get', payload);
      assert.equal(r.status, 'error', JSON.stringify(payload));
      assert.match(r.error!, re);
    }
  });
});
