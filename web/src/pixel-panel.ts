// A clicked pixel: asks the daemon for its spectrum and per-element roi/fit values (request/pixel/get,
// docs/mqtt.md) and adds the model's values from the model/presence map frames the page already holds.
// The pixel's spectrum goes onto the spectrum plot next to the sum spectrum.
import type { DaemonLink } from './connection.js';
import { byId, setText } from './dom.js';
import { formatPercent, formatValue } from './format.js';
import type { MapsPanel } from './maps-panel.js';

export interface PixelAnswer {
  scanId: string;
  x: number;
  y: number;
  radius: number;
  pixels: number;
  eMinKeV: number;
  binWidthKeV: number;
  total: number;
  counts: number[];
  elements: string[];
  roi: { counts: number[]; fractions: number[] };
  fit: { netCounts: number[]; fractions: number[]; chi2: number };
  model: { elements: string[]; fractions: number[]; presence?: number[] } | null;
}

export class PixelPanel {
  private readonly title = byId('pixel-title');
  private readonly error = byId('pixel-error');
  private readonly body = byId<HTMLTableElement>('pixel-table').tBodies[0]!;
  private readonly radius = byId<HTMLSelectElement>('pixel-radius');
  private pixel: { x: number; y: number } | null = null;
  private busy = false;
  private lastAsk = 0;
  answer: PixelAnswer | null = null;

  constructor(
    private readonly link: DaemonLink,
    private readonly maps: MapsPanel,
    private readonly onSpectrum: (a: PixelAnswer | null) => void,
  ) {
    this.radius.addEventListener('change', () => void this.refresh());
  }

  select(x: number, y: number): void {
    this.pixel = { x, y };
    this.maps.showPixel(x, y);
    void this.refresh();
  }

  /** Asks again (new maps arrived) at most every 2 s while a pixel is selected. */
  maybeRefresh(): void {
    if (this.pixel && !this.busy && Date.now() - this.lastAsk > 2000) void this.refresh();
  }

  async refresh(): Promise<void> {
    if (!this.pixel) return;
    const { x, y } = this.pixel;
    this.busy = true;
    this.lastAsk = Date.now();
    const r = await this.link.request<PixelAnswer>('pixel/get', { x, y, radius: Number(this.radius.value) });
    this.busy = false;
    if (r.status !== 'ok' || !r.data) {
      setText(this.error, r.error ?? 'pixel request failed');
      return;
    }
    setText(this.error, '');
    const a = r.data;
    if (a.x !== this.pixel.x || a.y !== this.pixel.y) return; // another pixel was clicked meanwhile
    this.answer = a;
    const area = a.radius > 0 ? ` (${2 * a.radius + 1}×${2 * a.radius + 1}, ${a.pixels} pixels)` : '';
    setText(this.title, `pixel (${a.x}, ${a.y})${area} · ${a.total.toLocaleString('en-US')} counts · fit χ² ${formatValue(a.fit.chi2)}`);
    this.render(a);
    this.onSpectrum(a);
  }

  private render(a: PixelAnswer): void {
    const frames = this.maps.valuesAt(a.x, a.y);
    const model = frames.get('model');
    const presence = frames.get('presence');
    // Without the engine's own values, the model map frames stand in. They hold net counts (the model's
    // fraction x the pixel's counts, docs/mqtt.md), so the fraction is the frame's value over the pixel's counts.
    const counts = a.radius === 0 ? a.total : this.maps.countAt(a.x, a.y);
    const fromFrame = (net: number | undefined) => (net === undefined || counts === null || !(counts > 0) ? undefined : net / counts);
    const rows = a.elements.map((el, i) => {
      const mi = a.model?.elements.indexOf(el) ?? -1;
      const modelFraction = mi >= 0 ? a.model!.fractions[mi] : fromFrame(model?.get(el));
      const presenceValue = mi >= 0 && a.model!.presence ? a.model!.presence[mi] : presence?.get(el);
      const tr = document.createElement('tr');
      tr.dataset.element = el;
      for (const text of [el, formatValue(a.roi.counts[i]!), formatPercent(a.roi.fractions[i]), formatValue(a.fit.netCounts[i]!), formatPercent(a.fit.fractions[i]), formatPercent(modelFraction), formatPercent(presenceValue)]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    });
    this.body.replaceChildren(...rows);
  }
}
