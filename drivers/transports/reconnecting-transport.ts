// The reconnect loop shared by the stream transports (serial, tcp, usb). A concrete transport supplies only
// connect(sink): open the link, push chunks into sink.data, call sink.end(err?) when the link drops. This
// class owns the state machine (connecting -> open -> reconnecting -> open ... -> closed), the backoff, the
// counters and the Observable. A dropped link is a status change, never an error on the stream: the stream
// errors nowhere, and completes only on close() or, with reconnect disabled, when the link ends.
import { Observable, type Subscriber } from 'rxjs';
import type { Transport, TransportState, TransportStatus } from '../transport.js';
import { Backoff, type BackoffOptions } from './backoff.js';

export interface LinkSink {
  data(chunk: Uint8Array): void;
  /** The link is gone (unplug, peer closed, read error). Later calls for this link are ignored. */
  end(err?: Error): void;
}

export interface Link {
  close(): Promise<void> | void;
}

export type Connect = (sink: LinkSink) => Promise<Link>;

export interface ReconnectingOptions {
  backoff: BackoffOptions;
  /** false: the first link's end completes the stream (no retry). Default true. */
  reconnect?: boolean;
  /** Transport-specific status fields merged into status(). */
  extraStatus?: () => Record<string, unknown>;
}

export class ReconnectingTransport implements Transport {
  private state: TransportState = 'closed';
  private error: string | undefined;
  private bytesIn = 0;
  private chunksIn = 0;
  private reconnects = 0;
  private connects = 0;
  private nextRetryMs: number | undefined;
  private readonly backoff: Backoff;
  private readonly reconnect: boolean;
  private session: Session | undefined;
  private closed = false;

  constructor(
    readonly url: string,
    private readonly connect: Connect,
    private readonly opts: ReconnectingOptions,
  ) {
    this.backoff = new Backoff(opts.backoff);
    this.reconnect = opts.reconnect ?? true;
  }

  open(): Observable<Uint8Array> {
    return new Observable<Uint8Array>((subscriber) => {
      if (this.closed) {
        subscriber.complete();
        return;
      }
      if (this.session) {
        subscriber.error(new Error(`transport ${this.url}: already open (share() the stream to read it twice)`));
        return;
      }
      const session = new Session(subscriber);
      this.session = session;
      void this.attempt(session);
      return () => {
        void this.endSession(session);
      };
    });
  }

  status(): TransportStatus {
    return {
      url: this.url,
      state: this.state,
      ...(this.error !== undefined ? { error: this.error } : {}),
      bytesIn: this.bytesIn,
      chunksIn: this.chunksIn,
      reconnects: this.reconnects,
      connects: this.connects,
      ...(this.nextRetryMs !== undefined && this.state === 'reconnecting' ? { nextRetryMs: this.nextRetryMs } : {}),
      ...(this.opts.extraStatus?.() ?? {}),
    };
  }

  /**
   * Skip the rest of the current backoff wait and try now (hot-plug: the device just reappeared). No effect
   * while connected or connecting.
   */
  retryNow(): void {
    const session = this.session;
    if (!session || session.ended || !session.timer) return;
    clearTimeout(session.timer);
    session.timer = undefined;
    void this.attempt(session);
  }

  /** Ends the current link as lost (e.g. a hot-plug detach seen before the read fails) and reconnects. */
  dropLink(reason: string): void {
    this.session?.dropCurrent?.(new Error(reason));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.session) await this.endSession(this.session);
    this.state = 'closed';
  }

  private async attempt(session: Session): Promise<void> {
    if (session.ended) return;
    this.state = this.connects === 0 && this.reconnects === 0 ? 'connecting' : 'reconnecting';
    const generation = ++session.generation;
    const sink: LinkSink = {
      data: (chunk) => {
        if (session.ended || generation !== session.generation) return;
        this.bytesIn += chunk.length;
        this.chunksIn++;
        session.subscriber.next(chunk);
      },
      end: (err) => {
        if (session.ended || generation !== session.generation || session.linkEnded) return;
        session.linkEnded = true;
        const link = session.link;
        session.link = undefined;
        if (link) void Promise.resolve().then(() => link.close()).catch(() => undefined);
        this.linkLost(session, err ?? new Error('link closed by peer'));
      },
    };
    session.linkEnded = false;
    session.dropCurrent = (err) => sink.end(err);
    let link: Link;
    try {
      link = await this.connect(sink);
    } catch (err) {
      if (session.ended || generation !== session.generation) return;
      this.linkLost(session, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (session.ended || generation !== session.generation || session.linkEnded) {
      // Closed (or the link died) while connecting: do not leak the new link.
      await Promise.resolve(link.close()).catch(() => undefined);
      return;
    }
    session.link = link;
    this.connects++;
    this.backoff.reset();
    this.state = 'open';
  }

  private linkLost(session: Session, err: Error): void {
    this.error = err.message;
    if (!this.reconnect) {
      this.state = 'closed';
      const s = session;
      this.session = undefined;
      s.ended = true;
      s.subscriber.complete();
      return;
    }
    this.state = 'reconnecting';
    this.reconnects++;
    const delay = this.backoff.next();
    this.nextRetryMs = delay;
    session.timer = setTimeout(() => {
      session.timer = undefined;
      void this.attempt(session);
    }, delay);
  }

  private async endSession(session: Session): Promise<void> {
    if (session.ended) return;
    session.ended = true;
    if (this.session === session) this.session = undefined;
    if (session.timer) clearTimeout(session.timer);
    const link = session.link;
    session.link = undefined;
    this.state = 'closed';
    if (link) await Promise.resolve(link.close()).catch(() => undefined);
    session.subscriber.complete();
  }
}

class Session {
  ended = false;
  linkEnded = false;
  generation = 0;
  link: Link | undefined;
  timer: NodeJS.Timeout | undefined;
  dropCurrent: ((err: Error) => void) | undefined;
  constructor(readonly subscriber: Subscriber<Uint8Array>) {}
}
