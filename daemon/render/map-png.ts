// Elemental map images: the map scaled up with nearest neighbour (pixels stay square: they are detector
// pixels), a vertical colorbar with tick labels, the element / method title, and a footer with the map
// size and a no-data swatch. One map per PNG, or a grid of all elements in one PNG.
import { Canvas, encodePng, type RGB } from './canvas.js';
import { applyColormap, colormapLut, makeNormalizer, noDataColor, type ColormapName } from './colormap.js';
import { GLYPH_ASCENT, GLYPH_HEIGHT, textWidth } from './font.js';
import { linearTicks, logTicks, type Tick } from './ticks.js';
import { displayRange } from './value-range.js';

export interface MapPngOptions {
  /** Label drawn above the map, e.g. 'Cu — fit'. */
  title: string;
  /** Unit of the values, written along the colorbar, e.g. 'counts' or 'µg/cm²'. */
  unit?: string;
  /** Image pixels per map pixel; default chooses an integer so the map is about 400 px across. */
  scale?: number;
  colormap?: ColormapName;
  /** Bottom of the colour scale; default 0 (or the data minimum when that is negative). */
  min?: number;
  /** Top of the colour scale; default the `highPercentile` of the finite values. */
  max?: number;
  /** Percentile used for the default max (99.5). */
  highPercentile?: number;
  /** Logarithmic colour scale (values <= 0 get the bottom colour). */
  log?: boolean;
}

export interface MapGridEntry {
  title: string;
  data: Float32Array | Float64Array;
  unit?: string;
}

export interface MapGridOptions extends Omit<MapPngOptions, 'title' | 'min' | 'max'> {
  /** Heading above the whole grid, e.g. 'scan 42 — fit'. */
  title?: string;
  /** Panels per row; default about square. */
  columns?: number;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Where everything of one map panel goes, relative to the panel's top-left corner. */
export interface MapPanelLayout {
  width: number;
  height: number;
  scale: number;
  /** The colour-mapped map pixels (inside a one-pixel frame). */
  image: Rect;
  colorbar: Rect;
  /** Colour-scale range actually used (after defaults and log adjustments). */
  min: number;
  max: number;
  log: boolean;
  ticks: Tick[];
  noData: number;
  /** Values above max / below min exist: the colorbar gets a triangle at that end. */
  clippedHigh: boolean;
  clippedLow: boolean;
}

const PAD = 10;
const TITLE_SCALE = 2;
const TITLE_GAP = 8;
const COLORBAR_GAP = 12;
const COLORBAR_WIDTH = 14;
const TICK_LENGTH = 3;
const MIN_COLORBAR_HEIGHT = 80;
const FOOTER_GAP = 6;
const EXTENSION_HEIGHT = 6;

const TEXT: RGB = [30, 30, 30];
const FRAME: RGB = [70, 70, 70];
const MUTED: RGB = [110, 110, 110];

/** The integer scale that makes the larger map side about `targetPx` image pixels (at least 1). */
export function autoMapScale(width: number, height: number, targetPx = 400): number {
  return Math.max(1, Math.round(targetPx / Math.max(1, width, height)));
}

/** Computes the panel geometry and colour scale for one map (exported so tests and the web page agree). */
export function layoutMapPanel(
  map: ArrayLike<number>,
  width: number,
  height: number,
  opts: MapPngOptions,
  targetPx = 400,
): MapPanelLayout {
  checkMapSize(map, width, height);
  const scale = Math.max(1, Math.round(opts.scale ?? autoMapScale(width, height, targetPx)));
  const range = displayRange(map, { min: opts.min, max: opts.max, highPercentile: opts.highPercentile });
  let { min, max } = range;
  let clippedHigh = range.clippedHigh;
  const log = opts.log === true;
  if (log) {
    // A log scale needs a positive bottom: the smallest positive value, but no more than 4 decades down.
    if (!(max > 0)) max = 1;
    if (!(min > 0)) min = Math.max(smallestPositive(map) ?? max / 1e3, max / 1e4);
    // A sparse map (a few lit pixels among zeros): the percentile top can fall below the smallest positive
    // value, which would invert the scale and paint the lit pixels in the bottom colour. Use the true
    // maximum then, and keep a decade below a map whose positive values are all equal.
    if (!(max > min) && opts.max === undefined) {
      const top = largestFinite(map);
      if (top !== undefined && top > max) {
        max = top;
        clippedHigh = false;
      }
    }
    if (!(max > min) && opts.min === undefined) min = max / 10;
  }
  const iw = width * scale;
  const ih = height * scale;
  const titleH = GLYPH_HEIGHT * TITLE_SCALE;
  const image: Rect = { x: PAD + 1, y: PAD + titleH + TITLE_GAP + 1, w: iw, h: ih };
  const cbh = Math.max(ih, MIN_COLORBAR_HEIGHT);
  const colorbar: Rect = { x: image.x + iw + 1 + COLORBAR_GAP, y: image.y, w: COLORBAR_WIDTH, h: cbh };
  const ticks = colorbarTicks(min, max, log, cbh);
  const labelW = Math.max(0, ...ticks.map((t) => textWidth(t.label)));
  const unitW = opts.unit ? GLYPH_HEIGHT + 6 : 0;
  const right = colorbar.x + colorbar.w + TICK_LENGTH + 3 + labelW + unitW + PAD;
  const footerY = image.y + Math.max(ih, cbh) + 1 + FOOTER_GAP;
  return {
    width: Math.max(right, textWidth(opts.title, TITLE_SCALE) + 2 * PAD, footerWidth(width, height, range.noData) + 2 * PAD),
    height: footerY + GLYPH_HEIGHT + PAD,
    scale,
    image,
    colorbar,
    min,
    max,
    log,
    ticks,
    noData: range.noData,
    clippedHigh,
    clippedLow: range.clippedLow,
  };
}

/** Draws one map panel with its top-left corner at (ox, oy). */
export function drawMapPanel(
  canvas: Canvas,
  ox: number,
  oy: number,
  map: ArrayLike<number>,
  width: number,
  height: number,
  opts: MapPngOptions,
  layout: MapPanelLayout = layoutMapPanel(map, width, height, opts),
): void {
  const name = opts.colormap ?? 'viridis';
  const { image, colorbar, min, max, log } = layout;
  canvas.text(opts.title, ox + PAD, oy + PAD, TEXT, { scale: TITLE_SCALE });

  const rgba = applyColormap(map, width, height, { min, max, log, name });
  canvas.drawImage(rgba, width, height, ox + image.x, oy + image.y, layout.scale);
  canvas.strokeRect(ox + image.x - 1, oy + image.y - 1, image.w + 2, image.h + 2, FRAME);

  // Colorbar: top row is the top of the scale. Tick positions use the same normaliser as the image.
  const lut = colormapLut(name);
  const cx = ox + colorbar.x;
  const cy = oy + colorbar.y;
  for (let r = 0; r < colorbar.h; r++) {
    const t = colorbar.h > 1 ? 1 - r / (colorbar.h - 1) : 0;
    const k = Math.round(t * 255) * 3;
    canvas.fillRect(cx, cy + r, colorbar.w, 1, [lut[k]!, lut[k + 1]!, lut[k + 2]!]);
  }
  canvas.strokeRect(cx - 1, cy - 1, colorbar.w + 2, colorbar.h + 2, FRAME);
  // Matplotlib-style extension triangles: "there are values beyond this end, shown in this colour".
  if (layout.clippedHigh) drawExtension(canvas, cx, cy - 2, colorbar.w, -1, [lut[765]!, lut[766]!, lut[767]!]);
  if (layout.clippedLow) drawExtension(canvas, cx, cy + colorbar.h + 1, colorbar.w, 1, [lut[0]!, lut[1]!, lut[2]!]);
  const normalize = makeNormalizer({ min, max, log });
  const labelX = cx + colorbar.w + 1 + TICK_LENGTH + 2;
  let labelW = 0;
  for (const tick of layout.ticks) {
    const y = cy + Math.round((1 - normalize(tick.value)) * (colorbar.h - 1));
    canvas.hLine(cx + colorbar.w + 1, cx + colorbar.w + TICK_LENGTH, y, FRAME);
    labelW = Math.max(labelW, canvas.text(tick.label, labelX, y, TEXT, { baseline: 'middle' }));
  }
  if (opts.unit) {
    // Rotated so long units fit beside the bar; reads bottom to top, centred on the bar.
    const ux = labelX + labelW + 6;
    canvas.text(opts.unit, ux, cy + Math.floor(colorbar.h / 2), TEXT, { rotate: 90, align: 'center' });
  }

  // Footer: map size, and a swatch explaining the no-data colour when the map has NaN pixels.
  const fy = oy + image.y + Math.max(image.h, colorbar.h) + 1 + FOOTER_GAP;
  const sizeText = `${width}×${height} px`;
  let fx = ox + PAD + canvas.text(sizeText, ox + PAD, fy, MUTED);
  if (layout.noData > 0) {
    fx += 12;
    canvas.fillRect(fx, fy, GLYPH_ASCENT, GLYPH_ASCENT, noDataColor(name));
    canvas.strokeRect(fx, fy, GLYPH_ASCENT, GLYPH_ASCENT, FRAME);
    canvas.text('no data', fx + GLYPH_ASCENT + 4, fy, MUTED);
  }
}

/** One map as a canvas (for composing into larger images). */
export function renderMapCanvas(map: ArrayLike<number>, width: number, height: number, opts: MapPngOptions): Canvas {
  const layout = layoutMapPanel(map, width, height, opts);
  const canvas = new Canvas(layout.width, layout.height);
  drawMapPanel(canvas, 0, 0, map, width, height, opts, layout);
  return canvas;
}

/** One map as a PNG: scaled map, colorbar with ticks, title and footer. `map` is row-major, width × height,
 * with row 0 drawn at the top. */
export function renderMapPng(map: ArrayLike<number>, width: number, height: number, opts: MapPngOptions): Buffer {
  return encodePng(renderMapCanvas(map, width, height, opts));
}

/**
 * Several maps of the same size in one PNG, each with its own colour scale (element concentrations
 * differ by orders of magnitude, so a shared scale would hide the minor elements).
 */
export function renderMapGridPng(maps: readonly MapGridEntry[], width: number, height: number, opts: MapGridOptions = {}): Buffer {
  return encodePng(renderMapGridCanvas(maps, width, height, opts));
}

export function renderMapGridCanvas(
  maps: readonly MapGridEntry[],
  width: number,
  height: number,
  opts: MapGridOptions = {},
): Canvas {
  const headingH = opts.title ? PAD + GLYPH_HEIGHT * TITLE_SCALE : 0;
  if (maps.length === 0) {
    const canvas = new Canvas(Math.max(200, textWidth(opts.title ?? '', TITLE_SCALE) + 2 * PAD), headingH + 40);
    if (opts.title) canvas.text(opts.title, PAD, PAD, TEXT, { scale: TITLE_SCALE });
    canvas.text('no maps', PAD, headingH + PAD, MUTED, { scale: 2 });
    return canvas;
  }
  const columns = Math.max(1, Math.min(maps.length, Math.round(opts.columns ?? Math.ceil(Math.sqrt(maps.length)))));
  const rows = Math.ceil(maps.length / columns);
  const targetPx = maps.length > 1 ? 240 : 400;
  const panelOpts = maps.map((m): MapPngOptions => ({ ...opts, title: m.title, unit: m.unit ?? opts.unit }));
  const layouts = maps.map((m, i) => layoutMapPanel(m.data, width, height, panelOpts[i]!, targetPx));
  const cellW = Math.max(...layouts.map((l) => l.width));
  const cellH = Math.max(...layouts.map((l) => l.height));
  const canvas = new Canvas(Math.max(cellW * columns, textWidth(opts.title ?? '', TITLE_SCALE) + 2 * PAD), headingH + cellH * rows);
  if (opts.title) canvas.text(opts.title, PAD, PAD, TEXT, { scale: TITLE_SCALE });
  maps.forEach((m, i) => {
    const ox = (i % columns) * cellW;
    const oy = headingH + Math.floor(i / columns) * cellH;
    drawMapPanel(canvas, ox, oy, m.data, width, height, panelOpts[i]!, layouts[i]!);
  });
  return canvas;
}

/** A small triangle of `color` pointing away from the bar, starting at row y and growing in `dir`. */
function drawExtension(canvas: Canvas, x: number, y: number, w: number, dir: 1 | -1, color: RGB): void {
  const rows = EXTENSION_HEIGHT;
  for (let r = 0; r < rows; r++) {
    const half = Math.round(((rows - r) / rows) * (w / 2 + 1));
    const mid = x + w / 2;
    canvas.hLine(Math.round(mid - half), Math.round(mid + half) - 1, y + dir * r, color);
    // Dark edge pixels keep a light top colour (viridis yellow) visible on white.
    canvas.setPixel(Math.round(mid - half) - 1, y + dir * r, FRAME);
    canvas.setPixel(Math.round(mid + half), y + dir * r, FRAME);
  }
}

function colorbarTicks(min: number, max: number, log: boolean, barHeight: number): Tick[] {
  if (log) {
    const decades = logTicks(min, max);
    if (decades.length >= 2) return decades;
  }
  // About one labelled tick per 40 px of bar keeps the labels apart.
  return linearTicks(min, max, Math.max(2, Math.floor(barHeight / 40)));
}

function footerWidth(width: number, height: number, noData: number): number {
  return textWidth(`${width}×${height} px`) + (noData > 0 ? 12 + GLYPH_ASCENT + 4 + textWidth('no data') : 0);
}

function smallestPositive(values: ArrayLike<number>): number | undefined {
  let best = Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > 0 && v < best) best = v;
  }
  return Number.isFinite(best) ? best : undefined;
}

function largestFinite(values: ArrayLike<number>): number | undefined {
  let best = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > best && v !== Infinity) best = v;
  }
  return best > -Infinity ? best : undefined;
}

function checkMapSize(map: ArrayLike<number>, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`map size must be positive integers, got ${width}×${height}`);
  }
  if (map.length !== width * height) {
    throw new RangeError(`map has ${map.length} values, expected ${width}×${height} = ${width * height}`);
  }
}
