// PNG export through daemon/render: the count map, one PNG per element of each map set, and one grid per set.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderMapGridPng, renderMapPng } from '../render/index.js';
import type { ExportContent } from './content.js';

export function writePngExport(dir: string, c: ExportContent): Array<{ file: string; bytes: number }> {
  const { width: W, height: H } = c.cube;
  const out: Array<{ file: string; bytes: number }> = [];
  const write = (file: string, png: Buffer) => {
    writeFileSync(join(dir, file), png);
    out.push({ file, bytes: png.length });
  };
  mkdirSync(join(dir, 'png'), { recursive: true });
  write('png/count_map.png', renderMapPng(c.countMap, W, H, { title: 'counts', unit: 'counts' }));
  const P = W * H;
  for (const { name, set } of c.maps) {
    mkdirSync(join(dir, 'png', name), { recursive: true });
    const unit = set.unit ?? (set.method === 'model' ? '' : 'counts');
    const entries = set.elements.map((el, e) => ({ title: el, data: set.data.subarray(e * P, (e + 1) * P), unit }));
    for (const m of entries) write(`png/${name}/${m.title}.png`, renderMapPng(m.data, W, H, { title: `${m.title} - ${name}`, unit }));
    write(`png/${name}-all.png`, renderMapGridPng(entries, W, H, { title: name }));
  }
  return out;
}
