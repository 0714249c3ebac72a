// Maps and metadata for an offline export of a finished cube: roi and fit (pipelines/maps) on the configured
// elements, and the model maps from a full-resolution pass of the selected model, run in-process (the CLI has
// no acquisition to protect, so no worker is needed).
import type { GemxrfConfig } from '../../config/index.js';
import type { Cube } from '../../pipelines/cube/cube.js';
import type { ModelCard } from '../../pipelines/inference/model-card.js';
import { OnnxModel } from '../../pipelines/inference/onnx-model.js';
import { IncrementalRunner } from '../../pipelines/inference/runner.js';
import { SharedMaps } from '../../pipelines/inference/shared-maps.js';
import { buildMaps, cubeGrid } from '../../pipelines/maps/build.js';
import { roiBackgroundFromConfig } from '../../pipelines/maps/roi.js';
import type { ExportMapSet, ExportMetadata } from './types.js';
import type { ScanSource } from './scan-source.js';

export type ExportMethod = 'roi' | 'fit' | 'model';

export interface ExportMapsOptions {
  methods: readonly ExportMethod[];
  /** Model name or .onnx path (default: config.inference.model). */
  model?: string;
  modelsDir?: string;
  threads?: number;
}

/** The three model map sets (net counts, presence, fractions) of a full-resolution pass over the cube. */
export async function modelMapsOf(cube: Cube, model: string, modelsDir: string, threads = 1): Promise<{ maps: ExportMapSet[]; card: ModelCard }> {
  const m = await OnnxModel.load(model, { modelsDir, threads });
  try {
    const shared = SharedMaps.allocate(cube.width, cube.height, m.elements);
    // The pass must not disturb the cube's own bookkeeping: it runs on a copy of the inferred totals.
    const saved = cube.inferredTotals.slice();
    try {
      const runner = new IncrementalRunner(m, cube, shared, {
        tuning: { relativeThreshold: 0, absoluteThreshold: 0, cycleBudgetMs: 1e9 }, minCounts: 1, blockSizes: [1], batchSize: 512,
      });
      await runner.finalPass();
    } finally {
      cube.inferredTotals.set(saved);
    }
    const base = { method: 'model' as const, elements: [...m.elements], width: cube.width, height: cube.height };
    return {
      card: m.card,
      maps: [
        { ...base, name: 'model', unit: 'counts', data: shared.netCounts },
        { ...base, name: 'model-presence', unit: 'probability', data: shared.presence },
        { ...base, name: 'model-fractions', unit: 'fraction', data: shared.fractions },
      ],
    };
  } finally {
    await m.release();
  }
}

export async function exportMapsFor(src: ScanSource, opts: ExportMapsOptions): Promise<{ maps: ExportMapSet[]; metadata: ExportMetadata }> {
  const { cube, config } = src;
  const maps: ExportMapSet[] = [];
  for (const method of opts.methods) {
    if (method === 'model') continue;
    // roi with the scan's maps.roi continuum setting, as its live maps and its saved maps/ (save-maps.ts) had.
    maps.push({ ...buildMaps(cube, cubeGrid(cube), method, config.maps.elements, { roi: roiBackgroundFromConfig(config.maps.roi) }).maps, unit: 'counts' });
  }
  let card: ModelCard | null = null;
  if (opts.methods.includes('model')) {
    const r = await modelMapsOf(cube, opts.model ?? config.inference.model, opts.modelsDir ?? config.inference.modelsDir, opts.threads ?? config.inference.threads);
    maps.push(...r.maps);
    card = r.card;
  }
  return { maps, metadata: metadataFor(src, card) };
}

export function metadataFor(src: ScanSource, card: ModelCard | null): ExportMetadata {
  const { config } = src;
  const { channelMap, ...geometry } = config.detector;
  return {
    energyCalibration: { ...config.calibration, histogram: config.histogram },
    geometry: { ...geometry, channelMapEntries: channelMap.length },
    modelCard: card,
    scan: src.scan ? { ...src.scan, config: undefined } : { source: src.origin.file },
    extra: { origin: src.origin, elements: { roi: config.maps.elements, fit: config.maps.elements, model: card?.elements ?? null } },
  };
}
