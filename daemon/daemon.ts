// The daemon process: storage, crash recovery, MQTT (embedded broker or external), the detector link (and the
// in-process simulator, which reaches the daemon only through its transport), the scan manager and the live
// publisher, wired together. startDaemon() returns once everything listens; stop() shuts down cleanly.
import { accessSync, constants, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Subscription } from 'rxjs';
import type { GemxrfConfig } from '../config/index.js';
import { openTransport } from '../drivers/open-transport.js';
import type { Transport, TransportStatus } from '../drivers/transport.js';
import { withReconnectParams } from '../drivers/transports/index.js';
import type { UdpStreamCounters } from '../drivers/transports/udp.js';
import '../drivers/file/file-transport.js';
import { startEmulator, type RunningEmulator } from '../simulator/emulators/index.js';
import { redactSecrets } from '../config/redact.js';
import { registerModelRequests } from './inference/model-requests.js';
import { registerExportRequest } from './export/export-request.js';
import { ScanInference } from './inference/scan-inference.js';
import type { Logger } from './log.js';
import { MqttBridge } from './mqtt/bridge.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './mqtt/embedded-broker.js';
import { LivePublisher } from './publish/live-publisher.js';
import { MapMaker } from './publish/map-maker.js';
import { registerRequests } from './requests.js';
import { registerPixelRequest } from './pixel-request.js';
import { startDashboard } from './http/index.js';
import { recoverInterruptedScans, type RecoveredScan } from './scan/recovery.js';
import { cleanOrphanMapsTmp, MissingMaps, type MissingMapsResult } from './scan/missing-maps.js';
import { MapSaver } from './scan/save-maps.js';
import { ScanManager } from './scan/scan-manager.js';
import { ScanDb } from './storage/db.js';
import { sweepDeletedScans } from './storage/delete-scan.js';
import { DiskSpace } from './storage/disk-space.js';
import { writableProbe } from './storage/writable-probe.js';
import { roiBackgroundFromConfig } from '../pipelines/maps/roi.js';

export interface Daemon {
  readonly config: GemxrfConfig;
  readonly brokerUrl: string;
  readonly wsUrl: string | null;
  /** The dashboard page's URL (config `http`), null when disabled or its port could not be opened. */
  readonly httpUrl: string | null;
  readonly dataDir: string;
  readonly sourceUrl: string;
  readonly manager: ScanManager;
  readonly bridge: MqttBridge;
  readonly db: ScanDb;
  readonly publisher: LivePublisher;
  readonly recovered: RecoveredScan[];
  /** Stopped scans whose saved maps were missing, made after start-up in the background (storage.saveMaps;
   *  scan/missing-maps.ts): resolves when that pass ended (at once without saveMaps). */
  readonly missingMaps: Promise<MissingMapsResult[]>;
  stop(): Promise<void>;
}

/** Creates the data directory and proves it writable, so a bad path fails at start with its reason. */
export function prepareDataDir(dir: string): string {
  const abs = resolve(dir);
  try {
    mkdirSync(abs, { recursive: true });
    accessSync(abs, constants.W_OK);
    const probe = resolve(abs, `.write-test-${process.pid}`);
    writeFileSync(probe, 'ok');
    unlinkSync(probe);
  } catch (e) {
    throw new Error(`data directory ${abs} is not usable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return abs;
}

/** Waits (bounded) until a udp transport's socket is bound; its port, or the bind error. */
async function boundUdpPort(transport: Transport, timeoutMs = 5000): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const st = transport.status();
    if (st.state === 'open' && typeof st.port === 'number') return st.port;
    if (Date.now() > end) throw new Error(`source ${transport.url}: udp socket not bound within ${timeoutMs} ms${st.error ? ` (${st.error})` : ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A udp link's packet accounting for state: datagrams, kernel drops, and per board its packets and the
 *  packets missing from its counter, since the link opened (the scan's own counts are in scan.gemroc). */
function udpLink(st: TransportStatus): Record<string, unknown> {
  if (!Array.isArray(st.streams)) return {};
  const streams = st.streams as UdpStreamCounters[];
  return {
    bind: st.bind,
    datagrams: st.datagrams,
    notGemroc: st.notGemroc,
    packetsLost: st.packetsLost,
    ...(st.kernelDrops !== undefined ? { kernelDrops: st.kernelDrops } : {}),
    boards: streams.map((b) => ({ board: b.board ?? null, sender: b.sender, packets: b.packets, lost: b.sequence?.framesLost ?? 0, duplicates: b.sequence?.duplicates ?? 0, reordered: b.sequence?.reordered ?? 0 })),
  };
}


export async function startDaemon(config: GemxrfConfig, log: Logger): Promise<Daemon> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const undo = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  try {
    const dataDir = prepareDataDir(config.storage.dataDir);
    const db = new ScanDb(resolve(dataDir, 'gemxrf.db'));
    cleanups.push(() => db.close());
    const recovered = await recoverInterruptedScans(dataDir, db, log, { saveMaps: config.storage.saveMaps });
    // Folders of deleted scans a previous run could not finish removing (scan/delete).
    await sweepDeletedScans(dataDir, log);
    // maps.tmp/ left by a daemon stopped mid-save (no save runs yet); the scans missing their maps get them
    // after start-up (below).
    cleanOrphanMapsTmp(dataDir, log);
    // Free space of the data directory: sampled every 2 s off the data path (health, state, storage.minFreeGB).
    const disk = new DiskSpace(dataDir, 2000);

    // MQTT: the embedded aedes broker speaks 3.1.1 only, so the bridge uses protocol 4 with it.
    let broker: EmbeddedBroker | null = null;
    let brokerUrl: string;
    let protocolVersion = config.mqtt.protocolVersion;
    if (config.mqtt.url === null) {
      const e = config.mqtt.embedded;
      broker = await startEmbeddedBroker({ host: e.host, port: e.port, wsPort: e.wsPort, username: e.username, password: e.password });
      cleanups.push(() => broker!.close());
      brokerUrl = broker.url;
      protocolVersion = 4;
    } else brokerUrl = config.mqtt.url;
    const creds = config.mqtt.url === null ? { username: config.mqtt.embedded.username, password: config.mqtt.embedded.password } : { username: config.mqtt.username, password: config.mqtt.password };
    const bridge = new MqttBridge({
      url: brokerUrl, baseTopic: config.mqtt.baseTopic, instrumentId: config.instrument.id, protocolVersion, ...creds,
      ca: config.mqtt.ca, cert: config.mqtt.cert, key: config.mqtt.key, log: (lv, msg) => log.log(lv, msg),
    });

    // The simulated detector, reached through its transport like real hardware. Over udp the daemon is the
    // receiver: its source binds simulator.listen (port 0: any free port) and the emulator sends there, so
    // the emulator starts once the link is open (below).
    let emulator: RunningEmulator | null = null;
    let sourceUrl = config.source.url;
    const udpSimulator = config.simulator.enabled && config.simulator.transport === 'udp';
    if (udpSimulator) {
      if (config.simulator.level !== 'hits') throw new Error('simulator.transport udp sends gemroc-udp packets, which carry strip hits: set simulator.level to hits');
      sourceUrl = `udp://${config.simulator.listen}?format=gemroc`;
    } else if (config.simulator.enabled) {
      const s = config.simulator;
      emulator = await startEmulator({
        transport: s.transport, level: s.level, rate: s.rate, phantom: s.phantom, seed: s.seed, listen: s.listen,
        width: config.detector.width, height: config.detector.height, stripsPerPlane: config.detector.stripsPerPlane,
        // On its own thread: generating events at MHz rates must not take the daemon's event loop.
        thread: true,
      });
      cleanups.push(async () => void (await emulator!.stop()));
      sourceUrl = emulator.address;
    }
    if (sourceUrl.startsWith('udp:')) {
      const format = new URL(sourceUrl).searchParams.get('format') ?? 'gemroc';
      if (format !== 'gemroc') throw new Error(`source ${sourceUrl}: the daemon reads udp sources as gemroc-udp packets (format=gemroc), got format=${format}`);
    }

    const manager = new ScanManager(config, dataDir, db, log, () => sourceUrl, disk);
    const endDiskWatch = disk.watch(2000, (s) => manager.onFreeSpace(s));
    cleanups.push(() => endDiskWatch());
    // roi and fit: a worker per method and scan (the main thread only publishes what they compute).
    const maker = new MapMaker(config.maps.methods, config.maps.elements, log, {
      workerTimeoutMs: config.maps.workerTimeoutSeconds * 1000,
      roi: roiBackgroundFromConfig(config.maps.roi),
    });
    // The model method: an inference engine (worker thread) per scan.
    const inference = new ScanInference(config, log);
    cleanups.push(() => inference.close());
    if (config.maps.methods.includes('model') && !config.inference.enabled) log.info('maps.methods has model but inference.enabled is false: no model maps');

    // The detector link: always open, so state shows the link; bytes reach a scan only while it acquires.
    // The URL carries the config's reconnect bounds (openTransport only takes a URL); state shows the plain URL.
    const transport: Transport = openTransport(withReconnectParams(sourceUrl, config.source));
    let linkEnded: string | null = null;
    let bytesIn = 0;
    const sub: Subscription = transport.open().subscribe({
      next: (chunk) => {
        bytesIn += chunk.length;
        manager.onChunk(chunk);
      },
      error: (e: unknown) => {
        linkEnded = `error: ${(e as Error).message}`;
        log.error('detector link failed', { source: sourceUrl, error: (e as Error).message });
      },
      complete: () => {
        linkEnded = 'stream ended';
        log.warn('detector stream ended', { source: sourceUrl });
      },
    });
    cleanups.push(async () => {
      sub.unsubscribe();
      await transport.close();
    });
    if (sourceUrl.startsWith('udp:') && (udpSimulator || new URL(sourceUrl).port === '0')) {
      // Port 0 (any free port): the socket is bound once the link is open, and state shows the port it got.
      const port = await boundUdpPort(transport);
      const u = new URL(sourceUrl);
      u.port = String(port);
      sourceUrl = u.toString();
    }
    if (udpSimulator) {
      // The emulator sends to the port the daemon's socket got.
      const host = config.simulator.listen.slice(0, config.simulator.listen.lastIndexOf(':'));
      const port = Number(new URL(sourceUrl).port);
      const s = config.simulator;
      emulator = await startEmulator({
        transport: 'udp', level: 'hits', rate: s.rate, phantom: s.phantom, seed: s.seed,
        target: `${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`, channelMap: config.detector.channelMap,
        width: config.detector.width, height: config.detector.height, stripsPerPlane: config.detector.stripsPerPlane,
        thread: true,
      });
      cleanups.push(async () => void (await emulator!.stop()));
    }

    const startedMs = Date.now();
    let last = { t: Date.now(), events: 0, bytes: 0, scan: '' };
    let rates = { eventsPerS: 0, bytesPerS: 0 };
    const sampleRates = () => {
      const now = Date.now();
      const p = manager.progress();
      const events = p?.events ?? 0;
      const scan = p?.id ?? '';
      const dt = (now - last.t) / 1000;
      if (dt >= 0.5) {
        rates = { eventsPerS: scan === last.scan ? Math.max(0, (events - last.events) / dt) : 0, bytesPerS: (bytesIn - last.bytes) / dt };
        last = { t: now, events, bytes: bytesIn, scan };
      }
      return rates;
    };
    const link = () => {
      const st = transport.status();
      return { url: sourceUrl, state: linkEnded ? 'closed' : st.state, error: st.error ?? linkEnded ?? null, bytesIn: st.bytesIn, reconnects: st.reconnects, ...udpLink(st) };
    };
    const storage = () => {
      const s = disk.last;
      const min = manager.minFreeBytes;
      return { freeBytes: s?.freeBytes ?? null, totalBytes: s?.totalBytes ?? null, minFreeBytes: min, lowSpace: s !== null && min > 0 && s.freeBytes < min };
    };
    const state = (): Record<string, unknown> => ({
      instrument: config.instrument.id,
      state: manager.state,
      scan: manager.progress(),
      lastScan: manager.lastScanId,
      error: manager.lastError,
      link: link(),
      rates: sampleRates(),
      storage: storage(),
      simulator: emulator ? { phantom: config.simulator.phantom, rate: config.simulator.rate, transport: config.simulator.transport, level: config.simulator.level } : null,
      updatedAt: new Date().toISOString(),
    });
    const publisher = new LivePublisher(
      bridge,
      {
        cube: () => (manager.lastCube && manager.lastScanId ? { cube: manager.lastCube, scanId: manager.lastScanId } : null),
        state,
        stats: () => {
          const p = manager.progress();
          return { state: manager.state, scan: p?.id ?? null, elapsedS: p?.elapsedS ?? 0, remainingS: p?.remainingS ?? null, events: p?.events ?? 0, targetCounts: p?.targetCounts ?? null,
            ...sampleRates(), framesOk: p?.framesOk ?? 0, framesLost: p?.framesLost ?? 0, crcErrors: p?.crcErrors ?? 0, bytesRecorded: p?.bytesRecorded ?? 0, checkpoints: p?.checkpoints ?? 0,
            gemroc: p?.gemroc ?? null, formation: p?.formation ?? null, link: link().state,
            maps: maker.stats(), inference: inference.stats(), time: new Date().toISOString() };
        },
        acquiring: () => manager.state === 'acquiring',
        modelMaps: (scanId) => inference.maps(scanId),
      },
      maker,
      { cadenceSeconds: config.maps.cadenceSeconds, log },
    );
    // storage.saveMaps: each stopped scan's final maps into its folder (scans/<id>/maps/), after its last
    // final publication, off the stop's path.
    const saver = new MapSaver({
      enabled: config.storage.saveMaps, dataDir, db, log, roiBackground: config.maps.roi.background,
      event: (ev) => void bridge.publish('event', { ...ev, time: new Date().toISOString() }, { qos: 1 }),
    });
    // Scans whose post-stop work (model final pass, maps save into the folder) is not done: not deletable yet.
    const finishing = new Set<string>();
    manager.on('state', () => void publisher.publishState());
    manager.on('event', (ev: { type: string; scan?: { id: string } | null; reason?: string }) => {
      void bridge.publish('event', { ...ev, time: new Date().toISOString() }, { qos: 1 });
      const scanId = ev.scan?.id;
      if (ev.type === 'scan-started') {
        if (scanId && manager.lastCube) inference.startScan(scanId, manager.lastCube);
        return;
      }
      // The classical maps' last update goes out at once; the model's final pass (every pixel at full
      // resolution, seconds on a large grid) follows off the main thread, then the maps go out once more.
      publisher.scanStopped();
      void publisher.publishMaps();
      if (!scanId) return;
      finishing.add(scanId);
      const finished = inference.finishScan(scanId, { finalPass: ev.reason !== 'shutdown' }).then(() => {
        if (manager.lastScanId === scanId && manager.state !== 'acquiring' && manager.state !== 'starting') {
          publisher.scanStopped();
          void publisher.publishMaps();
        }
      }).catch((e: unknown) => log.error('finishing the scan failed', { scan: scanId, error: (e as Error).message }));
      // The maps of the scan's last final publication (the model's final pass included when it ran). The save
      // is registered now, not once the final pass ended: the shutdown (saver.settled) waits for it even when
      // another scan is current by then.
      const saved = saver.save(scanId, async () => {
        await finished;
        return publisher.finalMaps(scanId);
      });
      void Promise.all([finished, saved]).finally(() => finishing.delete(scanId));
    });
    const storageWritable = writableProbe(dataDir);
    let exportRunning: () => string | null = () => null;
    registerRequests({
      bridge, manager, db, dataDir,
      scanBusy: (id) => (exportRunning() === id ? 'an export of it is running' : finishing.has(id) ? 'its final maps are still being made and saved' : null),
      scanDeleted: (id) => {
        // The deleted scan's maps were the ones shown: their retained frames and index leave the broker.
        void publisher.forgetScan(id).catch((e: unknown) => log.warn('cannot clear the deleted scan\'s live maps', { scan: id, error: (e as Error).message }));
        void publisher.publishState();
      },
      status: state,
      config: () => redactSecrets(config),
      health: () => ({
        ok: manager.state !== 'error' && link().state !== 'error',
        state: manager.state,
        uptimeS: (Date.now() - startedMs) / 1000,
        mqtt: { connected: bridge.connected, reconnects: bridge.reconnects, protocolVersion: bridge.protocolVersion, fellBack: bridge.fellBack },
        link: link(),
        storage: { dataDir, db: db.schemaVersion > 0, writable: storageWritable(), ...storage(), freeSpaceError: disk.lastError },
        error: manager.lastError,
      }),
    });
    registerModelRequests({ bridge, manager, inference });
    exportRunning = registerExportRequest({
      bridge, db, config, dataDir,
      acquiringId: () => (manager.state === 'acquiring' || manager.state === 'starting' || manager.state === 'stopping' ? manager.current?.record.id ?? null : null),
    }).running;
    registerPixelRequest({
      bridge, elements: config.maps.elements, roi: roiBackgroundFromConfig(config.maps.roi),
      modelAt: (x, y) => (manager.lastScanId ? inference.pixelValues(manager.lastScanId, x, y) : null),
      cube: () => (manager.lastCube && manager.lastScanId ? { cube: manager.lastCube, scanId: manager.lastScanId } : null),
    });
    await bridge.start();
    cleanups.push(() => bridge.stop());
    await publisher.publishState();
    const http = await startDashboard(config, { dataDir, embeddedWsUrl: broker?.wsUrl ?? null, log });
    if (http) cleanups.push(() => http.close());
    publisher.start();
    cleanups.push(() => publisher.close());

    // Stopped scans whose maps save did not happen or failed: roi/fit maps from their final checkpoints, in the
    // background (worker threads), one at a time; not deletable meanwhile.
    let shuttingDown = false;
    const missing = new MissingMaps(dataDir, db, {
      log, stopped: () => shuttingDown,
      busy: (id, on) => void (on ? finishing.add(id) : finishing.delete(id)),
      event: (ev) => void bridge.publish('event', { ...ev, time: new Date().toISOString() }, { qos: 1 }),
    });
    const missingMaps: Promise<MissingMapsResult[]> = config.storage.saveMaps
      ? new Promise<void>((r) => setImmediate(r)).then(() => missing.run())
      : Promise.resolve([]);

    log.info('gemxrf daemon ready', { broker: brokerUrl, ws: broker?.wsUrl ?? undefined, dashboard: http?.url, topics: bridge.topic('#'), dataDir, source: sourceUrl, simulator: emulator ? config.simulator.phantom : 'off' });

    let stopping: Promise<void> | null = null;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        log.info('shutting down');
        shuttingDown = true;
        publisher.stop();
        // The missing-maps pass: the scan in progress is given up (made again at the next start).
        await missing.cancel();
        await Promise.race([missingMaps, new Promise((r) => setTimeout(r, 30_000).unref())]);
        // Stops the running scan, or waits for a stop (or failure) already in flight, and refuses new starts:
        // the database closes below only once the scan's row is final.
        await manager.close();
        await inference.close();
        // The stopped scan's final maps go out (its fit may still be running in its worker), then the map
        // workers end: no thread outlives the daemon.
        await publisher.close();
        // The stopped scan's maps into its folder, before the database and the bridge close.
        // Every scan's pending save (an earlier scan's whose model final pass still runs included), bounded.
        if (!(await saver.settled())) {
          saver.abandon();
          log.warn('saving the scan maps did not end in time; the scan folder may lack maps/ (made at the next start)');
        }
        await publisher.publishState().catch(() => undefined);
        // Undo in reverse: publisher, bridge (publishes offline), link, simulator, broker, database.
        cleanups.pop(); // publisher already closed
        await undo();
        log.info('stopped');
      })();
      return stopping;
    };
    return { config, brokerUrl, wsUrl: broker?.wsUrl ?? null, httpUrl: http?.url ?? null, dataDir, sourceUrl, manager, bridge, db, publisher, recovered, missingMaps, stop };
  } catch (e) {
    await undo();
    throw e;
  }
}
