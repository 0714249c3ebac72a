// The configuration schema: every key, its type, range and default. One YAML file overrides any subset.
// zod gives the TypeScript type (GemxrfConfig) and the validation with key paths from one definition.
import { z } from 'zod';
import { shippedModelsDir } from './package-paths.js';

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const positive = z.number().positive();
const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port');

export const instrumentSchema = z.strictObject({
  /** Used in MQTT topics (gemxrf/<id>/...) and file names: letters, digits, '-' and '_' only. */
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ only (1-64)').default('gemxrf-1'),
  name: z.string().max(200).default('GEM full-field XRF imager'),
});

/** One readout ASIC's 32 channels mapped onto consecutive strips of one plane. */
export const channelMapEntrySchema = z.strictObject({
  board: int(0, 15),
  asic: int(0, 3),
  plane: int(0, 1),
  firstStrip: int(0, 4095),
  /** +1: channel c -> firstStrip + c; -1: channel c -> firstStrip - c (flipped connector). */
  step: z.union([z.literal(1), z.literal(-1)]).default(1),
});

/** Default wiring: board 0 reads the X plane, board 1 the Y plane, ASIC a covers strips 32a..32a+31. */
function defaultChannelMap() {
  const map: Array<z.infer<typeof channelMapEntrySchema>> = [];
  for (let board = 0; board < 2; board++)
    for (let asic = 0; asic < 4; asic++) map.push({ board, asic, plane: board, firstStrip: asic * 32, step: 1 });
  return map;
}

export const detectorSchema = z.strictObject({
  stripsPerPlane: int(8, 4096).default(128),
  stripPitchMm: positive.max(10).default(0.8),
  /** Image grid the cube is built on (pixels). */
  width: int(1, 1024).default(100),
  height: int(1, 1024).default(100),
  adcBits: int(8, 16).default(12),
  channelMap: z.array(channelMapEntrySchema).default(defaultChannelMap),
});

export const calibrationSchema = z.strictObject({
  /** E(keV) = offset + gain * adc + quadratic * adc^2 */
  gainKeVPerAdc: positive.default(0.005),
  offsetKeV: z.number().min(-10).max(10).default(0),
  quadraticKeVPerAdc2: z.number().default(0),
  /** Per-pixel relative gain (Float32 width x height, from `gemxrf calibrate`); null: uniform. */
  gainMapFile: z.string().nullable().default(null),
});

export const sourceSchema = z.strictObject({
  /** Transport URL: serial://, usb://, tcp://, udp://, file:// (see README). */
  url: z.string().min(1).default('tcp://127.0.0.1:48300'),
  reconnectMinMs: int(10, 600_000).default(200),
  reconnectMaxMs: int(10, 600_000).default(10_000),
})
  .refine((s) => s.reconnectMaxMs >= s.reconnectMinMs, { message: 'reconnectMaxMs must be at least reconnectMinMs', path: ['reconnectMaxMs'] });

export const histogramSchema = z
  .strictObject({
    channels: int(16, 4096).default(256),
    eMinKeV: z.number().min(0).max(100).default(0),
    eMaxKeV: z.number().min(0.1).max(200).default(20.48),
  })
  .refine((h) => h.eMaxKeV > h.eMinKeV, { message: 'eMaxKeV must be above eMinKeV', path: ['eMaxKeV'] });

export const formationSchema = z.strictObject({
  /** Hits further apart in time than this start a new cluster (ns). */
  timeGapNs: positive.default(100),
  /** Strips further apart than this (missing strips + 1) start a new cluster. */
  stripGap: int(1, 64).default(2),
  maxClusterStrips: int(1, 256).default(16),
  maxClusterSpanNs: positive.default(500),
  /** X and Y clusters closer in time than this are candidates for one event (ns). */
  matchWindowNs: positive.default(200),
  /** Accepted X/Y charge ratio. */
  chargeRatioMin: positive.default(0.5),
  chargeRatioMax: positive.default(2.0),
  /** A cluster is released once both planes' clocks passed its end plus this latency (ns). */
  latencyNs: positive.default(2000),
  /** A hit this much older than the time already settled means the device clock restarted (ns, 1 s). */
  clockResetNs: positive.default(1e9),
})
  .refine((f) => f.chargeRatioMax >= f.chargeRatioMin, { message: 'chargeRatioMax must be at least chargeRatioMin', path: ['chargeRatioMax'] })
  .refine((f) => f.clockResetNs > f.latencyNs, { message: 'clockResetNs must be above latencyNs (a late hit is no clock reset)', path: ['clockResetNs'] });

export const mqttSchema = z.strictObject({
  /** External broker URL (mqtt://, mqtts://, ws://, wss://); null starts the embedded broker. */
  url: z.string().nullable().default(null),
  baseTopic: z.string().regex(/^[^#+\s]+$/, 'no wildcards or spaces').default('gemxrf'),
  /** auto: MQTT 5, or 3.1.1 for the rest of the run when the broker refuses 5 (it speaks 3.1.1 only);
   *  5: MQTT 5 only (a broker that refuses it fails the start); 4: MQTT 3.1.1 only. Before 'auto' existed the
   *  default was 5; configs that say 5 or 4 stay valid. The embedded broker (aedes) always gets 3.1.1. */
  protocolVersion: z.union([z.literal('auto'), z.literal(5), z.literal(4)]).default('auto'),
  username: z.string().nullable().default(null),
  password: z.string().nullable().default(null),
  ca: z.string().nullable().default(null),
  cert: z.string().nullable().default(null),
  key: z.string().nullable().default(null),
  embedded: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: int(0, 65535).default(1883),
      wsPort: int(0, 65535).default(8883),
      username: z.string().nullable().default(null),
      password: z.string().nullable().default(null),
    })
    .prefault({}),
});

export const storageSchema = z.strictObject({
  dataDir: z.string().min(1).default('./data'),
  checkpointSeconds: positive.max(3600).default(30),
  /** A recording is flushed to disk at least this often (s): a crash loses at most this much. */
  flushSeconds: positive.max(10).default(1),
  /** A stopped scan's final maps (roi, fit, model, presence) are saved into its folder as
   *  scans/<id>/maps/<method>/<Element>.npy plus maps/index.json (daemon/scan/save-maps.ts). */
  saveMaps: z.boolean().default(true),
  /** Free space (GiB, 2^30 bytes) the data directory must keep: below it scan/start is refused, and a running
   *  scan is stopped (reason 'disk') while its recording, final checkpoint and maps still fit. 0: no guard. */
  minFreeGB: z.number().min(0).max(1_000_000).default(2),
});

const elementSymbol = z.string().regex(/^[A-Z][a-z]?$/, 'an element symbol such as Fe');

export const mapsSchema = z.strictObject({
  methods: z.array(z.enum(['roi', 'fit', 'model'])).default(['roi', 'fit', 'model']),
  elements: z.array(elementSymbol).min(1).default(['Ca', 'Ti', 'Cr', 'Mn', 'Fe', 'Co', 'Cu', 'Zn', 'Hg', 'Pb']),
  cadenceSeconds: positive.max(3600).default(2),
  /** Deadline (s) of one roi/fit map computation (and of a map worker's start-up, at least 10 s): a worker still
   *  busy then (hung) is terminated, that method has no maps for the rest of the scan. Far above the slowest fit
   *  (~2 s at 256^3). */
  workerTimeoutSeconds: positive.max(3600).default(60),
  /** roi method: the continuum under the windows. 'snip' (default) subtracts a SNIP background per pixel spectrum
   *  (pipelines/maps/snip-background.ts) before the window sums; 'none': gross window sums (the old maps). */
  roi: z
    .strictObject({
      background: z.enum(['none', 'snip']).default('snip'),
      /** SNIP clipping window half-width in detector FWHMs at each energy. */
      snipWidthFwhm: positive.max(5).default(0.7),
      /** Moving-average half-width (FWHMs) applied before clipping; 0: none. */
      snipSmoothFwhm: z.number().min(0).max(5).default(0.5),
    })
    .prefault({}),
});

export const inferenceSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Model name in modelsDir (NAME.onnx + NAME.json) or a path to an .onnx file. */
  model: z.string().min(1).default('lt-vit'),
  // Default: the installed package's models/ (absolute), so the shipped models are found from any working
  // directory; a relative path given here is taken from the working directory.
  modelsDir: z.string().default(shippedModelsDir()),
  threads: int(1, 64).default(1),
  /** Re-infer a pixel when its counts grew by this fraction since its last inference ... */
  relativeThreshold: positive.default(0.25),
  /** ... and by at least this many counts. */
  absoluteThreshold: int(1, 1_000_000).default(50),
  /** Time budget of one scheduling cycle (ms). */
  cycleBudgetMs: positive.max(10_000).default(250),
  /** Counts a spectrum needs to be inferred: low-count pixels are inferred on summed 4x4, then 2x2 blocks. */
  minCounts: int(1, 1_000_000).default(100),
  /** Spectra per model run (smaller when a run would overshoot the cycle budget). */
  batchSize: int(1, 65536).default(512),
  /** Deadline (s) of a graph load (scan start, model/select) and of one model run (a batch of a cycle or of the
   *  final pass): a worker still inside it then (a graph that never returns) is given up, the scan has no more
   *  model maps (live/stats inference.lastError says why), model/select answers an error. Fractions allowed
   *  (tests); at least 0.2 s. */
  workerTimeoutSeconds: z.number().min(0.2).max(3600).default(60),
});

export const simulatorSchema = z.strictObject({
  /** Start the simulated detector in-process (it still reaches the daemon through its transport). */
  enabled: z.boolean().default(true),
  phantom: z.string().min(1).default('phantom-painting'),
  /** Events per second. */
  rate: positive.max(100_000_000).default(200_000),
  level: z.enum(['events', 'hits']).default('events'),
  /** udp: gemroc-udp packets (needs level hits); the daemon binds its udp source on `listen` and the emulator sends there. */
  transport: z.enum(['tcp', 'udp', 'serial']).default('tcp'),
  /** tcp: where the emulator listens; udp: where the daemon's socket binds (port 0: any free port). */
  listen: hostPort.default('127.0.0.1:48300'),
  seed: int(0, 2 ** 31 - 1).default(1),
});

export const httpSchema = z.strictObject({
  enabled: z.boolean().default(true),
  host: z.string().default('127.0.0.1'),
  port: int(0, 65535).default(8080),
  /** The MQTT WebSocket URL the dashboard page connects to (ws:// or wss://). null: the embedded broker's
   *  WebSocket listener, or mqtt.url when that is a ws(s) URL. Needed with an external broker on mqtt://. */
  mqttWsUrl: z.string().regex(/^wss?:\/\/\S+$/, 'a ws:// or wss:// URL').nullable().default(null),
  /** Folder of the built dashboard page; null: this package's web/dist (`npm run build:web`). */
  webRoot: z.string().min(1).nullable().default(null),
});

export const logSchema = z.strictObject({
  level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

export const configSchema = z.strictObject({
  instrument: instrumentSchema.prefault({}),
  detector: detectorSchema.prefault({}),
  calibration: calibrationSchema.prefault({}),
  source: sourceSchema.prefault({}),
  histogram: histogramSchema.prefault({}),
  formation: formationSchema.prefault({}),
  mqtt: mqttSchema.prefault({}),
  storage: storageSchema.prefault({}),
  maps: mapsSchema.prefault({}),
  inference: inferenceSchema.prefault({}),
  simulator: simulatorSchema.prefault({}),
  http: httpSchema.prefault({}),
  log: logSchema.prefault({}),
});

export type GemxrfConfig = z.infer<typeof configSchema>;
export type DetectorConfig = GemxrfConfig['detector'];
export type CalibrationConfig = GemxrfConfig['calibration'];
export type HistogramConfig = GemxrfConfig['histogram'];
export type FormationConfig = GemxrfConfig['formation'];
export type ChannelMapEntry = z.infer<typeof channelMapEntrySchema>;
