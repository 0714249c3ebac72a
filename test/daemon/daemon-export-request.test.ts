// request/scan/export: a stored scan is exported into its own folder by a child process running the same
// `gemxrf scan export` command; the export's cube equals the scan's recorded cube; bad requests are refused.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type mqtt from 'mqtt';
import type { Daemon } from '../../daemon/daemon.js';
import { cubeFromRecording } from '../../pipelines/maps/recording-cube.js';
import { Requester, tempDir, testConfig, waitForMessage, startRig, type TestRig } from './helpers.js';

describe('request/scan/export', function () {
  this.timeout(120_000);
  let rig: TestRig;
  let daemon: Daemon;
  let req: Requester;
  let sub: mqtt.MqttClient;
  let dataDir: string;
  const base = 'gemxrf/test';

  before(async () => {
    dataDir = tempDir();
    rig = await startRig(testConfig(dataDir, { simulator: { enabled: true, rate: 50_000, listen: '127.0.0.1:0' } }));
    ({ daemon, req, sub } = rig);
  });

  after(async () => {
    await rig?.stop();
  });

  it('exports a finished scan into <scan>/export and refuses bad requests', async () => {
    const stopped = waitForMessage(sub, `${base}/event`, (p) => (JSON.parse(p.toString()) as { type: string }).type === 'scan-stopped', 20_000);
    const started = await req.request('scan/start', { name: 'exported', counts: 20_000 });
    assert.equal(started.status, 'ok', started.error);
    const id = (started.data as { id: string }).id;
    // While it acquires, its export is refused.
    const early = await req.request('scan/export', { id });
    if (early.status === 'error') assert.match(early.error!, /still acquiring|no scan/);
    await stopped;

    for (const [payload, re] of [
      [{ id: '20990101-000000-nothing' }, /no scan/],
      [{ id: '../etc' }, /not a scan id/],
      [{ id, format: ['tiff'] }, /format/],
      [{ id, extra: 1 }, /unknown field/],
    ] as Array<[Record<string, unknown>, RegExp]>) {
      const r = await req.request('scan/export', payload);
      assert.equal(r.status, 'error', JSON.stringify(payload));
      assert.match(r.error!, re);
    }

    const finished = waitForMessage(sub, `${base}/event`, (p) => (JSON.parse(p.toString()) as { type: string }).type === 'export-finished', 100_000);
    const r = await req.request('scan/export', { id, format: ['npy'], methods: ['roi'] }, 100_000);
    assert.equal(r.status, 'ok', r.error);
    const data = r.data as { files: string[]; dir: string };
    assert.ok(data.files.includes('export/cube.npy'), data.files.join(', '));
    await finished;
    const scanFolder = join(dataDir, 'scans', id);
    // NPY v1: magic (6) + version (2) + u16 header length, then the header, then the raw array.
    const npy = readFileSync(join(scanFolder, 'export', 'cube.npy'));
    const headerLen = npy.readUInt16LE(8);
    const header = npy.toString('latin1', 10, 10 + headerLen);
    const { cube } = cubeFromRecording(join(scanFolder, 'raw.gemx'), daemon.config);
    assert.match(header, /'descr': '<u4'/);
    assert.match(header, new RegExp(`'shape': \\(${cube.height}, ${cube.width}, ${cube.channels}\\)`));
    const counts = Buffer.from(cube.counts.buffer, cube.counts.byteOffset, cube.counts.byteLength);
    assert.ok(npy.subarray(10 + headerLen).equals(counts), 'exported cube equals the recording replayed');
    assert.ok(existsSync(join(scanFolder, 'export', 'metadata.json')));
  });
});
