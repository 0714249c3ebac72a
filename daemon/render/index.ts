// Public API of the renderer: PNG images of maps and spectra, drawn in pure TypeScript (pngjs only).
export { Canvas, encodePng, writePng, BLACK, WHITE } from './canvas.js';
export type { RGB, TextOptions, HAlign, VAlign, DashOptions } from './canvas.js';
export { GLYPH_ADVANCE, GLYPH_ASCENT, GLYPH_DESCENT, GLYPH_HEIGHT, GLYPH_WIDTH, LINE_HEIGHT, textWidth, hasGlyph } from './font.js';
export {
  applyColormap,
  colormapColor,
  colormapLut,
  COLORMAP_NAMES,
  isColormapName,
  makeNormalizer,
  NO_DATA_COLOR,
  noDataColor,
} from './colormap.js';
export type { ColormapName, ColormapOptions } from './colormap.js';
export {
  autoMapScale,
  drawMapPanel,
  layoutMapPanel,
  renderMapCanvas,
  renderMapGridCanvas,
  renderMapGridPng,
  renderMapPng,
} from './map-png.js';
export type { MapGridEntry, MapGridOptions, MapPanelLayout, MapPngOptions, Rect } from './map-png.js';
export { layoutSpectrum, renderSpectrumCanvas, renderSpectrumPng, SERIES_PALETTE } from './spectrum-png.js';
export type { MarkerLabel, SpectrumLayout, SpectrumMarker, SpectrumPngOptions, SpectrumSeries } from './spectrum-png.js';
export { linearTicks, logTicks, formatNumber } from './ticks.js';
export type { Tick } from './ticks.js';
export { displayRange, percentile } from './value-range.js';
export type { DisplayRange } from './value-range.js';
