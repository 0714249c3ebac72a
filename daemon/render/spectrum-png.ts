// Energy spectrum plots: counts against keV with labelled axes (linear or log counts), one or more series,
// vertical line markers with labels (element lines solid, escape peaks dashed), a legend and a title.
import { Canvas, encodePng, type RGB } from './canvas.js';
import { GLYPH_ASCENT, GLYPH_HEIGHT, textWidth } from './font.js';
import type { Rect } from './map-png.js';
import { linearTicks, logMinorTicks, logTicks, type Tick } from './ticks.js';

export interface SpectrumSeries {
  label: string;
  /** Counts per bin, same length as energiesKeV. */
  counts: Float64Array | Float32Array | Uint32Array | ArrayLike<number>;
  color?: RGB;
  /** step: a histogram outline; line: straight segments between bin centres. Default: step when bins
   * are at least 4 px wide, otherwise line (a per-column min/max envelope when bins are denser than px). */
  style?: 'line' | 'step';
}

export interface SpectrumMarker {
  energyKeV: number;
  label: string;
  color?: RGB;
  /** Dashed line, e.g. for escape peaks and other artefacts. */
  dashed?: boolean;
}

export interface SpectrumPngOptions {
  /** Bin centres in keV, ascending. */
  energiesKeV: Float64Array | Float32Array | ArrayLike<number>;
  series: readonly SpectrumSeries[];
  markers?: readonly SpectrumMarker[];
  logY?: boolean;
  title?: string;
  width?: number;
  height?: number;
  xLabel?: string;
  yLabel?: string;
  /** Energy range shown; default the full bin range. */
  xRangeKeV?: readonly [number, number];
}

export interface MarkerLabel {
  marker: SpectrumMarker;
  x: number;
  y: number;
  row: number;
  width: number;
}

export interface SpectrumLayout {
  width: number;
  height: number;
  plot: Rect;
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
  logY: boolean;
  xTicks: Tick[];
  yTicks: Tick[];
  /** Row through the middle of the legend entries. */
  legendMidY: number;
  /** Markers inside the energy range with their label boxes (top-left corner, row of the stack). */
  markerLabels: MarkerLabel[];
  /** Pixel column (fractional) of an energy. */
  xToPx(energyKeV: number): number;
  /** Pixel row (fractional) of a count value; non-positive values on a log axis map to the bottom. */
  yToPx(counts: number): number;
}

export const SERIES_PALETTE: readonly RGB[] = [
  [31, 119, 180],
  [214, 39, 40],
  [44, 160, 44],
  [255, 127, 14],
  [148, 103, 189],
  [140, 86, 75],
];
export const DEFAULT_MARKER_COLOR: RGB = [200, 60, 60];
export const DEFAULT_DASHED_MARKER_COLOR: RGB = [120, 120, 120];

const PAD = 10;
const TITLE_SCALE = 2;
const TICK = 4;
const TEXT: RGB = [30, 30, 30];
const AXIS: RGB = [60, 60, 60];
const GRID: RGB = [232, 232, 232];
const LEGEND_SWATCH = 18;
const LEGEND_GAP = 14;
const MARKER_LABEL_ROWS = 4;
const MARKER_ROW_HEIGHT = GLYPH_HEIGHT + 3;

/** Computes ranges, ticks and the plot rectangle (exported so tests and the web page can map keV to px). */
export function layoutSpectrum(opts: SpectrumPngOptions): SpectrumLayout {
  // Marker labels stack in rows at the top of the plot; the y range gets enough headroom that the data
  // stays below them. The rows depend on the x mapping, which depends on the y tick labels' width, so
  // lay out once without headroom, then again with the headroom the labels need.
  const first = buildLayout(opts, 0);
  const rows = first.markerLabels.reduce((r, l) => Math.max(r, l.row + 1), 0);
  if (rows === 0) return first;
  const bandPx = 3 + rows * MARKER_ROW_HEIGHT + 4;
  return buildLayout(opts, Math.min(0.5, bandPx / first.plot.h));
}

function buildLayout(opts: SpectrumPngOptions, headroom: number): SpectrumLayout {
  const width = Math.round(opts.width ?? 900);
  const height = Math.round(opts.height ?? 450);
  const logY = opts.logY === true;
  const [xMin, xMax] = xRange(opts);
  const [yMin, yMax] = yRange(opts, xMin, xMax, logY, headroom);
  const yTicks = logY ? logTicks(yMin, yMax) : linearTicks(yMin, yMax, Math.max(2, Math.floor(height / 70)));

  const yLabelW = (opts.yLabel ?? 'Counts') ? GLYPH_HEIGHT + 6 : 0;
  const yTickLabelW = Math.max(textWidth('0'), ...yTicks.map((t) => textWidth(t.label)));
  const left = PAD + yLabelW + yTickLabelW + 4 + TICK;
  const bottom = TICK + 4 + GLYPH_HEIGHT + 8 + GLYPH_HEIGHT + PAD;
  const right = PAD + 14;
  const plotW = Math.max(10, width - left - right);

  // Header: the title on the left, the legend right-aligned on the same row, or on a row of its own
  // when both do not fit.
  const titleH = opts.title ? GLYPH_HEIGHT * TITLE_SCALE : 0;
  const titleW = opts.title ? textWidth(opts.title, TITLE_SCALE) + 20 : 0;
  const legendW = legendWidth(opts);
  const legendOwnRow = legendW > 0 && opts.title !== undefined && titleW + legendW > plotW;
  const legendMidY =
    legendOwnRow || !opts.title ? PAD + titleH + (opts.title ? 6 : 0) + 3 : PAD + Math.floor((GLYPH_ASCENT * TITLE_SCALE) / 2);
  const headerH = Math.max(PAD + titleH, legendW > 0 ? legendMidY + 5 : 0) + 12;
  const plot: Rect = { x: left, y: headerH, w: plotW, h: Math.max(10, height - headerH - bottom) };
  const xTicks = linearTicks(xMin, xMax, Math.max(2, Math.floor(plot.w / 70)));

  const xToPx = (e: number) => plot.x + ((e - xMin) / (xMax - xMin)) * (plot.w - 1);
  const logLo = Math.log10(yMin);
  const logHi = Math.log10(yMax);
  const yToPx = logY
    ? (c: number) => plot.y + plot.h - 1 - ((Math.log10(c > yMin ? c : yMin) - logLo) / (logHi - logLo)) * (plot.h - 1)
    : (c: number) => plot.y + plot.h - 1 - ((c - yMin) / (yMax - yMin)) * (plot.h - 1);
  const markers = (opts.markers ?? []).filter((m) => m.energyKeV >= xMin && m.energyKeV <= xMax);
  const markerLabels = placeMarkerLabels(markers, xToPx, plot);
  return { width, height, plot, xMin, xMax, yMin, yMax, logY, xTicks, yTicks, legendMidY, markerLabels, xToPx, yToPx };
}

/**
 * Greedy row assignment left to right: a label goes to the first row where it clears its left
 * neighbour, so close lines (Kα / Kβ, escape peaks) stack instead of overprinting.
 */
function placeMarkerLabels(markers: readonly SpectrumMarker[], xToPx: (e: number) => number, plot: Rect): MarkerLabel[] {
  const rowEnds = new Array<number>(MARKER_LABEL_ROWS).fill(-Infinity);
  const sorted = [...markers].sort((a, b) => a.energyKeV - b.energyKeV);
  return sorted.map((marker) => {
    const w = textWidth(marker.label);
    const cx = Math.round(xToPx(marker.energyKeV));
    const x = Math.min(plot.x + plot.w - 2 - w, Math.max(plot.x + 2, cx - Math.floor(w / 2)));
    let row = rowEnds.findIndex((end) => x > end + 5);
    if (row < 0) row = rowEnds.indexOf(Math.min(...rowEnds));
    rowEnds[row] = x + w;
    return { marker, x, y: plot.y + 3 + row * MARKER_ROW_HEIGHT, row, width: w };
  });
}

export function renderSpectrumCanvas(opts: SpectrumPngOptions): Canvas {
  const layout = layoutSpectrum(opts);
  const canvas = new Canvas(layout.width, layout.height);
  const { plot } = layout;

  drawGridAndAxes(canvas, layout, opts);

  canvas.setClip(plot.x, plot.y, plot.w, plot.h);
  for (const { marker: m } of layout.markerLabels) {
    const x = Math.round(layout.xToPx(m.energyKeV));
    const color = markerColor(m);
    if (m.dashed) canvas.dashedVLine(x, plot.y, plot.y + plot.h - 1, color, { dash: 5, gap: 4 });
    else canvas.vLine(x, plot.y, plot.y + plot.h - 1, color, 0.85);
  }
  opts.series.forEach((s, i) => drawSeries(canvas, layout, opts.energiesKeV, s, s.color ?? SERIES_PALETTE[i % SERIES_PALETTE.length]!));
  drawMarkerLabels(canvas, layout);
  canvas.clearClip();
  // The frame goes on last so series touching the edges do not eat into it.
  canvas.strokeRect(plot.x - 1, plot.y - 1, plot.w + 2, plot.h + 2, AXIS);

  if (opts.series.length === 0 || opts.energiesKeV.length === 0) {
    canvas.text('no data', plot.x + plot.w / 2, plot.y + plot.h / 2, TEXT, { scale: 2, align: 'center', baseline: 'middle' });
  }
  drawHeader(canvas, layout, opts);
  return canvas;
}

/** A spectrum plot as a PNG (default 900×450). */
export function renderSpectrumPng(opts: SpectrumPngOptions): Buffer {
  return encodePng(renderSpectrumCanvas(opts));
}

function drawGridAndAxes(canvas: Canvas, layout: SpectrumLayout, opts: SpectrumPngOptions): void {
  const { plot } = layout;
  const bottomY = plot.y + plot.h;
  for (const t of layout.xTicks) {
    const x = Math.round(layout.xToPx(t.value));
    canvas.vLine(x, plot.y, bottomY - 1, GRID);
    canvas.vLine(x, bottomY, bottomY + TICK - 1, AXIS);
    canvas.text(t.label, x, bottomY + TICK + 4, TEXT, { align: 'center' });
  }
  for (const t of layout.yTicks) {
    const y = Math.round(layout.yToPx(t.value));
    canvas.hLine(plot.x, plot.x + plot.w - 1, y, GRID);
    canvas.hLine(plot.x - TICK - 1, plot.x - 2, y, AXIS);
    canvas.text(t.label, plot.x - TICK - 4, y, TEXT, { align: 'right', baseline: 'middle' });
  }
  if (layout.logY) {
    for (const v of logMinorTicks(layout.yMin, layout.yMax)) {
      const y = Math.round(layout.yToPx(v));
      canvas.hLine(plot.x - 3, plot.x - 2, y, AXIS);
    }
  }
  const xLabel = opts.xLabel ?? 'Energy (keV)';
  canvas.text(xLabel, plot.x + Math.floor(plot.w / 2), bottomY + TICK + 4 + GLYPH_HEIGHT + 8, TEXT, { align: 'center' });
  const yLabel = opts.yLabel ?? 'Counts';
  if (yLabel) canvas.text(yLabel, PAD, plot.y + Math.floor(plot.h / 2), TEXT, { rotate: 90, align: 'center' });
}

function drawSeries(canvas: Canvas, layout: SpectrumLayout, energies: ArrayLike<number>, s: SpectrumSeries, color: RGB): void {
  const n = Math.min(energies.length, s.counts.length);
  if (n === 0) return;
  const { xToPx, yToPx } = layout;
  const binPx = n > 1 ? Math.abs(xToPx(energies[n - 1]!) - xToPx(energies[0]!)) / (n - 1) : layout.plot.w;
  const style = s.style ?? (binPx >= 4 ? 'step' : 'line');
  if (style === 'step') {
    let prevY = NaN;
    for (let i = 0; i < n; i++) {
      const [lo, hi] = binEdges(energies, n, i);
      const x0 = Math.round(xToPx(lo));
      const x1 = Math.round(xToPx(hi));
      const y = Math.round(yToPx(Number(s.counts[i])));
      if (Number.isFinite(prevY)) canvas.vLine(x0, prevY, y, color);
      canvas.hLine(x0, x1, y, color);
      prevY = y;
    }
    return;
  }
  if (binPx >= 1.5) {
    const xs = new Float64Array(n);
    const ys = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      xs[i] = xToPx(energies[i]!);
      ys[i] = yToPx(Number(s.counts[i]));
    }
    canvas.polyline(xs, ys, color);
    return;
  }
  // More bins than pixel columns: draw each column's min..max span and join neighbouring columns, so
  // a one-bin peak is never dropped by subsampling.
  let col = NaN, first = 0, lo = 0, hi = 0, last = 0;
  let prevCol = NaN, prevLast = 0;
  const flush = () => {
    if (!Number.isFinite(col)) return;
    if (Number.isFinite(prevCol)) canvas.line(prevCol, prevLast, col, first, color);
    canvas.vLine(col, lo, hi, color);
    prevCol = col;
    prevLast = last;
  };
  for (let i = 0; i < n; i++) {
    const c = Math.round(xToPx(energies[i]!));
    const y = yToPx(Number(s.counts[i]));
    if (c !== col) {
      flush();
      col = c;
      first = lo = hi = last = y;
    } else {
      lo = Math.min(lo, y);
      hi = Math.max(hi, y);
      last = y;
    }
  }
  flush();
}

function drawMarkerLabels(canvas: Canvas, layout: SpectrumLayout): void {
  for (const { marker, x, y, width } of layout.markerLabels) {
    // An opaque box: the marker line stops at its label, which reads as "this line is that label".
    canvas.fillRect(x - 2, y - 1, width + 4, GLYPH_ASCENT + 3, [255, 255, 255]);
    canvas.text(marker.label, x, y, readableOnWhite(markerColor(marker)));
  }
}

function drawHeader(canvas: Canvas, layout: SpectrumLayout, opts: SpectrumPngOptions): void {
  const { plot } = layout;
  if (opts.title) canvas.text(opts.title, plot.x, PAD, TEXT, { scale: TITLE_SCALE });
  const legendW = legendWidth(opts);
  if (legendW === 0) return;
  let x = plot.x + plot.w - legendW;
  const midY = layout.legendMidY;
  opts.series.forEach((s, i) => {
    const color = s.color ?? SERIES_PALETTE[i % SERIES_PALETTE.length]!;
    canvas.fillRect(x, midY - 1, LEGEND_SWATCH, 2, color);
    x += LEGEND_SWATCH + 4;
    x += canvas.text(s.label, x, midY, TEXT, { baseline: 'middle' }) + LEGEND_GAP;
  });
}

function legendWidth(opts: SpectrumPngOptions): number {
  if (opts.series.length === 0 || (opts.series.length === 1 && !opts.series[0]!.label)) return 0;
  return opts.series.reduce((w, s) => w + LEGEND_SWATCH + 4 + textWidth(s.label) + LEGEND_GAP, -LEGEND_GAP);
}

function xRange(opts: SpectrumPngOptions): [number, number] {
  if (opts.xRangeKeV && opts.xRangeKeV[1] > opts.xRangeKeV[0]) return [opts.xRangeKeV[0], opts.xRangeKeV[1]];
  const e = opts.energiesKeV;
  const n = e.length;
  if (n === 0) return [0, 1];
  const lo = binEdges(e, n, 0)[0];
  const hi = binEdges(e, n, n - 1)[1];
  return hi > lo ? [lo, hi] : [lo - 0.5, lo + 0.5];
}

/** Count range: linear from 0 (or the negative minimum) to a nice value above the maximum; log by decades.
 * `headroom` is the fraction of the plot height kept free above the data for marker labels. */
function yRange(opts: SpectrumPngOptions, xMin: number, xMax: number, logY: boolean, headroom: number): [number, number] {
  let max = -Infinity, min = Infinity, minPositive = Infinity;
  for (const s of opts.series) {
    const n = Math.min(s.counts.length, opts.energiesKeV.length);
    for (let i = 0; i < n; i++) {
      const e = opts.energiesKeV[i]!;
      if (e < xMin || e > xMax) continue;
      const v = Number(s.counts[i]);
      if (!Number.isFinite(v)) continue;
      if (v > max) max = v;
      if (v < min) min = v;
      if (v > 0 && v < minPositive) minPositive = v;
    }
  }
  if (logY) {
    if (!Number.isFinite(minPositive)) return [0.1, 10];
    // Start a bit below the smallest count so single-count bins sit above the axis; at most 8 decades.
    const loLog = Math.max(Math.floor(Math.log10(minPositive) - 0.3), Math.ceil(Math.log10(max)) - 8);
    const topLog = Math.log10(max * 1.2);
    const hiLog = loLog + (topLog - loLog) / (1 - headroom);
    return [10 ** loLog, 10 ** Math.max(hiLog, loLog + 1)];
  }
  if (!Number.isFinite(max)) return [0, 1];
  const lo = Math.min(0, min);
  // The top is not rounded to a tick: a nice ceiling can waste up to half the plot height.
  return [lo, max > lo ? lo + ((max - lo) * 1.05) / (1 - headroom) : lo + 1];
}

/** Lower and upper edge of bin i, halfway to the neighbouring centres. */
function binEdges(e: ArrayLike<number>, n: number, i: number): [number, number] {
  const c = e[i]!;
  const left = i > 0 ? (c - e[i - 1]!) / 2 : n > 1 ? (e[1]! - e[0]!) / 2 : 0.5;
  const right = i < n - 1 ? (e[i + 1]! - c) / 2 : n > 1 ? (e[n - 1]! - e[n - 2]!) / 2 : 0.5;
  return [c - left, c + right];
}

function markerColor(m: SpectrumMarker): RGB {
  return m.color ?? (m.dashed ? DEFAULT_DASHED_MARKER_COLOR : DEFAULT_MARKER_COLOR);
}

/** Darkens light colours so marker labels stay legible on the white label box. */
function readableOnWhite(c: RGB): RGB {
  const luma = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
  if (luma <= 140) return c;
  const f = 140 / luma;
  return [Math.round(c[0] * f), Math.round(c[1] * f), Math.round(c[2] * f)];
}
