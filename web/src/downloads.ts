// Scan files for download: the scans come from request/scan/list (MQTT), each scan's files from the daemon's
// HTTP server (/api/scans/<id>/files): the raw recording, checkpoints and whatever exports the scan has.
import type { DaemonLink } from './connection.js';
import { byId } from './dom.js';
import { formatBytes } from './format.js';

interface ScanFile {
  path: string;
  size: number;
}

export class Downloads {
  private readonly select = byId<HTMLSelectElement>('scan-select');
  private readonly list = byId<HTMLUListElement>('file-list');
  private readonly exportButton = byId<HTMLButtonElement>('scan-export');
  private readonly exportStatus = byId<HTMLParagraphElement>('export-status');

  constructor(private readonly link: DaemonLink) {
    this.select.addEventListener('change', () => void this.files());
    byId('scan-refresh').addEventListener('click', () => void this.refresh());
    this.exportButton.addEventListener('click', () => void this.exportScan());
  }

  /** Asks the daemon to export the selected scan into its folder, then lists the new files. */
  private async exportScan(): Promise<void> {
    const id = this.select.value;
    if (!id) return;
    this.exportButton.disabled = true;
    this.exportStatus.textContent = `exporting ${id}…`;
    // An export of a large cube takes seconds to minutes (fit and model maps, HDF5): wait long enough.
    const r = await this.link.request<{ files: string[]; bytes: number }>('scan/export', { id }, 10 * 60_000);
    this.exportButton.disabled = false;
    this.exportStatus.textContent = r.status === 'ok' && r.data ? `exported ${r.data.files.length} files (${formatBytes(r.data.bytes)})` : `export failed: ${r.error ?? 'unknown error'}`;
    await this.files();
  }

  async refresh(prefer?: string): Promise<void> {
    const r = await this.link.request<Array<{ id: string; status: string }>>('scan/list', { limit: 50 });
    if (r.status !== 'ok' || !r.data) return;
    const keep = prefer ?? this.select.value;
    this.select.replaceChildren(...r.data.map((s) => new Option(`${s.id} (${s.status})`, s.id)));
    if (r.data.some((s) => s.id === keep)) this.select.value = keep;
    await this.files();
  }

  private async files(): Promise<void> {
    const id = this.select.value;
    if (!id) {
      this.list.replaceChildren();
      return;
    }
    const res = await fetch(`./api/scans/${encodeURIComponent(id)}/files`);
    const body = (await res.json()) as { files?: ScanFile[]; error?: string };
    if (!res.ok || !body.files) {
      const li = document.createElement('li');
      li.textContent = body.error ?? `HTTP ${res.status}`;
      this.list.replaceChildren(li);
      return;
    }
    this.list.replaceChildren(
      ...body.files.map((f) => {
        const li = document.createElement('li');
        const a = document.createElement('a');
        a.href = `./api/scans/${encodeURIComponent(id)}/files/${f.path.split('/').map(encodeURIComponent).join('/')}`;
        a.download = f.path.split('/').pop()!;
        a.textContent = f.path;
        const size = document.createElement('span');
        size.className = 'size';
        size.textContent = formatBytes(f.size);
        li.append(a, size);
        return li;
      }),
    );
  }
}
