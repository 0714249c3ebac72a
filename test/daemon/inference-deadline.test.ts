// inference.workerTimeoutSeconds end to end, with REAL graphs that hang inside onnxruntime (no mocks):
//   - in-process daemon: request/model/select of a model whose graph load blocks (its file is a named pipe)
//     answers an error naming the timeout; a scan on a model whose session.run() lasts seconds (a Loop, against
//     a 0.25 s deadline) reports the timeout in live/stats and still stops (its final publication goes out);
//   - a child `gemxrf daemon` on a graph that never returns (a Loop of 1e15 iterations) exits on SIGTERM: Node
//     would wait for the stuck worker thread forever, the daemon exits hard instead.
// Outcomes only, no timing assertions (the mocha timeout bounds each step).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startDaemon, type Daemon } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';
import { stuckInferenceWorkersEnded } from '../../pipelines/inference/index.js';
import { repoRoot } from '../support/cli.js';
import { fifoModel, loopModel, missing } from '../pipelines/inference/support/loop-model.js';
import { Requester, tempDir, testConfig, waitForMessage } from './helpers.js';

interface InferenceStats {
  running?: boolean;
  lastError?: string | null;
  timeouts?: number;
  stuckWorkers?: number;
}
const inferenceOf = (p: Buffer): InferenceStats => (JSON.parse(p.toString()) as { inference?: InferenceStats }).inference ?? {};

describe('inference deadlines in the daemon (real hanging ONNX graphs)', function () {
  this.timeout(90_000);
  let dir: string;
  const base = 'gemxrf/test';

  before(function () {
    const why = missing();
    if (why) {
      if (process.env.CI) throw new Error(`${why}: required in CI`);
      this.skip();
    }
    dir = tempDir('gemxrf-inference-deadline-');
  });
  after(async function () {
    this.timeout(300_000);
    // Node joins worker threads at exit: the abandoned ones end once their (finite) run returns.
    await stuckInferenceWorkersEnded();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('in-process daemon', () => {
    let daemon: Daemon | null = null;
    let req: Requester | null = null;
    let sub: mqtt.MqttClient | null = null;
    let feed = () => undefined as void;

    after(async () => {
      feed();
      await sub?.endAsync();
      await req?.close();
      await daemon?.stop();
    });

    it('model/select of a graph whose load blocks answers an error naming the timeout; a hung scan reports it and stops', async () => {
      const models = join(dir, 'models');
      mkdirSync(models);
      const quick = loopModel(models, 'quick', 1000);
      loopModel(models, 'slow', 4_000_000);
      feed = fifoModel(models, 'blocked', quick).feed;
      daemon = await startDaemon(testConfig(join(dir, 'data'), {
        detector: { width: 16, height: 16 },
        maps: { methods: ['roi', 'model'], elements: ['Fe', 'Cu', 'Pb'], cadenceSeconds: 0.5 },
        inference: { model: 'slow', modelsDir: models, workerTimeoutSeconds: 0.25 },
      }), silentLogger);
      req = await Requester.connect(daemon.brokerUrl, base);
      sub = await mqtt.connectAsync(daemon.brokerUrl, { protocolVersion: 4, reconnectPeriod: 0 });
      await sub.subscribeAsync([`${base}/live/stats`, `${base}/event`]);

      const blocked = await req.request('model/select', { name: 'blocked' }, 30_000);
      assert.equal(blocked.status, 'error');
      assert.match(blocked.error ?? '', /model 'blocked' cannot be loaded: .*did not load within 0\.25 s \(timed out/);
      assert.equal(((await req.request('model/list')).data as { selected: string }).selected, 'slow');
      feed(); // the abandoned load ends, and its worker with it

      const timedOut = waitForMessage(sub, `${base}/live/stats`, (p) => /model run timed out/.test(String(inferenceOf(p).lastError)), 30_000);
      const stopped = waitForMessage(sub, `${base}/event`, (p) => (JSON.parse(p.toString()) as { type: string }).type === 'scan-stopped', 60_000);
      const r = await req.request('scan/start', { name: 'hung model' });
      assert.equal(r.status, 'ok', r.error);
      const s = inferenceOf(await timedOut);
      assert.equal(s.running, false);
      // The blocked load at select and the hung run: two deadlines since the daemon started.
      assert.ok((s.timeouts ?? 0) >= 2, JSON.stringify(s));
      assert.equal((await req.request('scan/stop')).status, 'ok');
      await stopped; // the final model pass is skipped, not waited for
    });
  });

  describe('child gemxrf daemon', () => {
    let child: ChildProcess | null = null;
    let req: Requester | null = null;
    after(async () => {
      await req?.close().catch(() => undefined);
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });

    it('exits on SIGTERM although a model run never returns', async () => {
      const models = join(dir, 'forever-models');
      mkdirSync(models);
      loopModel(models, 'forever', 1e15);
      const cfg = testConfig(join(dir, 'child-data'), {
        detector: { width: 16, height: 16 },
        maps: { methods: ['roi', 'model'], elements: ['Fe', 'Cu', 'Pb'], cadenceSeconds: 0.5 },
        inference: { model: 'forever', modelsDir: models, workerTimeoutSeconds: 0.25 },
        log: { level: 'info' },
      });
      const cfgFile = join(dir, 'gemxrf.yaml');
      writeFileSync(cfgFile, JSON.stringify(cfg));
      const proc = spawn(process.execPath, [join(repoRoot, 'bin', 'gemxrf.js'), '--config', cfgFile, 'daemon'], {
        cwd: dir, env: { ...process.env, GEMXRF_FROM_SOURCE: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      let out = '';
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
      const brokerUrl = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`child daemon did not become ready:\n${out}`)), 60_000);
        const onData = (d: Buffer) => {
          out += d.toString();
          const m = /daemon ready broker=(mqtt:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) {
            clearTimeout(t);
            resolve(m[1]!);
          }
        };
        proc.stdout!.on('data', onData);
        proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
        void exited.then(({ code }) => reject(new Error(`child exited (${code}):\n${out}`)));
      });
      req = await Requester.connect(brokerUrl, base);
      await req.client.subscribeAsync(`${base}/live/stats`);
      const stuck = waitForMessage(req.client, `${base}/live/stats`, (p) => (inferenceOf(p).stuckWorkers ?? 0) >= 1, 30_000);
      assert.equal((await req.request('scan/start', { name: 'forever' })).status, 'ok');
      const s = inferenceOf(await stuck);
      assert.match(String(s.lastError), /model run timed out after 0\.25 s/);
      await req.close();
      req = null;
      proc.kill('SIGTERM');
      const end = await exited;
      assert.ok(end.signal === 'SIGKILL' || end.code !== null, JSON.stringify(end));
      assert.match(out, /an inference worker is stuck in a model run; exiting without waiting for it/);
    });
  });
});
