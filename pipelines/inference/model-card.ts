// The model card (NAME.json next to NAME.onnx) is the contract between training and the daemon:
// onnxruntime-node cannot read ONNX metadata_props, so everything the host needs to know is here.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const gridSchema = z.object({
  channels: z.number().int().min(8).max(8192),
  eMinKeV: z.number().min(0),
  eMaxKeV: z.number().positive(),
});

const tensorSchema = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int()),
  dtype: z.string().optional(),
});

export const modelCardSchema = z.looseObject({
  name: z.string().min(1),
  version: z.union([z.string(), z.number()]).transform(String),
  architecture: z.string().min(1),
  parameters: z.number().int().nonnegative().optional(),
  input: tensorSchema,
  energyGrid: gridSchema,
  normalisation: z.looseObject({ kind: z.string() }),
  outputs: z.array(tensorSchema).min(1),
  elements: z.array(z.string().min(1)).min(1),
  presenceThreshold: z.number().min(0).max(1).default(0.5),
  training: z.looseObject({}).optional(),
  metrics: z.looseObject({}).optional(),
});

export type ModelCard = z.infer<typeof modelCardSchema>;

export class ModelCardError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelCardError';
  }
}

export function readModelCard(path: string): ModelCard {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ModelCardError(`cannot read model card ${path}: ${(err as Error).message}`);
  }
  const r = modelCardSchema.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ModelCardError(`model card ${path} is invalid: ${first}`);
  }
  const card = r.data;
  if (card.normalisation.kind !== 'in-graph') {
    throw new ModelCardError(`model card ${path}: normalisation.kind '${card.normalisation.kind}' is not supported (expected 'in-graph')`);
  }
  for (const needed of ['fractions', 'presence']) {
    const out = card.outputs.find((o) => o.name === needed);
    if (!out) throw new ModelCardError(`model card ${path}: no '${needed}' output`);
    const width = out.shape[out.shape.length - 1];
    if (width !== card.elements.length) {
      throw new ModelCardError(`model card ${path}: output '${needed}' has ${width} columns but the card lists ${card.elements.length} elements`);
    }
  }
  const inWidth = card.input.shape[card.input.shape.length - 1];
  if (inWidth !== card.energyGrid.channels) {
    throw new ModelCardError(`model card ${path}: input width ${inWidth} differs from energyGrid.channels ${card.energyGrid.channels}`);
  }
  return card;
}
