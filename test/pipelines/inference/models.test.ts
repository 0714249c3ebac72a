// listModels / findModel: what request/model/list shows and request/model/select accepts.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findModel, listModels } from '../../../pipelines/inference/models.js';
import { testModel } from './support/test-model.js';

describe('model listing (models dir with cards)', function () {
  let dir: string;
  before(function () {
    this.timeout(300_000);
    const m = testModel();
    dir = mkdtempSync(join(tmpdir(), 'gemxrf-models-'));
    const card = JSON.parse(readFileSync(m.onnx.replace(/\.onnx$/, '.json'), 'utf8'));
    copyFileSync(m.onnx, join(dir, 'lt-vit.onnx'));
    writeFileSync(join(dir, 'lt-vit.json'), JSON.stringify({ ...card, name: 'lt-vit', metrics: { test: { r2: 0.84 } } }));
    copyFileSync(m.onnx, join(dir, 'cardless.onnx'));
    copyFileSync(m.onnx, join(dir, 'broken.onnx'));
    writeFileSync(join(dir, 'broken.json'), JSON.stringify({ ...card, normalisation: { kind: 'host' } }));
    writeFileSync(join(dir, 'notes.txt'), 'not a model');
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('lists models with their card facts and the files that cannot be used, with the reason', () => {
    const l = listModels(dir);
    assert.deepEqual(l.models.map((m) => m.name), ['lt-vit']);
    const m = l.models[0]!;
    assert.equal(m.architecture, 'lt-vit');
    assert.ok(m.elements.includes('Pb') && m.energyGrid.channels > 0);
    assert.deepEqual(m.metrics, { test: { r2: 0.84 } });
    assert.deepEqual(l.problems.map((p) => p.file.split('/').pop()).sort(), ['broken.onnx', 'cardless.onnx']);
    assert.match(l.problems.find((p) => p.file.endsWith('broken.onnx'))!.error, /normalisation.kind 'host' is not supported/);
    assert.doesNotThrow(() => JSON.stringify(l));
  });

  it('finds a listed model by name, names the choices otherwise; a missing dir lists nothing', () => {
    assert.equal(findModel(listModels(dir), 'lt-vit').onnx, join(dir, 'lt-vit.onnx'));
    assert.throws(() => findModel(listModels(dir), 'cnn'), /unknown model 'cnn' \(available: lt-vit\)/);
    assert.deepEqual(listModels(join(dir, 'nope')), { models: [], problems: [] });
  });
});
