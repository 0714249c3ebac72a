// Live element maps: method tabs from the live/maps index (roi, fit, model, presence: whatever the daemon
// publishes), one large map of the selected element with its colorbar, a grid of every element of the
// method, and the count map. Frames are kept per method/element; drawing waits for the next animation
// frame, so several frames arriving together cost one paint each.
// The daemon computes roi and fit in separate workers, so their first maps of a scan arrive in either order:
// the configured classical methods have tabs from the start (the toolbar does not move when one arrives), and
// until the operator picks a tab the page shows the first method in METHOD_ORDER that has maps.
import { Colorbar } from './colorbar.js';
import { byId, setData, setText } from './dom.js';
import { formatValue } from './format.js';
import type { GxmpFrame } from './gxmp.js';
import { MapCanvas } from './map-canvas.js';

export interface MapIndex {
  scanId: string;
  maps: Array<{ method: string; element: string; topic: string; sequence: number; width: number; height: number; max: number; sum: number }>;
}

const METHOD_ORDER = ['roi', 'fit', 'model', 'presence'];
const METHOD_TITLE: Record<string, string> = {
  roi: 'ROI window counts',
  fit: 'fitted line counts',
  model: 'model: net counts',
  presence: 'model: presence probability',
};

interface GridCell {
  figure: HTMLElement;
  map: MapCanvas;
  value: HTMLElement;
}

export class MapsPanel {
  private readonly frames = new Map<string, GxmpFrame>();
  private counts: GxmpFrame | null = null;
  private indexMethods: string[] = [];
  private readonly elementsByMethod = new Map<string, string[]>();
  method = '';
  element = '';
  /** The operator picked a method tab: the page stays on it from then on. */
  private methodPinned = false;
  private readonly main = new MapCanvas(byId<HTMLCanvasElement>('map-canvas'));
  private readonly countsMap = new MapCanvas(byId<HTMLCanvasElement>('counts-canvas'));
  private readonly mainBar = new Colorbar(byId('map-colorbar'));
  private readonly countsBar = new Colorbar(byId('counts-colorbar'));
  private readonly tabs = byId('method-tabs');
  private readonly select = byId<HTMLSelectElement>('element-select');
  private readonly logBox = byId<HTMLInputElement>('map-log');
  private readonly grid = byId('map-grid');
  private cells = new Map<string, GridCell>();
  private gridKey = '';
  private readonly dirty = new Set<string>();
  private scheduled = false;
  private pixel: { x: number; y: number } | null = null;

  /** configured: maps.methods of the daemon (its roi and fit tabs are shown before their first maps). */
  constructor(private readonly onPixel: (x: number, y: number) => void, private readonly configured: readonly string[] = []) {
    this.select.addEventListener('change', () => this.choose(this.method, this.select.value));
    this.logBox.addEventListener('change', () => this.markAll());
    for (const m of [this.main, this.countsMap])
      m.canvas.addEventListener('click', (ev) => {
        const p = m.pixelAt(ev.clientX, ev.clientY);
        if (p) this.onPixel(p.x, p.y);
      });
  }

  /** The frames' values at a pixel, per method and element (for the pixel table). */
  valuesAt(x: number, y: number): Map<string, Map<string, number>> {
    const out = new Map<string, Map<string, number>>();
    for (const f of this.frames.values()) {
      if (x >= f.width || y >= f.height) continue;
      if (!out.has(f.method)) out.set(f.method, new Map());
      out.get(f.method)!.set(f.element, f.data[y * f.width + x]!);
    }
    return out;
  }

  countAt(x: number, y: number): number | null {
    const c = this.counts;
    return c && x < c.width && y < c.height ? c.data[y * c.width + x]! : null;
  }

  showPixel(x: number, y: number): void {
    this.pixel = { x, y };
    this.placeMarkers();
  }

  onIndex(index: MapIndex): void {
    const methods = new Set<string>();
    for (const e of index.maps) {
      methods.add(e.method);
      const els = this.elementsByMethod.get(e.method) ?? [];
      if (!els.includes(e.element)) els.push(e.element);
      this.elementsByMethod.set(e.method, els);
    }
    this.indexMethods = [...methods];
    this.renderTabs();
  }

  onFrame(f: GxmpFrame): void {
    this.frames.set(`${f.method}/${f.element}`, f);
    const els = this.elementsByMethod.get(f.method) ?? [];
    if (!els.includes(f.element)) {
      els.push(f.element);
      this.elementsByMethod.set(f.method, els);
      this.renderTabs();
    }
    if (f.method === this.method) this.mark(f.element);
  }

  onCounts(f: GxmpFrame): void {
    this.counts = f;
    this.mark('#counts');
  }

  private methods(): string[] {
    const classical = this.configured.filter((m) => m === 'roi' || m === 'fit');
    const all = new Set([...classical, ...this.indexMethods, ...this.elementsByMethod.keys()]);
    return [...all].sort((a, b) => (METHOD_ORDER.indexOf(a) + 1 || 99) - (METHOD_ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b));
  }

  private renderTabs(): void {
    const methods = this.methods();
    const key = methods.join(',');
    if (this.tabs.dataset.methods !== key) {
      this.tabs.dataset.methods = key;
      this.tabs.replaceChildren(
        ...methods.map((m) => {
          const b = document.createElement('button');
          b.type = 'button';
          b.role = 'tab';
          b.textContent = m;
          b.dataset.method = m;
          b.addEventListener('click', () => {
            this.methodPinned = true;
            this.choose(m, this.element);
          });
          return b;
        }),
      );
    }
    const preferred = methods.find((m) => this.elementsByMethod.has(m)) ?? methods[0] ?? '';
    if (!this.method || !methods.includes(this.method) || (!this.methodPinned && preferred !== this.method)) this.choose(preferred, this.element);
    else this.renderElements();
  }

  private renderElements(): void {
    const els = this.elementsByMethod.get(this.method) ?? [];
    const key = `${this.method}:${els.join(',')}`;
    if (this.select.dataset.key !== key) {
      this.select.dataset.key = key;
      this.select.replaceChildren(...els.map((e) => new Option(e, e)));
    }
    if (!els.includes(this.element)) this.element = els[0] ?? '';
    this.select.value = this.element;
    for (const b of this.tabs.querySelectorAll<HTMLButtonElement>('button')) {
      b.setAttribute('aria-selected', String(b.dataset.method === this.method));
      b.disabled = !this.elementsByMethod.has(b.dataset.method ?? ''); // no maps yet
    }
    this.renderGrid(els);
  }

  /** Selects a method and element (the element is kept across methods when the new one has it). */
  choose(method: string, element: string): void {
    this.method = method;
    this.element = element;
    this.renderElements();
    this.markAll();
  }

  private renderGrid(els: string[]): void {
    const key = `${this.method}:${els.join(',')}`;
    if (key !== this.gridKey) {
      this.gridKey = key;
      this.cells = new Map();
      this.grid.replaceChildren(
        ...els.map((el) => {
          const figure = document.createElement('figure');
          figure.dataset.element = el;
          const canvas = document.createElement('canvas');
          canvas.width = canvas.height = 1;
          const cap = document.createElement('figcaption');
          const name = document.createElement('span');
          name.textContent = el;
          const value = document.createElement('span');
          cap.append(name, value);
          figure.append(canvas, cap);
          figure.addEventListener('click', () => this.choose(this.method, el));
          this.cells.set(el, { figure, map: new MapCanvas(canvas), value });
          return figure;
        }),
      );
    }
    for (const [el, c] of this.cells) c.figure.setAttribute('aria-current', String(el === this.element));
  }

  private markAll(): void {
    for (const el of this.elementsByMethod.get(this.method) ?? []) this.dirty.add(el);
    this.dirty.add('#counts');
    this.schedule();
  }

  private mark(key: string): void {
    this.dirty.add(key);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const log = this.logBox.checked;
    for (const key of this.dirty) {
      if (key === '#counts') {
        const c = this.counts;
        if (!c) continue;
        const d = this.countsMap.draw(c.data, c.width, c.height, { log });
        this.countsBar.update(d.scale);
        setData(this.countsMap.canvas, 'sequence', String(c.sequence));
        setText(byId('counts-title'), `count map · ${c.width}×${c.height} · seq ${c.sequence}`);
        continue;
      }
      const f = this.frames.get(`${this.method}/${key}`);
      if (!f) continue;
      const cell = this.cells.get(key);
      // Presence is a probability: a fixed 0..1 scale, so 0.3 never looks like certainty.
      const scale = f.method === 'presence' ? { min: 0, max: 1, log: false } : undefined;
      const opts = scale ? { log, scale } : { log };
      if (cell) {
        const d = cell.map.draw(f.data, f.width, f.height, opts);
        setText(cell.value, formatValue(d.scale.max));
      }
      if (key === this.element) {
        const d = this.main.draw(f.data, f.width, f.height, opts);
        this.mainBar.update(d.scale);
        const c = this.main.canvas;
        setData(c, 'method', f.method);
        setData(c, 'element', f.element);
        setData(c, 'sequence', String(f.sequence));
        setData(c, 'scan', f.scanId);
        setText(byId('map-title'), `${f.element} · ${METHOD_TITLE[f.method] ?? f.method} · seq ${f.sequence}`);
        setText(byId('map-meta'), `${f.scanId} · ${f.width}×${f.height}`);
      }
    }
    this.dirty.clear();
    this.placeMarkers();
  }

  private placeMarkers(): void {
    for (const m of [this.main, this.countsMap]) {
      const marker = m.canvas.parentElement!.querySelector<HTMLElement>('.pixel-marker')!;
      const box = this.pixel ? m.pixelBox(this.pixel.x, this.pixel.y) : null;
      marker.hidden = !box;
      if (box) {
        // Percentages of the fixed box: positioned absolutely, the marker moves nothing else.
        marker.style.left = `${(box.left * 100).toFixed(3)}%`;
        marker.style.top = `${(box.top * 100).toFixed(3)}%`;
        marker.style.width = `${(box.width * 100).toFixed(3)}%`;
        marker.style.height = `${(box.height * 100).toFixed(3)}%`;
      }
    }
  }
}
