// Faults the daemon must ride through. (1) The detector link is unplugged and replugged while a scan is
// acquiring: the test runs its own emulator (in this process, so its wire statistics can be read) with
// disconnectEverySec, and points the daemon's source at it. The scan stays acquiring, the link shows the
// reconnect, events keep coming after it, the frames that went out while unplugged are counted as lost
// (exactly the sequence numbers missing from raw.gemx), and the recording still replays to the checkpoint.
// (2) MQTT 3.1.1 against a real mosquitto: retained availability/state for a fresh subscriber and for
// mosquitto_sub -V mqttv311, request/response with the transaction echoed, and live map frames that decode.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { startDaemon, type Daemon } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';
import { decodeMapFrame } from '../../daemon/mqtt/map-frame.js';
import type { ScanState } from '../../daemon/scan/scan-manager.js';
import { RecordingReader } from '../../drivers/file/recording-reader.js';
import { loadSnapshot } from '../../pipelines/cube/snapshot.js';
import { cubeFromRecording } from '../../pipelines/maps/recording-cube.js';
import { startEmulator, type RunningEmulator } from '../../simulator/emulators/index.js';
import { Requester, tempDir, testConfig, until, waitForMessage } from './helpers.js';
import { freePort, Mosquitto, mosquittoPath } from './mosquitto.js';

const run = promisify(execFile);
const base = 'gemxrf/test';

interface StateDoc {
  state: string;
  instrument: string;
  error: string | null;
  scan: { id: string; events: number; framesLost: number } | null;
  link: { url: string; state: string; error: string | null; bytesIn: number; reconnects: number };
}

/** Sequence numbers of the frames in a recording, in file order. */
function recordedSeqs(path: string): number[] {
  const reader = RecordingReader.open(path);
  try {
    const seqs: number[] = [];
    for (const f of reader.frames()) seqs.push(f.seq);
    return seqs;
  } finally {
    reader.close();
  }
}

describe('daemon: detector unplugged and replugged mid-scan', function () {
  this.timeout(30_000);
  let emu: RunningEmulator;
  let daemon: Daemon;
  let sub: mqtt.MqttClient;
  let dataDir: string;

  before(async () => {
    dataDir = tempDir('gemxrf-faults-');
    // Unplugs every 2.5 s of device time (its clock starts when the daemon connects); the device keeps
    // numbering its frames meanwhile, so whatever it sends while nobody listens is a sequence gap.
    emu = await startEmulator({ transport: 'tcp', rate: 20_000, seed: 11, width: 32, height: 32, stripsPerPlane: 128, faults: { disconnectEverySec: 2.5 } });
    const config = testConfig(dataDir, {
      simulator: { enabled: false },
      source: { url: emu.address, reconnectMinMs: 50, reconnectMaxMs: 200 },
      http: { enabled: false },
    });
    daemon = await startDaemon(config, silentLogger);
    sub = await mqtt.connectAsync(daemon.brokerUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    await sub.subscribeAsync(`${base}/#`);
  });

  after(async () => {
    await sub?.endAsync();
    await daemon?.stop();
    await emu?.stop();
  });

  it('keeps acquiring through the outage, reconnects, counts the lost frames, and replays to the same cube', async () => {
    const transitions: ScanState[] = [];
    const onState = (s: ScanState) => transitions.push(s);
    const scanEvents: string[] = [];
    const onMsg = (topic: string, payload: Buffer) => {
      if (topic === `${base}/event`) scanEvents.push((JSON.parse(payload.toString()) as { type: string }).type);
    };
    sub.on('message', onMsg);

    await until(() => daemon.manager.state === 'idle' && emu.stats().running, 'the daemon connected to the emulator');
    const before = emu.stats();
    const rec = await daemon.manager.start({ name: 'unplugged' });
    daemon.manager.on('state', onState);

    // The unplug, the reconnect, and events after it.
    await until(() => emu.stats().disconnects >= 1, 'the emulator to unplug the link', 10_000);
    const linkBack = (p: Buffer) => {
      const s = JSON.parse(p.toString()) as StateDoc;
      return s.link.reconnects >= 1 && s.link.state === 'open';
    };
    const back = JSON.parse((await waitForMessage(sub, `${base}/state`, linkBack, 10_000)).toString()) as StateDoc;
    assert.equal(back.state, 'acquiring');
    assert.equal(back.error, null);
    const eventsAtReconnect = daemon.manager.progress()!.events;
    await until(() => daemon.manager.progress()!.events > eventsAtReconnect, 'events after the replug');
    await until(() => daemon.manager.progress()!.framesLost > 0, 'the lost frames to be counted');
    // The operator sees it too: a fresh subscriber's retained state shows the reconnect and the loss.
    const c = await mqtt.connectAsync(daemon.brokerUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    const retained = waitForMessage(c, `${base}/state`, (p) => ((JSON.parse(p.toString()) as StateDoc).scan?.framesLost ?? 0) > 0);
    await c.subscribeAsync(`${base}/state`);
    const doc = JSON.parse((await retained).toString()) as StateDoc;
    await c.endAsync();
    assert.equal(doc.state, 'acquiring');
    assert.equal(doc.scan?.id, rec.id);
    assert.ok(doc.link.reconnects >= 1);
    assert.equal(doc.link.url, emu.address);

    const mid = emu.stats();
    const stopped = await daemon.manager.stop('manual');
    const after = emu.stats();
    daemon.manager.off('state', onState);
    sub.off('message', onMsg);

    // No state change and no error between the start and the stop.
    assert.deepEqual(transitions, ['stopping', 'idle']);
    assert.ok(!scanEvents.includes('scan-error'), `scan events: ${scanEvents.join(', ')}`);
    assert.equal(stopped.status, 'completed');
    assert.equal(stopped.error, null);
    const totals = stopped.totals!;
    assert.ok(totals.framesLost > 0, 'lost frames counted');
    assert.ok(totals.events > eventsAtReconnect);

    // Exact: the lost count is the sequence numbers missing from the recording (every frame in it in order).
    const raw = join(dataDir, stopped.dir, 'raw.gemx');
    const seqs = recordedSeqs(raw);
    let missing = 0;
    for (let i = 1; i < seqs.length; i++) {
      const d = seqs[i]! - seqs[i - 1]!;
      assert.ok(d >= 1, `frames in order, no duplicates (seq ${seqs[i - 1]} then ${seqs[i]})`);
      missing += d - 1;
    }
    assert.equal(totals.framesLost, missing);
    // And from the device's side: when this scan saw exactly one unplug (none before the start, none after
    // the reconnect up to the stop), every frame sent while nobody listened is among the lost ones (a frame
    // torn by the unplug is lost too, so the decoder may count one or two more).
    if (before.disconnects === 0 && mid.disconnects === 1 && after.disconnects === 1) {
      assert.ok(after.framesUnheard > 0, 'the device sent frames while unplugged');
      assert.ok(totals.framesLost >= after.framesUnheard, `lost ${totals.framesLost} >= unheard ${after.framesUnheard}`);
    }

    // The recording replays to the final checkpoint, with the same loss.
    const { cube: saved } = loadSnapshot(join(dataDir, stopped.dir, 'cube.ckpt'));
    const { cube: replayed, read } = cubeFromRecording(raw, daemon.config);
    assert.ok(saved.totalEvents > 0);
    assert.equal(saved.totalEvents, replayed.totalEvents);
    assert.deepEqual(saved.counts, replayed.counts);
    assert.equal(read.counters?.framesLost, totals.framesLost);
  });
});

describe('daemon with a real mosquitto (MQTT 3.1.1)', function () {
  this.timeout(30_000);
  const bin = mosquittoPath();
  let broker: Mosquitto;
  let daemon: Daemon;
  let req: Requester;

  before(async function () {
    if (!bin) {
      if (process.env.CI) throw new Error('mosquitto is required in CI');
      this.skip();
    }
    const dir = tempDir('gemxrf-mosq311-');
    broker = new Mosquitto(bin!, await freePort(), dir);
    await broker.start();
    daemon = await startDaemon(testConfig(dir, { mqtt: { url: broker.url, protocolVersion: 4 }, http: { enabled: false } }), silentLogger);
    req = await Requester.connect(broker.url, base, { protocolVersion: 4 });
  });

  after(async () => {
    await req?.close();
    await daemon?.stop();
    await broker?.kill();
  });

  it('a fresh MQTT 3.1.1 subscriber gets the retained availability and state', async () => {
    const c = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    const avail = waitForMessage(c, `${base}/availability`);
    const state = waitForMessage(c, `${base}/state`);
    await c.subscribeAsync([`${base}/availability`, `${base}/state`], { qos: 1 });
    assert.equal((await avail).toString(), 'online');
    const s = JSON.parse((await state).toString()) as StateDoc;
    assert.equal(s.instrument, 'test');
    assert.equal(s.state, 'idle');
    assert.match(s.link.url, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    await c.endAsync();
  });

  it('mosquitto_sub -V mqttv311 sees the retained state', async () => {
    const { stdout } = await run('mosquitto_sub', ['-V', 'mqttv311', '-h', '127.0.0.1', '-p', String(broker.port), '-C', '1', '-W', '5', '-t', `${base}/state`]);
    const s = JSON.parse(stdout) as StateDoc;
    assert.equal(s.instrument, 'test');
    assert.ok(['idle', 'acquiring'].includes(s.state));
  });

  it('answers requests on response/<command> with the transaction echoed', async () => {
    const h = await req.request('health');
    assert.equal(h.status, 'ok', h.error);
    assert.equal(typeof h.transaction, 'string');
    assert.equal((h.data as { mqtt: { connected: boolean } }).mqtt.connected, true);
    const bad = await req.request('no/such');
    assert.equal(bad.status, 'error');
    assert.equal(typeof bad.transaction, 'string');
  });

  it('streams map frames that decode, for a scan started and stopped over MQTT', async () => {
    const c = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    const fit = waitForMessage(c, `${base}/live/maps/fit/Cu`);
    const counts = waitForMessage(c, `${base}/live/counts`, (p) => decodeMapFrame(p).data.some((v) => v > 0));
    await c.subscribeAsync(`${base}/live/#`);
    const started = await req.request('scan/start', { name: 'mqtt311' });
    assert.equal(started.status, 'ok', started.error);
    const id = (started.data as { id: string }).id;
    const f = decodeMapFrame(await fit);
    assert.equal(f.method, 'fit');
    assert.equal(f.element, 'Cu');
    assert.equal(f.scanId, id);
    assert.equal(f.width, 32);
    assert.equal(f.height, 32);
    assert.equal(f.data.length, 32 * 32);
    assert.equal(decodeMapFrame(await counts).scanId, id);
    await c.endAsync();
    const stopped = await req.request('scan/stop');
    assert.equal(stopped.status, 'ok', stopped.error);
    assert.equal((stopped.data as { status: string }).status, 'completed');
  });
});
