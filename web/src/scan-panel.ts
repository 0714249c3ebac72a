// Start and stop: the form becomes a scan/start request (empty fields left out), and the daemon's answer is
// shown as it comes: its error text verbatim (it names the field and the rule), or the new scan's id.
import type { DaemonLink } from './connection.js';
import { byId, setText } from './dom.js';
import { startPayload } from './scan-request.js';

export class ScanPanel {
  private readonly form = byId<HTMLFormElement>('scan-form');
  private readonly start = byId<HTMLButtonElement>('scan-start');
  private readonly stop = byId<HTMLButtonElement>('scan-stop');
  private readonly message = byId('scan-message');
  private readonly error = byId('scan-error');
  private state = 'unknown';
  private pending = false;

  constructor(private readonly link: DaemonLink) {
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.send('scan/start', startPayload({
        name: byId<HTMLInputElement>('scan-name').value,
        duration: byId<HTMLInputElement>('scan-duration').value,
        counts: byId<HTMLInputElement>('scan-counts').value,
        notes: byId<HTMLInputElement>('scan-notes').value,
      }));
    });
    this.stop.addEventListener('click', () => void this.send('scan/stop', {}));
    this.buttons();
  }

  onState(state: string): void {
    this.state = state;
    this.buttons();
  }

  private buttons(): void {
    const busy = this.state === 'acquiring' || this.state === 'starting' || this.state === 'stopping';
    this.start.disabled = this.pending || busy;
    this.stop.disabled = this.pending || this.state !== 'acquiring';
  }

  private async send(command: 'scan/start' | 'scan/stop', payload: Record<string, unknown>): Promise<void> {
    this.pending = true;
    this.buttons();
    setText(this.error, '');
    setText(this.message, command === 'scan/start' ? 'starting…' : 'stopping…');
    const r = await this.link.request<{ id: string; stopReason?: string; totals?: { events: number } }>(command, payload);
    this.pending = false;
    this.buttons();
    if (r.status === 'ok' && r.data) {
      const d = r.data;
      setText(this.message, command === 'scan/start' ? `started ${d.id}` : `stopped ${d.id}${d.totals ? ` · ${d.totals.events.toLocaleString('en-US')} events` : ''}`);
    } else {
      setText(this.message, '');
      setText(this.error, r.error ?? 'request failed');
    }
  }
}
