// The dashboard page: reads /config.json (where the MQTT WebSocket is, the base topic) and /api/lines.json
// (line markers) from the daemon's HTTP server, then lives on MQTT alone (docs/mqtt.md): a reference client
// of the topic API.
import { DaemonLink } from './connection.js';
import { byId, setText } from './dom.js';
import { Downloads } from './downloads.js';
import { decodeGxmp } from './gxmp.js';
import { LastScanPanel } from './last-scan-panel.js';
import { LoginForm, rememberedCredentials } from './login-form.js';
import { MapsPanel, type MapIndex } from './maps-panel.js';
import type { LinesDoc } from './markers.js';
import { PixelPanel, type PixelAnswer } from './pixel-panel.js';
import { ScanPanel } from './scan-panel.js';
import { SpectrumPlot, type Series } from './spectrum-plot.js';
import { StatusPanel, type StateDoc, type StatsDoc } from './status-panel.js';

interface PageConfig {
  wsUrl: string | null;
  baseTopic: string;
  instrument: { id: string; name: string };
  methods: string[];
  elements: string[];
  auth: boolean;
}

const text = (p: Uint8Array) => new TextDecoder().decode(p);
const json = <T>(p: Uint8Array): T => JSON.parse(text(p)) as T;

/** A broker listening on every interface is reached at the host the page came from. */
export function resolveWsUrl(url: string, pageHost: string): string {
  const u = new URL(url);
  if (u.hostname === '0.0.0.0' || u.hostname === '[::]' || u.hostname === '::') u.hostname = pageHost;
  return u.toString();
}

function markerToggles(elements: string[], plot: SpectrumPlot): void {
  const box = byId('marker-elements');
  const escape = byId<HTMLInputElement>('marker-escape');
  const inputs = elements.map((el) => {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.checked = true;
    input.value = el;
    label.append(input, ` ${el}`);
    box.append(label);
    return input;
  });
  const apply = () => plot.setMarkerElements(inputs.filter((i) => i.checked).map((i) => i.value), escape.checked);
  for (const i of [...inputs, escape]) i.addEventListener('change', apply);
  apply();
}

async function main(): Promise<void> {
  const status = new StatusPanel();
  const cfg = (await (await fetch('./config.json')).json()) as PageConfig;
  setText(byId('instrument'), `${cfg.instrument.name} · ${cfg.instrument.id}`);
  document.title = `gemxrf · ${cfg.instrument.id}`;

  const plot = new SpectrumPlot(byId<HTMLCanvasElement>('spectrum-canvas'));
  window.addEventListener('resize', () => plot.resize());
  markerToggles(cfg.elements, plot);
  void fetch('./api/lines.json')
    .then((r) => r.json() as Promise<LinesDoc>)
    .then((doc) => plot.setLines(doc))
    .catch(() => undefined);

  const link = new DaemonLink(cfg.baseTopic);
  let sum: Series | null = null;
  let pix: Series | null = null;
  const showSpectra = () => plot.setSpectra([sum, pix].filter((s): s is Series => s !== null));
  const maps = new MapsPanel((x, y) => pixel.select(x, y), cfg.methods);
  const pixel = new PixelPanel(link, maps, (a: PixelAnswer | null) => {
    pix = a ? { counts: a.counts, eMinKeV: a.eMinKeV, binWidthKeV: a.binWidthKeV, label: `pixel (${a.x}, ${a.y})`, color: '#e8590c' } : null;
    showSpectra();
  });
  const scan = new ScanPanel(link);
  const downloads = new Downloads(link);
  const lastScan = new LastScanPanel(link);

  let login: LoginForm | null = null;
  link.onStatus((s, detail) => {
    status.connection(s, detail);
    login?.onStatus(s, detail);
    if (s === 'connected') void downloads.refresh();
  });
  link.on('availability', (p) => status.availability(text(p)));
  link.on('state', (p) => {
    const s = json<StateDoc>(p);
    status.onState(s);
    scan.onState(s.state);
    lastScan.onState(s);
  });
  link.on('event', (p) => {
    const e = json<{ type: string; scan?: { id: string } }>(p);
    lastScan.onEvent(e as unknown as Record<string, unknown>);
    void downloads.refresh(e.scan?.id);
  });
  link.on('live/stats', (p) => status.onStats(json<StatsDoc>(p)));
  link.on('live/spectrum', (p) => {
    const s = json<{ counts: number[]; eMinKeV: number; binWidthKeV: number; total: number }>(p);
    sum = { counts: s.counts, eMinKeV: s.eMinKeV, binWidthKeV: s.binWidthKeV, label: `sum (${s.total.toLocaleString('en-US')} counts)`, color: '#1f3b73' };
    showSpectra();
  });
  link.on('live/counts', (p) => p.byteLength && maps.onCounts(decodeGxmp(p)));
  link.on('live/maps', (p) => {
    if (!p.byteLength) return;
    maps.onIndex(json<MapIndex>(p));
    pixel.maybeRefresh();
  });
  link.on('live/maps/#', (p) => {
    if (!p.byteLength) return; // a cleared retained frame
    try {
      maps.onFrame(decodeGxmp(p));
    } catch (e) {
      console.warn('bad map frame', e);
    }
  });

  if (!cfg.wsUrl) {
    status.connection('error', 'the daemon has no MQTT WebSocket URL for the page (config http.mqttWsUrl)');
    return;
  }
  const wsUrl = resolveWsUrl(cfg.wsUrl, location.hostname);
  // The login form also serves a broker that refuses the page although /config.json said no credentials.
  login = new LoginForm((c) => link.connect(wsUrl, c));
  if (!cfg.auth) return link.connect(wsUrl);
  const kept = rememberedCredentials();
  if (kept) return login.use(kept, true);
  status.connection('login', 'the broker wants a username and password');
  login.show();
}

main().catch((e: unknown) => {
  const el = document.getElementById('connection-detail');
  if (el) el.textContent = `page failed to start: ${(e as Error).message}`;
});
