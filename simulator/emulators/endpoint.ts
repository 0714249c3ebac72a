// The wire side of an emulator: where frames go (a TCP server's clients, a pty, a fake USB endpoint, UDP
// datagrams). The frame pump does not know which.

export interface WireEndpoint {
  /** The transport URL a receiver opens (tcp://127.0.0.1:7000, serial:///tmp/..., usb:..., udp://...). */
  readonly address: string;
  /**
   * One tick's units, in order. Stream endpoints may coalesce them into one write; datagram endpoints send
   * one datagram each. Returns false when nobody received them (no client, device detached, port closed).
   */
  write(units: readonly Uint8Array[]): boolean;
  /** Whether a receiver is there now (a client connected, the pty open, the device attached). */
  hasReceiver(): boolean;
  /** Resolves when a receiver is there. */
  whenReceiver(): Promise<void>;
  /** The unplug fault: drop the link(s); the receiver is expected to reconnect. */
  disconnect(): Promise<void>;
  /** Waits until written bytes have left (bounded), then closes everything. */
  close(): Promise<void>;
  stats(): Record<string, unknown>;
}
