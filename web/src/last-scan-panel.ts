// The acquisition panel's "Last scan" block (#st-last): the rows of last-scan.ts, shown while no scan is
// acquiring. The record comes from the scan-stopped / scan-error event when the page saw the stop, else from
// `request/scan/get` for the state's `lastScan`; whether its maps were saved from the maps-saved / maps-error
// events, the record's error note, or (looked up after the fact) the scan folder's listing.
import type { DaemonLink } from './connection.js';
import { byId } from './dom.js';
import { LastScanTracker, type ScanRecordDoc } from './last-scan.js';
import { RowList } from './status-panel.js';

const RETRY_MS = 10_000;

export class LastScanPanel {
  private readonly tracker = new LastScanTracker();
  private readonly list = new RowList(byId('st-last'), byId('st-last-list'));
  private fetching: string | null = null;
  private failed: { id: string; until: number } | null = null;
  private listed: string | null = null;

  constructor(private readonly link: DaemonLink) {}

  onState(s: { state?: unknown; scan?: unknown; lastScan?: unknown }): void {
    this.tracker.onState(s);
    this.update();
  }

  onEvent(e: Record<string, unknown>): void {
    this.tracker.onEvent(e);
    this.update();
  }

  private update(): void {
    this.list.show(this.tracker.rows());
    const want = this.tracker.wanted();
    if (want && want !== this.fetching && !(this.failed?.id === want && Date.now() < this.failed.until)) void this.fetch(want);
    const files = this.tracker.needsFiles();
    if (files && files !== this.listed) void this.files(files);
  }

  private async fetch(id: string): Promise<void> {
    this.fetching = id;
    const r = await this.link.request<ScanRecordDoc>('scan/get', { id });
    if (this.fetching === id) this.fetching = null;
    if (r.status === 'ok' && r.data) {
      this.failed = null;
      this.tracker.onRecord(r.data);
    } else this.failed = { id, until: Date.now() + RETRY_MS }; // e.g. deleted meanwhile: the next state says so
    this.update();
  }

  private async files(id: string): Promise<void> {
    this.listed = id;
    try {
      const res = await fetch(`./api/scans/${encodeURIComponent(id)}/files`);
      const body = (await res.json()) as { files?: Array<{ path?: unknown; size?: unknown }> };
      if (res.ok && Array.isArray(body.files)) this.tracker.onFiles(id, body.files);
    } catch {
      // the maps row stays '–'
    }
    this.update();
  }
}
