// A spectrum as a PNG: measured counts (histogram steps), the expected curve, and labelled line markers
// (the plot of the poster's Figures 3 and 4). Drawn with daemon/render's canvas, font and ticks.
import { Canvas, encodePng, type RGB } from '../render/canvas.js';
import { linearTicks, logTicks } from '../render/ticks.js';

export interface SpectrumMarker { label: string; energyKeV: number; color: RGB }

export interface SpectrumPlotInput {
  eMinKeV: number;
  eMaxKeV: number;
  counts: ArrayLike<number>;
  expected?: ArrayLike<number>;
  markers?: SpectrumMarker[];
  title?: string;
  log?: boolean;
  width?: number;
  height?: number;
}

export const MARKER_COLORS: RGB[] = [[214, 39, 40], [31, 119, 180], [44, 160, 44], [148, 103, 189], [255, 127, 14], [140, 86, 75], [227, 119, 194], [23, 190, 207]];

export function spectrumPng(p: SpectrumPlotInput): Buffer {
  const W = p.width ?? 900, H = p.height ?? 480;
  const left = 70, right = 20, top = 34, bottom = 48;
  const pw = W - left - right, ph = H - top - bottom;
  const c = new Canvas(W, H);
  const n = p.counts.length;
  let max = 1;
  for (let i = 0; i < n; i++) max = Math.max(max, p.counts[i]!, p.expected?.[i] ?? 0);
  const yMin = p.log ? 0.5 : 0, yMax = p.log ? max * 2 : max * 1.1;
  const xOf = (e: number): number => left + ((e - p.eMinKeV) / (p.eMaxKeV - p.eMinKeV)) * pw;
  const yOf = (v: number): number => {
    const t = p.log ? (Math.log10(Math.max(v, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin)) : v / yMax;
    return top + ph - Math.min(1, Math.max(0, t)) * ph;
  };
  const grey: RGB = [200, 200, 200], dark: RGB = [40, 40, 40];
  for (const t of linearTicks(p.eMinKeV, p.eMaxKeV, 10)) {
    const x = Math.round(xOf(t.value));
    c.vLine(x, top, top + ph, grey);
    c.text(t.label, x, top + ph + 6, dark, { align: 'center', baseline: 'top' });
  }
  const yTicks = p.log ? logTicks(yMin, yMax) : linearTicks(0, yMax, 6);
  for (const t of yTicks) {
    const y = Math.round(yOf(t.value));
    c.hLine(left, left + pw, y, grey);
    c.text(t.label, left - 6, y, dark, { align: 'right', baseline: 'middle' });
  }
  c.text('energy (keV)', left + pw / 2, H - 14, dark, { align: 'center', baseline: 'middle' });
  c.text('counts / channel', 16, top + ph / 2, dark, { align: 'center', baseline: 'middle', rotate: 90 });
  if (p.title) c.text(p.title, left + pw / 2, 14, dark, { align: 'center', baseline: 'middle', scale: 2 });
  c.setClip(left, top, pw, ph);
  const w = (p.eMaxKeV - p.eMinKeV) / n;
  // Counts as histogram steps.
  const xs: number[] = [], ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = yOf(p.counts[i]!);
    xs.push(xOf(p.eMinKeV + i * w), xOf(p.eMinKeV + (i + 1) * w));
    ys.push(y, y);
  }
  c.polyline(xs, ys, [60, 60, 60]);
  if (p.expected) {
    const ex: number[] = [], ey: number[] = [];
    for (let i = 0; i < n; i++) { ex.push(xOf(p.eMinKeV + (i + 0.5) * w)); ey.push(yOf(p.expected[i]!)); }
    c.polyline(ex, ey, [255, 127, 14], 2);
  }
  let row = 0;
  for (const m of p.markers ?? []) {
    if (m.energyKeV < p.eMinKeV || m.energyKeV > p.eMaxKeV) continue;
    const x = Math.round(xOf(m.energyKeV));
    c.dashedVLine(x, top, top + ph, m.color);
    c.text(m.label, x + 3, top + 4 + (row++ % 4) * 11, m.color, { baseline: 'top' });
  }
  c.clearClip();
  c.strokeRect(left, top, pw, ph, dark);
  return encodePng(c);
}
