// gemxrf scan start|stop|status|list|delete: the operator's CLI, talking to a running daemon over MQTT
// request/response (--broker URL; default: the configured external broker, else the embedded one).
// `scan start --watch` shows a live progress bar until the scan ends. `scan delete ID --yes` removes a stored
// scan (folder and rows) through the daemon, which refuses the scan it is acquiring or exporting.
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { GemxrfConfig } from '../../../config/index.js';
import type { FormationCounters } from '../../../pipelines/formation/event-former.js';
import { RequestClient, type DaemonResponse } from '../../mqtt/request-client.js';
import { configFor, numberOption } from '../context.js';
import { CliError } from '../errors.js';

interface BrokerOpts {
  broker?: string;
  json?: boolean;
}

export function defaultBrokerUrl(config: GemxrfConfig): string {
  if (config.mqtt.url) return config.mqtt.url;
  const h = config.mqtt.embedded.host;
  const host = h === '0.0.0.0' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h;
  return `mqtt://${host}:${config.mqtt.embedded.port}`;
}

async function withDaemon<T>(cmd: Command, opts: BrokerOpts, fn: (c: RequestClient, config: GemxrfConfig) => Promise<T>): Promise<T> {
  const config = configFor(cmd);
  const url = opts.broker ?? defaultBrokerUrl(config);
  // An external broker: its credentials and TLS files, as the daemon uses them (the embedded broker is plain TCP).
  const m = config.mqtt;
  const creds = m.url ? { username: m.username, password: m.password, ca: m.ca, cert: m.cert, key: m.key } : { username: m.embedded.username, password: m.embedded.password };
  let client: RequestClient;
  try {
    client = await RequestClient.connect(url, `${config.mqtt.baseTopic}/${config.instrument.id}`, creds);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  try {
    return await fn(client, config);
  } catch (e) {
    throw e instanceof CliError ? e : new CliError((e as Error).message);
  } finally {
    await client.close();
  }
}

function unwrap(r: DaemonResponse): unknown {
  if (r.status !== 'ok') throw new CliError(r.error ?? 'the daemon refused the request');
  return r.data;
}

const fmtS = (s: number | null | undefined) => {
  if (s === null || s === undefined || !Number.isFinite(s)) return '-';
  const t = Math.round(s);
  return `${Math.floor(t / 3600)}:${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
};

interface Progress {
  id: string;
  elapsedS: number;
  remainingS: number | null;
  events: number;
  targetCounts: number | null;
  framesLost: number;
  checkpoints: number;
  gemroc?: { packets: number; packetsLost: number; boardRestarts: number; restartsUnaligned: number } | null;
  formation?: FormationCounters | null;
}

interface StatusDoc {
  state: string;
  scan: Progress | null;
  lastScan: string | null;
  error: string | null;
  link: { url: string; state: string; error: string | null };
  rates: { eventsPerS: number; bytesPerS: number };
}

function printStatus(s: StatusDoc): void {
  const lines = [`state    ${s.state}`, `link     ${s.link.state} (${s.link.url})${s.link.error ? ` — ${s.link.error}` : ''}`];
  if (s.scan) {
    lines.push(`scan     ${s.scan.id}`);
    lines.push(`counts   ${s.scan.events}${s.scan.targetCounts ? ` / ${s.scan.targetCounts}` : ''}  (${Math.round(s.rates.eventsPerS)} /s)`);
    lines.push(`elapsed  ${fmtS(s.scan.elapsedS)}  remaining ${fmtS(s.scan.remainingS)}`);
    lines.push(`lost     ${s.scan.framesLost} frames, ${s.scan.checkpoints} checkpoints`);
    const g = s.scan.gemroc;
    if (g) lines.push(`gemroc   ${g.packets} packets, ${g.packetsLost} lost, ${g.boardRestarts} board restarts (${g.restartsUnaligned} unaligned)`);
    const f = s.scan.formation;
    if (f) {
      lines.push(`formed   ${f.events} events from ${f.hitsIn} hits (${f.clustersX} X / ${f.clustersY} Y clusters)`);
      lines.push(`rejected ${f.xOnly} x-only, ${f.yOnly} y-only, ${f.tooWide} too wide, ${f.tooLong} too long, ${f.ratio} ratio; ${f.hitsLate} late hits, ${f.clockResets} clock resets`);
    }
  } else if (s.lastScan) lines.push(`last     ${s.lastScan}`);
  if (s.error) lines.push(`error    ${s.error}`);
  process.stdout.write(lines.join('\n') + '\n');
}

/** Follows live/stats until the scan ends (scan-stopped / scan-error event), drawing a progress bar. */
async function watch(client: RequestClient, scanId: string, target: { durationS?: number; counts?: number }): Promise<unknown> {
  const base = client.base;
  await client.client.subscribeAsync([`${base}/live/stats`, `${base}/event`], { qos: 0 });
  const bar = new cliProgress.SingleBar(
    { format: '{bar} {percentage}% | {events} counts | {rate}/s | {elapsed} elapsed | {remaining} left | {lost} lost', hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(100, 0, { events: 0, rate: 0, elapsed: fmtS(0), remaining: '-', lost: 0 });
  return new Promise((resolve, reject) => {
    let done = false;
    const onSig = () => finish(() => reject(new CliError('stopped watching (the scan keeps running; `gemxrf scan stop` ends it)', 130)));
    const finish = (then: () => void) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      client.client.off('message', onMsg);
      process.off('SIGINT', onSig);
      bar.stop();
      then();
    };
    // The scan may end before the subscription above is in place (a short scan on a busy machine), and
    // events are QoS 0: ask for the record now and every 2 s, so the end is never missed.
    const check = async () => {
      const r = await client.request('scan/get', { id: scanId }).catch(() => null);
      const rec = r?.status === 'ok' ? (r.data as { id: string; status: string; error?: string } | null) : null;
      if (!rec || rec.status === 'acquiring') return;
      if (rec.status === 'error') finish(() => reject(new CliError(`scan ${scanId} failed: ${String(rec.error ?? 'error')}`)));
      else finish(() => resolve(rec));
    };
    const poll = setInterval(() => void check(), 2000);
    const onMsg = (topic: string, buf: Buffer) => {
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(buf.toString()) as Record<string, unknown>;
      } catch {
        return;
      }
      if (topic === `${base}/live/stats` && m['scan'] === scanId) {
        const events = Number(m['events']);
        const elapsed = Number(m['elapsedS']);
        const fr = [target.counts ? events / target.counts : 0, target.durationS ? elapsed / target.durationS : 0];
        const pct = Math.min(100, Math.round(100 * Math.max(...fr)));
        const rate = Number(m['eventsPerS']);
        const remainingS = (m['remainingS'] as number | null) ?? (target.counts && rate > 0 ? Math.max(0, (target.counts - events) / rate) : null);
        bar.update(pct, { events, rate: Math.round(rate), elapsed: fmtS(elapsed), remaining: fmtS(remainingS), lost: m['framesLost'] });
      } else if (topic === `${base}/event`) {
        const scan = m['scan'] as { id?: string } | undefined;
        if (scan?.id !== scanId) return;
        if (m['type'] === 'scan-stopped') finish(() => resolve(scan));
        else if (m['type'] === 'scan-error') finish(() => reject(new CliError(`scan ${scanId} failed: ${String(m['error'])}`)));
      }
    };
    client.client.on('message', onMsg);
    process.once('SIGINT', onSig);
    void check();
  });
}

export function register(program: Command): void {
  const scan = program.command('scan').description('start, stop and watch scans on a running daemon (over MQTT)');
  const brokerOpt = (c: Command) => c.option('--broker <url>', 'MQTT broker of the daemon (default: from the config; embedded mqtt://127.0.0.1:1883)').option('--json', 'print the answer as JSON');

  brokerOpt(
    scan
      .command('start')
      .description('start a scan (one at a time)')
      .requiredOption('--name <name>', 'scan name (letters, digits, space, _ . , ( ) + # -; no path characters)')
      .option('--duration <seconds>', 'stop after this many seconds')
      .option('--counts <n>', 'stop once the cube holds this many events')
      .option('--notes <text>', 'sample notes')
      .option('--operator <who>', 'operator name')
      .option('--watch', 'show a live progress bar until the scan ends'),
  ).action(async (opts: BrokerOpts & { name: string; duration?: string; counts?: string; notes?: string; operator?: string; watch?: boolean }, cmd: Command) => {
    const payload: Record<string, unknown> = { name: opts.name };
    if (opts.duration !== undefined) payload['duration'] = numberOption('duration', opts.duration, { min: 0.001 });
    if (opts.counts !== undefined) payload['counts'] = numberOption('counts', opts.counts, { min: 1, integer: true });
    if (opts.notes !== undefined) payload['notes'] = opts.notes;
    if (opts.operator !== undefined) payload['operator'] = opts.operator;
    await withDaemon(cmd, opts, async (client) => {
      const rec = unwrap(await client.request('scan/start', payload)) as { id: string; stopCondition: { durationS?: number; counts?: number } };
      if (!opts.watch) {
        process.stdout.write(opts.json ? JSON.stringify(rec) + '\n' : `started ${rec.id}\n`);
        return;
      }
      process.stderr.write(`started ${rec.id}\n`);
      const final = (await watch(client, rec.id, rec.stopCondition)) as { id: string; totals?: { events: number; durationS: number } };
      process.stdout.write(opts.json ? JSON.stringify(final) + '\n' : `scan ${final.id} done: ${final.totals?.events ?? '?'} counts in ${fmtS(final.totals?.durationS)}\n`);
    });
  });

  brokerOpt(scan.command('stop').description('stop the running scan (files are finished, the row completed)')).action(async (opts: BrokerOpts, cmd: Command) => {
    await withDaemon(cmd, opts, async (client) => {
      const rec = unwrap(await client.request('scan/stop', {}, 60_000)) as { id: string; totals: { events: number; durationS: number } | null };
      process.stdout.write(opts.json ? JSON.stringify(rec) + '\n' : `stopped ${rec.id}: ${rec.totals?.events ?? 0} counts in ${fmtS(rec.totals?.durationS)}\n`);
    });
  });

  brokerOpt(scan.command('status').description('daemon and scan state')).action(async (opts: BrokerOpts, cmd: Command) => {
    await withDaemon(cmd, opts, async (client) => {
      const s = unwrap(await client.request('scan/status')) as StatusDoc;
      if (opts.json) process.stdout.write(JSON.stringify(s) + '\n');
      else printStatus(s);
    });
  });

  brokerOpt(scan.command('list').description('scans in the catalogue, newest first').option('--limit <n>', 'how many', '20')).action(async (opts: BrokerOpts & { limit: string }, cmd: Command) => {
    const limit = numberOption('limit', opts.limit, { min: 1, max: 1000, integer: true });
    await withDaemon(cmd, opts, async (client) => {
      const list = unwrap(await client.request('scan/list', { limit })) as Array<{ id: string; status: string; startedAt: string; totals: { events: number; durationS: number } | null }>;
      if (opts.json) {
        process.stdout.write(JSON.stringify(list) + '\n');
        return;
      }
      if (list.length === 0) process.stdout.write('no scans\n');
      for (const s of list) process.stdout.write(`${s.id.padEnd(40)} ${s.status.padEnd(12)} ${String(s.totals?.events ?? '-').padStart(10)} counts  ${fmtS(s.totals?.durationS)}\n`);
    });
  });

  brokerOpt(
    scan
      .command('delete <id>')
      .description("delete a stored scan: its folder (raw.gemx, checkpoint, maps, export) and its database rows; not the scan being acquired")
      .option('--yes', 'really delete (required: there is no undo)'),
  ).action(async (id: string, opts: BrokerOpts & { yes?: boolean }, cmd: Command) => {
    if (!opts.yes) throw new CliError(`deleting scan ${id} removes its recording and everything made from it, with no undo: add --yes to do it`);
    await withDaemon(cmd, opts, async (client) => {
      // The id is sent twice (id and confirm), as the request requires.
      const r = unwrap(await client.request('scan/delete', { id, confirm: id }, 120_000)) as { id: string; files: number; bytes: number; leftover: string | null };
      if (opts.json) process.stdout.write(JSON.stringify(r) + '\n');
      else process.stdout.write(`deleted ${r.id}: ${r.files} files, ${(r.bytes / 2 ** 20).toFixed(1)} MiB freed${r.leftover ? ` (${r.leftover} could not be removed entirely; it is removed at the next daemon start)` : ''}\n`);
    });
  });
}
