// Shutdown waits for every scan's pending maps save, not only the current scan's: scan A is stopped and its
// model final pass (every pixel at full resolution) still runs when scan B starts and the daemon shuts down.
// A's save must be waited for (bounded) before the database closes, so that A's folder has its maps once
// stop() resolved, and nothing writes into the data directory afterwards.
// Needs the shipped models/ (skipped without them, an error under CI).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScanRecord } from '../../daemon/storage/db.js';
import { repoRoot } from '../support/cli.js';
import { startRig, tempDir, testConfig, until, type TestRig } from './helpers.js';

const base = 'gemxrf/test';
const HAVE_MODEL = existsSync(join(repoRoot, 'models', 'lt-vit.onnx')) && existsSync(join(repoRoot, 'models', 'lt-vit.json'));

describe('daemon shutdown and the maps save of an earlier scan', function () {
  this.timeout(120_000);
  let rig: TestRig | null = null;
  afterEach(async () => {
    await rig?.stop();
    rig = null;
  });

  it("waits for the earlier scan's save whose model final pass is still running", async function () {
    if (!HAVE_MODEL) {
      if (process.env.CI) throw new Error('models/lt-vit.onnx is required in CI');
      this.skip();
    }
    const dataDir = tempDir('gemxrf-savemaps-shutdown-');
    // A grid large enough that the model's final pass over every pixel outlasts B's start and the shutdown.
    rig = await startRig(testConfig(dataDir, {
      detector: { width: 128, height: 128 },
      maps: { methods: ['roi', 'model'], elements: ['Cr', 'Cu', 'Pb'], cadenceSeconds: 0.5 },
      inference: { model: 'lt-vit', threads: 1 },
    }), base);
    const startA = await rig.req.request('scan/start', { name: 'a' });
    assert.equal(startA.status, 'ok', startA.error);
    const a = (startA.data as ScanRecord).id;
    await until(() => (rig!.daemon.manager.progress()?.events ?? 0) > 20_000, 'events in scan A', 30_000);
    assert.equal((await rig.req.request('scan/stop')).status, 'ok');
    const startB = await rig.req.request('scan/start', { name: 'b' });
    assert.equal(startB.status, 'ok', startB.error);
    const r = rig;
    rig = null;
    await r.stop();
    const index = join(dataDir, 'scans', a, 'maps', 'index.json');
    assert.ok(existsSync(index), "scan A's maps were saved before stop() resolved");
    const methods = (JSON.parse(readFileSync(index, 'utf8')) as { methods: Array<{ method: string }> }).methods.map((m) => m.method);
    assert.ok(methods.includes('roi'), methods.join(','));
  });
});
