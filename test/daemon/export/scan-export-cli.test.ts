// `gemxrf scan export` end to end, as an operator runs it: a scan folder laid out like the daemon's
// (<dataDir>/scans/<id>/raw.gemx, optionally cube.ckpt covering the first part), exported with roi and model
// maps; the exported cube must equal the cube histogrammed straight from the recording.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../../config/schema.js';
import { encodeEventsFrames } from '../../../drivers/codecs/gemx-encode.js';
import { zeroGemxCounters } from '../../../drivers/codecs/gemx-decode.js';
import { RecordingReader } from '../../../drivers/file/recording-reader.js';
import { RecordingWriter } from '../../../drivers/file/recording-writer.js';
import { Cube } from '../../../pipelines/cube/cube.js';
import { saveSnapshot } from '../../../pipelines/cube/snapshot.js';
import { cubeFromRecording } from '../../../pipelines/maps/recording-cube.js';
import { CHECKPOINT_FILE, RAW_FILE } from '../../../daemon/scan/acquisition.js';
import { FrameSink } from '../../../pipelines/frame-sink.js';
import { EventGenerator } from '../../../simulator/generators/events.js';
import { parseFormats } from '../../../daemon/cli/commands/export.js';
import { runCli } from '../../support/cli.js';
import { testModel, type TestModel } from '../../pipelines/inference/support/test-model.js';

const W = 24;
const H = 16;
const ID_CKPT = '20250102-101500-with_ckpt';
const ID_RAW = '20250102-111500-raw_only';

async function record(path: string): Promise<void> {
  const config = configSchema.parse({ detector: { width: W, height: H } });
  const gen = new EventGenerator({ phantom: 'phantom-painting', width: W, height: H, ratePerSecond: 1e6, seed: 9 });
  const w = RecordingWriter.create(path, { instrumentId: 'test', meta: { config, source: 'simulator' } }, { sync: false });
  let seq = 0;
  for (let i = 0; i < 8; i++) for (const f of encodeEventsFrames(seq, gen.next(20_000))) (w.append(f), seq++);
  await w.close();
}

/** A checkpoint of the cube after the first `frames` frames, with the offset to resume from (as the daemon saves). */
function checkpoint(raw: string, file: string, frames: number): void {
  const config = configSchema.parse({ detector: { width: W, height: H } });
  const cube = Cube.fromConfig(config);
  const reader = RecordingReader.open(raw);
  const sink = new FrameSink(cube, config, reader.header.headerLength);
  let n = 0;
  for (const f of reader.frames({ counters: zeroGemxCounters() })) {
    sink.accept(f);
    if (++n === frames) break;
  }
  reader.close();
  saveSnapshot(cube, file, BigInt(sink.frameEnd));
}

describe('gemxrf scan export (CLI)', function () {
  this.timeout(180_000);
  let dir: string;
  let model: TestModel;
  let expected: Cube;

  before(async function () {
    this.timeout(300_000);
    model = testModel();
    dir = mkdtempSync(join(tmpdir(), 'gemxrf-scan-export-'));
    for (const id of [ID_CKPT, ID_RAW]) {
      mkdirSync(join(dir, 'data', 'scans', id), { recursive: true });
      await record(join(dir, 'data', 'scans', id, RAW_FILE));
    }
    checkpoint(join(dir, 'data', 'scans', ID_CKPT, RAW_FILE), join(dir, 'data', 'scans', ID_CKPT, CHECKPOINT_FILE), 7);
    expected = cubeFromRecording(join(dir, 'data', 'scans', ID_RAW, RAW_FILE), configSchema.parse({})).cube;
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  const npyData = (file: string) => {
    const b = readFileSync(file);
    return b.subarray(10 + b.readUInt16LE(8));
  };

  it('exports checkpoint + recording tail: the cube equals the whole recording; roi and model maps written', () => {
    const out = join(dir, 'out-ckpt');
    const r = runCli(['scan', 'export', ID_CKPT, '--data-dir', join(dir, 'data'), '--format', 'npy,hdf5', '--methods', 'roi,model', '--model', model.onnx, '--out', out, '--json'], { timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.origin.kind, 'checkpoint+tail');
    assert.ok(res.origin.tailBytes > 0);
    assert.equal(res.events, expected.totalEvents);
    assert.ok(npyData(join(out, 'cube.npy')).equals(Buffer.from(expected.counts.buffer)));
    for (const f of ['maps_roi.npy', 'maps_model.npy', 'maps_model-presence.npy', 'maps_model-fractions.npy', `${ID_CKPT}.h5`, 'metadata.json']) assert.ok(res.files.includes(f), f);
    const meta = JSON.parse(readFileSync(join(out, 'metadata.json'), 'utf8'));
    assert.equal(meta.modelCard.architecture, 'lt-vit');
    assert.deepEqual(meta.maps.find((m: { name: string }) => m.name === 'model').elements, meta.modelCard.elements);
    assert.equal(meta.geometry.width, W);
  });

  it('rebuilds the cube from raw.gemx when there is no checkpoint; png only, no model', () => {
    const out = join(dir, 'out-raw');
    const r = runCli(['scan', 'export', ID_RAW, '--data-dir', join(dir, 'data'), '--format', 'png', '--methods', 'roi', '--out', out, '--json'], { timeoutMs: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.origin.kind, 'recording');
    assert.equal(res.events, expected.totalEvents);
    assert.ok(res.files.includes('png/roi/Pb.png') && res.files.includes('png/count_map.png'));
    assert.ok(!res.files.includes('cube.npy'));
  });

  it('fails with one clear line for an unknown scan; bad formats are named', () => {
    const r = runCli(['scan', 'export', '20250101-000000-nothing', '--data-dir', join(dir, 'data'), '--out', join(dir, 'never')]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no scan '20250101-000000-nothing'/);
    assert.deepEqual(parseFormats('all'), ['npy', 'hdf5', 'png']);
    assert.deepEqual(parseFormats('h5,npy'), ['hdf5', 'npy']);
    assert.throws(() => parseFormats('tiff'), /--format: unknown format 'tiff'/);
  });
});
