// The models a daemon can select: every NAME.onnx in modelsDir with a readable NAME.json card. For
// request/model/list (what to show) and request/model/select (check a name before restarting the engine).
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ModelCardError, readModelCard } from './model-card.js';

export interface ModelInfo {
  name: string;
  version: string;
  architecture: string;
  parameters: number | null;
  elements: string[];
  energyGrid: { channels: number; eMinKeV: number; eMaxKeV: number };
  presenceThreshold: number;
  metrics: Record<string, unknown> | null;
  onnx: string;
  card: string;
}

export interface ModelListing {
  models: ModelInfo[];
  /** NAME.onnx files without a usable card, with the reason (shown, never selectable). */
  problems: Array<{ file: string; error: string }>;
}

/** Cards found in modelsDir, sorted by name. A missing directory lists nothing. The graph itself is checked
 *  against its card only when the model is loaded (OnnxModel.load), which costs a session. */
export function listModels(modelsDir: string): ModelListing {
  const dir = resolve(modelsDir);
  const out: ModelListing = { models: [], problems: [] };
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.onnx')) continue;
    const base = f.slice(0, -'.onnx'.length);
    const cardPath = join(dir, `${base}.json`);
    if (!existsSync(cardPath)) {
      out.problems.push({ file: join(dir, f), error: `no model card ${base}.json` });
      continue;
    }
    try {
      const c = readModelCard(cardPath);
      out.models.push({
        name: base,
        version: c.version,
        architecture: c.architecture,
        parameters: c.parameters ?? null,
        elements: [...c.elements],
        energyGrid: { ...c.energyGrid },
        presenceThreshold: c.presenceThreshold,
        metrics: (c.metrics as Record<string, unknown> | undefined) ?? null,
        onnx: join(dir, f),
        card: cardPath,
      });
    } catch (err) {
      out.problems.push({ file: join(dir, f), error: err instanceof ModelCardError ? err.message : String(err) });
    }
  }
  return out;
}

/** The listed model a request names, or a one-line error naming the choices. */
export function findModel(listing: ModelListing, name: string): ModelInfo {
  const m = listing.models.find((x) => x.name === name);
  if (!m) throw new ModelCardError(`unknown model '${name}' (available: ${listing.models.map((x) => x.name).join(', ') || 'none'})`);
  return m;
}
