// request/model/select loads the graph before accepting it: a model whose card is fine but whose .onnx is
// damaged is refused at selection (with the reason), not discovered when the next scan starts.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../../config/load.js';
import { ScanInference } from '../../daemon/inference/scan-inference.js';
import { silentLogger } from '../../daemon/log.js';
import { ModelCardError } from '../../pipelines/inference/index.js';
import { OnnxModel } from '../../pipelines/inference/onnx-model.js';

describe('ScanInference.select', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gemxrf-select-'));
    copyFileSync('models/cnn.onnx', join(dir, 'cnn.onnx'));
    copyFileSync('models/cnn.json', join(dir, 'cnn.json'));
    // A smaller graph that loads faster than cnn.
    copyFileSync('models/lt-vit.onnx', join(dir, 'small.onnx'));
    copyFileSync('models/lt-vit.json', join(dir, 'small.json'));
    // Same card, truncated graph (a partial copy onto the instrument).
    copyFileSync('models/cnn.json', join(dir, 'broken.json'));
    writeFileSync(join(dir, 'broken.onnx'), Buffer.from('\x08\x07\x12\x07pytorch'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts a loadable model and refuses a damaged graph, keeping the previous selection', async () => {
    const config = defaultConfig();
    config.inference.modelsDir = dir;
    config.inference.model = 'cnn';
    const inference = new ScanInference(config, silentLogger);
    assert.deepEqual(inference.list().models.map((m) => m.name), ['broken', 'cnn', 'small'], 'the card alone makes it listable');
    await assert.rejects(inference.select('broken'), (err: Error) => {
      assert.ok(err instanceof ModelCardError);
      assert.match(err.message, /model 'broken' cannot be loaded: /);
      return true;
    });
    assert.equal(inference.selectedModel, 'cnn');
    assert.equal((await inference.select('cnn')).name, 'cnn');
    await assert.rejects(inference.select('nope'), /unknown model 'nope'/);
  });

  it('applies selections one at a time in request order: the last request wins, whatever loads faster', async () => {
    const config = defaultConfig();
    config.inference.modelsDir = dir;
    config.inference.model = 'cnn';
    // cnn takes longer to load than small: unserialised, a cnn requested first would finish last and win.
    const load = async (path: string) => {
      await new Promise((r) => setTimeout(r, path.endsWith('cnn.onnx') ? 80 : 0));
      return OnnxModel.load(path, { threads: 1 });
    };
    const inference = new ScanInference(config, silentLogger, load);
    const finished: string[] = [];
    const requests = ['cnn', 'small', 'broken', 'cnn', 'small'].map((name) =>
      inference.select(name).then(
        () => finished.push(name),
        () => finished.push(`${name}:refused`),
      ),
    );
    await Promise.all(requests);
    assert.deepEqual(finished, ['cnn', 'small', 'broken:refused', 'cnn', 'small']);
    assert.equal(inference.selectedModel, 'small');
  });
});
