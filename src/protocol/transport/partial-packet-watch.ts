import type { Decoder } from '../codec/decoder.ts';
import { ProtocolError } from '../codec/errors.ts';

/** Bytes per second a large packet must at least arrive at, on top of the base timeout. */
const PACKET_MIN_RATE = 64 * 1024;

function describePartial(decoder: Decoder): string {
  const expected = decoder.expected;
  return expected > 0 ? `${decoder.buffered} of ${expected} bytes` : `${decoder.buffered} bytes`;
}

/** The error for a connection that ended inside a packet; the socket's own error is the cause. */
export function truncated(decoder: Decoder, cause: Error | undefined): ProtocolError {
  const why = cause ? ` (${cause.message})` : '';
  return new ProtocolError('TRUNCATED', `the connection ended inside a packet after ${describePartial(decoder)}${why}`, {
    offset: decoder.consumed,
    ...(cause ? { cause } : {}),
  });
}

/**
 * Bounds how long one packet may take to arrive once its first byte is in: the decoder never
 * holds more than the packet's declared size, but a peer trickling a byte at a time (slowloris)
 * would otherwise hold the connection, and everything registered on it, forever.
 */
export class PartialPacketWatch {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private recheck: ReturnType<typeof setImmediate> | undefined;
  /** When the packet being assembled started, and the stream offset it starts at. */
  private since = 0;
  private startOffset = -1;

  constructor(
    private readonly decoder: Decoder,
    private readonly baseMs: number,
    private readonly expired: (err: ProtocolError) => void,
  ) {}

  /** After each chunk: starts the clock for a new partial packet, stops it at a boundary. */
  check(): void {
    if (this.decoder.idle) {
      this.stop();
      return;
    }
    if (this.startOffset === this.decoder.consumed) return;
    this.stop();
    this.since = Date.now();
    this.startOffset = this.decoder.consumed;
    this.arm();
  }

  /** Stops the clock (at a packet boundary, or while the owner is not reading). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.recheck !== undefined) clearImmediate(this.recheck);
    this.recheck = undefined;
    this.startOffset = -1;
  }

  private allowedMs(): number {
    return this.baseMs + Math.ceil((this.decoder.expected / PACKET_MIN_RATE) * 1000);
  }

  private arm(): void {
    const left = this.allowedMs() - (Date.now() - this.since);
    // Input that already arrived is read first (timers run before I/O): a busy event loop must not look like a slow peer.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.recheck = setImmediate(() => this.fire());
    }, Math.max(0, left));
  }

  private fire(): void {
    this.recheck = undefined;
    if (this.decoder.idle || this.startOffset !== this.decoder.consumed) return;
    const elapsed = Date.now() - this.since;
    // The declared size may have become known since the clock started: it earns more time.
    if (elapsed < this.allowedMs()) {
      this.arm();
      return;
    }
    this.expired(
      new ProtocolError('PACKET_TIMEOUT', `a packet has been arriving for ${elapsed} ms and is still incomplete (${describePartial(this.decoder)})`, {
        offset: this.decoder.consumed,
      }),
    );
  }
}
