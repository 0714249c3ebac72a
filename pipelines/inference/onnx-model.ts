// Loads a shipped model (NAME.onnx + NAME.json card), checks that the ONNX graph matches its card, and runs
// batches of raw-count spectra. session.run() blocks its thread: the daemon calls this from a worker_thread;
// the CLI (eval) may call it directly.
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { shippedModelsDir } from '../../config/package-paths.js';
import { ModelCardError, readModelCard, type ModelCard } from './model-card.js';

export interface ModelOutputs {
  /** n × E, fraction of each spectrum's counts per element. */
  fractions: Float32Array;
  /** n × E, presence probability per element. */
  presence: Float32Array;
}

/** Resolves a model name (in modelsDir) or a path to NAME.onnx / NAME.json into both paths. */
export function resolveModelPaths(nameOrPath: string, modelsDir = shippedModelsDir()): { onnx: string; card: string } {
  let onnx: string;
  if (nameOrPath.endsWith('.onnx')) onnx = resolve(nameOrPath);
  else if (nameOrPath.endsWith('.json')) onnx = resolve(nameOrPath.replace(/\.json$/, '.onnx'));
  else onnx = resolve(modelsDir, `${nameOrPath}.onnx`);
  const card = join(dirname(onnx), basename(onnx, '.onnx') + '.json');
  if (!existsSync(onnx)) throw new ModelCardError(`model file not found: ${onnx}`);
  if (!existsSync(card)) throw new ModelCardError(`model card not found: ${card} (every model needs its card)`);
  return { onnx, card };
}

/** Wraps every onnxruntime call that blocks in native code (the graph load, session.run): the inference worker
 *  marks them for the main thread's deadline (native-gate.ts). */
export type NativeGuard = <T>(call: () => Promise<T>) => Promise<T>;

const unguarded: NativeGuard = (call) => call();

export class OnnxModel {
  private constructor(
    readonly card: ModelCard,
    readonly path: string,
    private readonly session: ort.InferenceSession,
    private readonly guard: NativeGuard,
  ) {}

  static async load(nameOrPath: string, opts: { modelsDir?: string; threads?: number; guard?: NativeGuard } = {}): Promise<OnnxModel> {
    const paths = resolveModelPaths(nameOrPath, opts.modelsDir);
    const card = readModelCard(paths.card);
    const guard = opts.guard ?? unguarded;
    const session = await guard(() => ort.InferenceSession.create(paths.onnx, {
      intraOpNumThreads: opts.threads ?? 1,
      interOpNumThreads: 1,
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      // No busy-waiting between ops: spinning intra-op threads take CPU from acquisition on the shared cores
      // (on a loaded 2-core machine, 2 threads ran 1.6x faster without spinning).
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    }));
    // The card is the contract: refuse a model whose graph does not have the names the card promises.
    if (!session.inputNames.includes(card.input.name)) {
      throw new ModelCardError(`${paths.onnx}: card input '${card.input.name}' is not an input of the graph (graph inputs: ${session.inputNames.join(', ')})`);
    }
    for (const out of card.outputs) {
      if (!session.outputNames.includes(out.name)) {
        throw new ModelCardError(`${paths.onnx}: card output '${out.name}' is not an output of the graph (graph outputs: ${session.outputNames.join(', ')})`);
      }
    }
    return new OnnxModel(card, paths.onnx, session, guard);
  }

  get channels(): number {
    return this.card.energyGrid.channels;
  }

  get elements(): string[] {
    return this.card.elements;
  }

  /** Runs n spectra (n × channels raw counts on the card's grid). */
  async run(spectra: Float32Array, n: number): Promise<ModelOutputs> {
    const c = this.channels;
    if (spectra.length < n * c) throw new Error(`expected ${n}×${c} values, got ${spectra.length}`);
    const input = new ort.Tensor('float32', spectra.length === n * c ? spectra : spectra.subarray(0, n * c), [n, c]);
    const result = await this.guard(() => this.session.run({ [this.card.input.name]: input }));
    const fractions = result['fractions'];
    const presence = result['presence'];
    if (!fractions || !presence) throw new Error('model did not return fractions and presence');
    return { fractions: fractions.data as Float32Array, presence: presence.data as Float32Array };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
