// The broker's username and password, asked in the page (not window.prompt): shown when /config.json says the
// broker wants credentials and none are known, and again when the broker refuses them (with its reason);
// hidden once connected. The credentials stay in memory (the MQTT client's options, for its reconnects);
// only with "remember for this tab" ticked they are also kept in sessionStorage, which dies with the tab.
// Never localStorage, never the URL.
import type { Credentials, LinkStatus } from './connection.js';
import { byId, setText } from './dom.js';

const KEY = 'gemxrf.mqtt.credentials';

/** The credentials remembered for this tab, if any (storage may be unavailable: then none). */
export function rememberedCredentials(): Credentials | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const c = JSON.parse(raw) as Partial<Credentials>;
    return typeof c.username === 'string' && typeof c.password === 'string' ? { username: c.username, password: c.password } : null;
  } catch {
    return null;
  }
}

function remember(c: Credentials | null): void {
  try {
    if (c) sessionStorage.setItem(KEY, JSON.stringify(c));
    else sessionStorage.removeItem(KEY);
  } catch {
    // storage disabled: memory only
  }
}

export class LoginForm {
  private readonly box = byId('login');
  private readonly form = byId<HTMLFormElement>('login-form');
  private readonly username = byId<HTMLInputElement>('login-username');
  private readonly password = byId<HTMLInputElement>('login-password');
  private readonly keep = byId<HTMLInputElement>('login-remember');
  private readonly button = byId<HTMLButtonElement>('login-connect');
  private readonly error = byId('login-error');
  /** Credentials of the attempt in flight, until the broker accepts or refuses them. */
  private trying: Credentials | null = null;
  private keepTrying = false;

  constructor(private readonly connect: (c: Credentials) => void) {
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
  }

  /** Shows the form (with an optional error line) and focuses the first empty field. */
  show(error = ''): void {
    setText(this.error, error);
    this.button.disabled = false;
    this.box.hidden = false;
    (this.username.value ? this.password : this.username).focus();
    if (error) this.password.select();
  }

  /** Connects with credentials found elsewhere (remembered for this tab), without showing the form. */
  use(c: Credentials, remembered: boolean): void {
    this.username.value = c.username;
    this.keep.checked = remembered;
    this.attempt(c, remembered);
  }

  private submit(): void {
    const c = { username: this.username.value, password: this.password.value };
    if (!c.username) return this.show('a username is needed');
    this.attempt(c, this.keep.checked);
  }

  private attempt(c: Credentials, keep: boolean): void {
    this.trying = c;
    this.keepTrying = keep;
    this.button.disabled = true;
    setText(this.error, '');
    this.connect(c);
  }

  /** Follows the link: hidden once connected (then remembered if asked), shown again on a refusal. */
  onStatus(s: LinkStatus, detail: string): void {
    if (s === 'connected') {
      if (this.trying) remember(this.keepTrying ? this.trying : null);
      this.trying = null;
      this.password.value = '';
      this.box.hidden = true;
      this.button.disabled = false;
    } else if (s === 'refused') {
      this.trying = null;
      remember(null); // remembered credentials that no longer work are dropped
      this.show(detail || 'the broker refused the credentials');
    } else if (!this.box.hidden && (s === 'error' || s === 'offline')) {
      // The attempt did not reach the broker (it retries by itself); Connect restarts it, e.g. after a fix.
      setText(this.error, s === 'error' ? detail : `no connection to ${detail} (retrying)`);
      this.button.disabled = false;
    }
  }
}
