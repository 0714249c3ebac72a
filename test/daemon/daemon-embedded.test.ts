// End to end on the embedded broker: simulator -> tcp transport -> daemon (record, cube, maps) -> aedes ->
// subscriber. Maps arrive and decode, requests are answered with the transaction echoed, bad requests are
// refused without changing anything, and the scan's files and database row are complete after a stop.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { Daemon } from '../../daemon/daemon.js';
import { decodeMapFrame } from '../../daemon/mqtt/map-frame.js';
import { loadSnapshot } from '../../pipelines/cube/snapshot.js';
import { cubeFromRecording } from '../../pipelines/maps/recording-cube.js';
import { Requester, tempDir, testConfig, until, waitForMessage, startRig, type TestRig } from './helpers.js';

describe('daemon end to end (embedded broker)', function () {
  this.timeout(30_000);
  let rig: TestRig;
  let daemon: Daemon;
  let req: Requester;
  let sub: mqtt.MqttClient;
  let dataDir: string;
  const base = 'gemxrf/test';

  before(async () => {
    dataDir = tempDir();
    rig = await startRig(testConfig(dataDir));
    ({ daemon, req, sub } = rig);
  });

  after(async () => {
    await rig?.stop();
  });

  it('publishes availability and an idle state (retained)', async () => {
    const c = await mqtt.connectAsync(daemon.brokerUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    const avail = waitForMessage(c, `${base}/availability`);
    const state = waitForMessage(c, `${base}/state`);
    await c.subscribeAsync([`${base}/availability`, `${base}/state`]);
    assert.equal((await avail).toString(), 'online');
    const s = JSON.parse((await state).toString()) as { state: string; instrument: string; link: { url: string } };
    assert.equal(s.state, 'idle');
    assert.equal(s.instrument, 'test');
    assert.match(s.link.url, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    await c.endAsync();
  });

  it('answers health and config/get with the transaction echoed', async () => {
    const h = await req.request('health');
    assert.equal(h.status, 'ok');
    assert.equal(typeof h.transaction, 'string');
    assert.equal((h.data as { state: string }).state, 'idle');
    const c = await req.request('config/get');
    assert.equal((c.data as { instrument: { id: string } }).instrument.id, 'test');
  });

  it('refuses bad requests with an error response and changes nothing', async () => {
    const cases: Array<[string, Record<string, unknown> | string, RegExp]> = [
      ['scan/start', 'not json{', /not valid JSON/],
      ['scan/start', '[1,2]', /JSON object/],
      ['no/such', {}, /unknown command 'no\/such'/],
      ['scan/start', {}, /name/],
      ['scan/start', { name: 42 }, /name/],
      ['scan/start', { name: 'ok', duration: -1 }, /duration/],
      ['scan/start', { name: 'ok', counts: 1.5 }, /counts/],
      ['scan/start', { name: 'ok', colour: 'red' }, /unknown field.*colour/],
      ['scan/start', { name: '../etc' }, /'\.\.'|'\/'/],
      ['scan/start', { name: 'a/b' }, /'\/'/],
      ['scan/start', { name: '..' }, /'\.\.'/],
      ['scan/start', 'x'.repeat(70_000), /too large/],
      ['scan/stop', {}, /no scan is acquiring/],
      ['scan/get', { id: '../../etc/passwd' }, /not a scan id/],
      ['scan/get', { id: '20200101-000000-none' }, /no scan with id/],
    ];
    for (const [command, payload, re] of cases) {
      const r = await req.request(command, payload);
      assert.equal(r.status, 'error', `${command} ${String(payload).slice(0, 30)} should fail`);
      assert.match(r.error ?? '', re);
    }
    const list = await req.request('scan/list');
    assert.deepEqual(list.data, []);
    assert.deepEqual(readdirSync(dataDir).filter((f) => f !== 'gemxrf.db' && !f.startsWith('gemxrf.db-')), []);
    assert.equal(daemon.manager.state, 'idle');
  });

  let scanId = '';
  it('starts a scan, refuses a second start, streams maps that decode, stops on request', async () => {
    const mapMsg = waitForMessage(sub, `${base}/live/maps/fit/Cu`);
    const roiMsg = waitForMessage(sub, `${base}/live/maps/roi/Pb`);
    const countsMsg = waitForMessage(sub, `${base}/live/counts`);
    const spectrumMsg = waitForMessage(sub, `${base}/live/spectrum`);
    const started = waitForMessage(sub, `${base}/event`, (p) => (JSON.parse(p.toString()) as { type: string }).type === 'scan-started');
    const r = await req.request('scan/start', { name: 'Test panel #1', notes: 'e2e', operator: 'mocha' });
    assert.equal(r.status, 'ok', r.error);
    scanId = (r.data as { id: string }).id;
    assert.match(scanId, /^\d{8}-\d{6}-Test_panel_1$/);
    await started;
    const again = await req.request('scan/start', { name: 'second' });
    assert.equal(again.status, 'error');
    assert.match(again.error ?? '', /already acquiring/);

    const fit = decodeMapFrame(await mapMsg);
    assert.equal(fit.method, 'fit');
    assert.equal(fit.element, 'Cu');
    assert.equal(fit.scanId, scanId);
    assert.equal(fit.width, 32);
    assert.equal(fit.data.length, 32 * 32);
    const roi = decodeMapFrame(await roiMsg);
    assert.equal(roi.method, 'roi');
    const counts = decodeMapFrame(await countsMsg);
    assert.equal(counts.method, 'counts');
    assert.ok(counts.data.reduce((a, b) => a + b, 0) > 0, 'counts map has events');
    const spec = JSON.parse((await spectrumMsg).toString()) as { counts: number[]; channels: number };
    assert.equal(spec.counts.length, spec.channels);

    await until(() => (daemon.manager.progress()?.checkpoints ?? 0) >= 1, 'a checkpoint');
    const status = await req.request('scan/status');
    assert.equal((status.data as { state: string }).state, 'acquiring');

    const stopped = await req.request('scan/stop');
    assert.equal(stopped.status, 'ok', stopped.error);
    const rec = stopped.data as { status: string; totals: { events: number }; stopReason: string };
    assert.equal(rec.status, 'completed');
    assert.equal(rec.stopReason, 'manual');
    assert.ok(rec.totals.events > 0);
  });

  it('keeps a complete scan folder: the final checkpoint equals a replay of raw.gemx', async () => {
    const dir = join(dataDir, 'scans', scanId);
    assert.ok(existsSync(join(dir, 'raw.gemx')));
    const { cube: saved, header } = loadSnapshot(join(dir, 'cube.ckpt'));
    const { cube: replayed } = cubeFromRecording(join(dir, 'raw.gemx'), daemon.config);
    assert.ok(saved.totalEvents > 0);
    assert.equal(saved.totalEvents, replayed.totalEvents);
    assert.deepEqual(saved.counts, replayed.counts);
    assert.ok(header.recordingOffset > 0n);
    const got = await req.request('scan/get', { id: scanId });
    assert.equal(got.status, 'ok');
    const g = got.data as { name: string; notes: string; operator: string; recordings: unknown[]; checkpoints: number };
    assert.equal(g.name, 'Test panel #1');
    assert.equal(g.operator, 'mocha');
    assert.equal(g.recordings.length, 1);
    assert.ok(g.checkpoints >= 2);
  });

  it('stops by itself on a count target, and lists scans newest first', async () => {
    const stopped = waitForMessage(sub, `${base}/event`, (p) => (JSON.parse(p.toString()) as { type: string }).type === 'scan-stopped', 15_000);
    const r = await req.request('scan/start', { name: 'counted', counts: 5000 });
    assert.equal(r.status, 'ok', r.error);
    const ev = JSON.parse((await stopped).toString()) as { reason: string; scan: { totals: { events: number } } };
    assert.equal(ev.reason, 'counts');
    assert.ok(ev.scan.totals.events >= 5000);
    const list = await req.request('scan/list', { limit: 10 });
    const ids = (list.data as Array<{ id: string; status: string }>).map((s) => s.status);
    assert.deepEqual(ids, ['completed', 'completed']);
  });
});
