// A vertical colorbar: the LUT drawn once into a 1x256 canvas (CSS stretches it), and min/max labels whose
// text is the only thing that changes. Tick text uses fixed-width slots so updates do not re-layout.
import { VIRIDIS, type ColorScale } from './colormap.js';
import { formatValue } from './format.js';

export class Colorbar {
  private readonly maxLabel: HTMLElement;
  private readonly minLabel: HTMLElement;

  constructor(root: HTMLElement) {
    const canvas = root.querySelector('canvas')!;
    canvas.width = 1;
    canvas.height = 256;
    const ctx = canvas.getContext('2d')!;
    const img = ctx.createImageData(1, 256);
    for (let i = 0; i < 256; i++) {
      const k = (255 - i) * 3; // top = max
      img.data.set([VIRIDIS[k]!, VIRIDIS[k + 1]!, VIRIDIS[k + 2]!, 255], i * 4);
    }
    ctx.putImageData(img, 0, 0);
    this.maxLabel = root.querySelector('.cb-max')!;
    this.minLabel = root.querySelector('.cb-min')!;
  }

  update(scale: ColorScale, unit = ''): void {
    this.maxLabel.textContent = formatValue(scale.max) + unit;
    this.minLabel.textContent = formatValue(scale.min) + unit;
  }
}
