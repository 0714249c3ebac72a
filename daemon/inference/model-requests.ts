// request/model/list and request/model/select (docs/mqtt.md): which models the daemon can run, and which one
// the next scans use. A selection is refused while a scan runs (its engine is bound to its model) and lasts
// for the life of the daemon process (config inference.model is the choice at start).
import { z } from 'zod';
import { ModelCardError } from '../../pipelines/inference/index.js';
import { RequestError, type MqttBridge } from '../mqtt/bridge.js';
import { parseRequest } from '../requests.js';
import type { ScanManager } from '../scan/scan-manager.js';
import type { ScanInference } from './scan-inference.js';

const emptySchema = z.strictObject({});
const selectSchema = z.strictObject({ name: z.string().min(1).max(200) });

export function registerModelRequests(ctx: { bridge: MqttBridge; manager: ScanManager; inference: ScanInference }): void {
  const { bridge, manager, inference } = ctx;
  bridge.handle('model/list', (data) => {
    parseRequest(emptySchema, data);
    const { models, problems } = inference.list();
    return {
      selected: inference.selectedModel,
      active: inference.active,
      // Paths stay on the instrument: a client selects by name.
      models: models.map(({ onnx: _o, card: _c, ...m }) => m),
      problems: problems.map((p) => ({ file: p.file.split('/').pop(), error: p.error })),
    };
  });
  bridge.handle('model/select', async (data) => {
    const { name } = parseRequest(selectSchema, data);
    if (manager.state !== 'idle' && manager.state !== 'error')
      throw new RequestError(`cannot change the model while a scan is ${manager.state}; stop it first`);
    // Loading the graph to check it takes a moment; a scan started meanwhile keeps the model it started with.
    try {
      const { onnx: _o, card: _c, ...m } = await inference.select(name);
      return { selected: m.name, active: inference.active, model: m };
    } catch (e) {
      if (e instanceof ModelCardError) throw new RequestError(e.message);
      throw e;
    }
  });
}
