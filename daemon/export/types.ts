// What an export holds: the cube, its maps, and the metadata that makes the files self-explaining.
import type { MapSet } from '../../pipelines/maps/types.js';

export type ExportFormat = 'npy' | 'hdf5' | 'png';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['npy', 'hdf5', 'png'];

/** The part of the cube an export reads (pipelines/cube's Cube satisfies it). */
export interface ExportCube {
  width: number;
  height: number;
  channels: number;
  eMinKeV: number;
  eMaxKeV: number;
  /** height x width x channels, pixel-major: (y * width + x) * channels + ch */
  counts: Uint32Array;
}

/** A map set in an export; `name` tells apart sets of the same method (e.g. model net counts vs presence). */
export interface ExportMapSet extends MapSet {
  /** File/group name (letters, digits, - and _); default: the method. */
  name?: string;
  /** Unit of the values, e.g. 'counts', 'probability', 'fraction'. */
  unit?: string;
}

export interface ExportMetadata {
  /** ADC -> keV (E = offset + gain * adc + quadratic * adc^2) and the gain map used, if any. */
  energyCalibration?: Record<string, unknown>;
  /** Detector geometry: image grid, strips, pitch... */
  geometry?: Record<string, unknown>;
  /** The model card of the model maps (the contract: elements, grid, metrics). */
  modelCard?: unknown;
  /** Scan id, name, operator, times, stop reason, counters... */
  scan?: Record<string, unknown>;
  /** Anything else worth keeping (software version, config snapshot). */
  extra?: Record<string, unknown>;
}

export interface ExportInput {
  cube: ExportCube;
  maps: ExportMapSet[];
  /** Default: summed from the cube. */
  sumSpectrum?: Float64Array;
  /** Events per pixel, height x width. Default: summed from the cube. */
  countMap?: Uint32Array;
  metadata: ExportMetadata;
  formats: readonly ExportFormat[];
  outDir: string;
  /** Base name of the HDF5 file (default 'scan' -> scan.h5). */
  baseName?: string;
}

export interface ExportResult {
  outDir: string;
  /** Files written, relative to outDir. */
  files: string[];
  bytes: number;
}
