// The sum spectrum (and a clicked pixel's spectrum) on a log count axis, with element line markers. Redrawn
// whole on each update (1 Hz): a few hundred line segments, far below a frame's budget.
import { buildMarkers, labelRows, type LinesDoc, type Marker } from './markers.js';

export interface Series {
  counts: ArrayLike<number>;
  eMinKeV: number;
  binWidthKeV: number;
  label: string;
  color: string;
}

const PALETTE = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#ff7f0e', '#7f7f7f'];
const M = { left: 56, right: 12, top: 56, bottom: 34 };
/** Label rows above the plot (labels of close lines go to different rows). */
const ROWS = 4;

export class SpectrumPlot {
  private readonly ctx: CanvasRenderingContext2D;
  private series: Series[] = [];
  private lines: LinesDoc | null = null;
  private elements: string[] = [];
  private escapes = true;
  private range: [number, number] = [0, 20];
  markers: Marker[] = [];

  constructor(readonly canvas: HTMLCanvasElement) {
    this.ctx = canvas.getContext('2d')!;
    this.resize();
  }

  /** Matches the intrinsic size to the CSS box (once, and when the window changes size). */
  resize(): void {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(this.canvas.clientWidth * dpr) || 900;
    const h = Math.round(this.canvas.clientHeight * dpr) || 300;
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    this.draw();
  }

  setLines(doc: LinesDoc): void {
    this.lines = doc;
    this.draw();
  }

  setMarkerElements(elements: string[], escapes: boolean): void {
    this.elements = elements;
    this.escapes = escapes;
    this.draw();
  }

  setSpectra(series: Series[]): void {
    this.series = series;
    const s = series[0];
    if (s) this.range = [s.eMinKeV, s.eMinKeV + s.counts.length * s.binWidthKeV];
    this.draw();
  }

  draw(): void {
    const { ctx, canvas } = this;
    const dpr = window.devicePixelRatio || 1;
    const W = canvas.width / dpr;
    const H = canvas.height / dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, W, H);
    const pw = W - M.left - M.right;
    const ph = H - M.top - M.bottom;
    const [e0, e1] = this.range;
    let max = 1;
    for (const s of this.series) for (let i = 0; i < s.counts.length; i++) max = Math.max(max, s.counts[i]!);
    const decades = Math.max(1, Math.ceil(Math.log10(max * 1.5)));
    const yMin = Math.log10(0.5);
    const ySpan = decades - yMin;
    const X = (e: number) => M.left + ((e - e0) / (e1 - e0)) * pw;
    const Y = (c: number) => M.top + ph - ((Math.log10(Math.max(c, 0.5)) - yMin) / ySpan) * ph;

    // Axes and grid.
    ctx.font = '11px system-ui, sans-serif';
    ctx.strokeStyle = '#e3e3e3';
    ctx.fillStyle = '#444';
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let d = 0; d <= decades; d++) {
      const y = Y(10 ** d);
      ctx.beginPath();
      ctx.moveTo(M.left, y);
      ctx.lineTo(M.left + pw, y);
      ctx.stroke();
      ctx.fillText(d === 0 ? '1' : `1e${d}`, M.left - 6, y);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const step = e1 - e0 > 12 ? 2 : 1;
    for (let e = Math.ceil(e0 / step) * step; e <= e1 + 1e-9; e += step) {
      const x = X(e);
      ctx.beginPath();
      ctx.moveTo(x, M.top);
      ctx.lineTo(x, M.top + ph);
      ctx.stroke();
      ctx.fillText(String(e), x, M.top + ph + 6);
    }
    ctx.fillText('energy (keV)', M.left + pw / 2, M.top + ph + 19);
    ctx.save();
    ctx.translate(12, M.top + ph / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText('counts per channel', 0, -4);
    ctx.restore();
    ctx.strokeStyle = '#888';
    ctx.strokeRect(M.left, M.top, pw, ph);

    // Markers under the data.
    this.markers = this.lines ? buildMarkers(this.lines, this.elements, this.escapes, e0, e1) : [];
    const xs = this.markers.map((m) => X(m.energyKeV));
    const widths = this.markers.map((m) => ctx.measureText(m.label).width);
    const rows = labelRows(xs, widths, ROWS);
    ctx.textBaseline = 'bottom';
    this.markers.forEach((m, i) => {
      const color = PALETTE[Math.max(0, this.elements.indexOf(m.element)) % PALETTE.length]!;
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.globalAlpha = m.escape ? 0.6 : 0.9;
      ctx.setLineDash(m.escape ? [4, 3] : []);
      ctx.beginPath();
      ctx.moveTo(xs[i]!, M.top - 12 * (ROWS - 1 - rows[i]!) - 2);
      ctx.lineTo(xs[i]!, M.top + ph);
      ctx.stroke();
      ctx.fillText(m.label, xs[i]!, M.top - 12 * (ROWS - 1 - rows[i]!) - 3);
    });
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;

    // Data as steps (one per channel).
    for (const s of this.series) {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 1.4;
      ctx.beginPath();
      for (let i = 0; i < s.counts.length; i++) {
        const xa = X(s.eMinKeV + i * s.binWidthKeV);
        const xb = X(s.eMinKeV + (i + 1) * s.binWidthKeV);
        const y = Y(s.counts[i]!);
        if (i === 0) ctx.moveTo(xa, y);
        else ctx.lineTo(xa, y);
        ctx.lineTo(xb, y);
      }
      ctx.stroke();
    }
    // Legend.
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    this.series.forEach((s, i) => {
      const y = M.top + 12 + i * 15;
      ctx.fillStyle = s.color;
      ctx.fillRect(M.left + pw - 150, y - 2, 14, 3);
      ctx.fillStyle = '#222';
      ctx.fillText(s.label, M.left + pw - 130, y);
    });
  }
}
