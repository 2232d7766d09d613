/**
 * One connection to the job server: the socket, its decoder, the output it owes, the limits
 * that protect the server from it, and the gearman state of the peer (worker or client).
 */
import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';
import type { Logger } from '../../util/log.ts';
import { type Packet, Decoder } from '../codec/decoder.ts';
import { ProtocolError } from '../codec/errors.ts';
import type { Ability, ClientSide, Job, SleepState, WorkerSide } from './job.ts';
import { NOOP, errorPacket, latin1Bytes, protocolErrorName } from './wire.ts';

export interface PeerHandlers {
  packet(peer: Peer, packet: Packet): void;
  text(peer: Peer, line: string): void;
  /** Called once, after the socket closed. */
  closed(peer: Peer): void;
}

export interface PeerLimits {
  readonly maxPacketSize: number;
  readonly maxLineLength: number;
  readonly maxOutboundBytes: number;
  readonly partialPacketTimeoutMs: number;
}

/** Output queued in one turn is joined into one write below this size. */
const JOIN_LIMIT = 64 * 1024;
/** How long a connection we are closing may take to read our last words. */
const LINGER_MS = 2_000;
/**
 * Past this much unsent output, stop reading the peer's requests until it reads its replies:
 * a client that pipelines faster than it reads is slowed down, not dropped. Output others push
 * to it (WORK_* of its jobs) still counts against maxOutboundBytes.
 */
const READ_PAUSE_BYTES = 1024 * 1024;

/**
 * Peers with output queued this turn. They are flushed together once the turn's I/O has been
 * handled (setImmediate), so results that several workers deliver to one client in the same
 * turn leave in one write: fewer syscalls under load, and at most one turn of added latency.
 */
const dirty: Peer[] = [];
let flushQueued = false;

function scheduleFlush(peer: Peer): void {
  dirty.push(peer);
  if (flushQueued) return;
  flushQueued = true;
  setImmediate(flushAll);
}

function flushAll(): void {
  flushQueued = false;
  const peers = dirty.splice(0);
  for (const peer of peers) peer.flush();
}

export class Peer implements WorkerSide, ClientSide {
  /** Stands in for gearmand's file descriptor in `workers`. */
  readonly id: number;
  readonly address: string;
  /** SET_CLIENT_ID, "-" until set. */
  clientId = '-';
  exceptions = false;
  exceptionHandle: string | undefined;
  readonly abilities = new Map<string, Ability>();
  readonly running = new Set<Job>();
  readonly waiting = new Map<Job, number>();
  sleep: SleepState = 'awake';
  wokenAt = 0;

  private readonly decoder: Decoder;
  private outbox: Uint8Array[] = [];
  private outboxBytes = 0;
  private flushScheduled = false;
  private closing = false;
  private closed = false;
  private partialTimer: ReturnType<typeof setTimeout> | undefined;
  private readPaused = false;

  constructor(
    private readonly socket: Socket,
    id: number,
    private readonly handlers: PeerHandlers,
    private readonly limits: PeerLimits,
    private readonly logger: Logger,
  ) {
    this.id = id;
    this.address = (socket.remoteAddress ?? '-').replace(/^::ffff:/, '');
    this.decoder = new Decoder(
      { packet: (packet) => handlers.packet(this, packet), text: (line) => handlers.text(this, line) },
      { expect: 'ANY', maxPacketSize: limits.maxPacketSize, maxLineLength: limits.maxLineLength },
    );
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => this.drained());
    socket.on('error', (err) => this.logger.debug(`${this.label}: ${err.message}`));
    socket.once('close', () => this.onClose());
  }

  get label(): string {
    return `connection ${this.id} (${this.address})`;
  }

  send(chunks: readonly Uint8Array[]): void {
    if (this.closing) return;
    for (const chunk of chunks) {
      this.outbox.push(chunk);
      this.outboxBytes += chunk.length;
    }
    const backlog = this.outboxBytes + this.socket.writableLength;
    if (backlog > this.limits.maxOutboundBytes) {
      this.drop(`more than ${this.limits.maxOutboundBytes} bytes of output unread`);
      return;
    }
    if (!this.readPaused && backlog > Math.min(READ_PAUSE_BYTES, this.limits.maxOutboundBytes / 2)) this.pauseReading();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      scheduleFlush(this);
    }
  }

  sendError(code: string, text: string): void {
    this.send(errorPacket(code, text));
  }

  sendText(text: string): void {
    this.send([latin1Bytes(text)]);
  }

  sendNoop(): void {
    this.send(NOOP);
  }

  /** Sends what is queued, then closes. */
  end(): void {
    if (this.closing) return;
    this.flush();
    this.closing = true;
    this.stopPartialTimer();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref?.();
  }

  /** Closes at once, dropping unsent output. */
  drop(reason: string): void {
    if (this.closed) return;
    this.logger.warn(`${this.label}: dropping the connection: ${reason}`);
    this.closing = true;
    this.outbox = [];
    this.outboxBytes = 0;
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    if (this.closing) return;
    try {
      this.decoder.push(chunk);
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.logger.info(`${this.label}: closing after bad input: ${err.message}`);
        this.sendError(protocolErrorName(err.code), err.message);
        this.end();
      } else {
        // A bug in a handler must cost this connection, never the server.
        this.logger.error(`${this.label}: internal error while handling input: ${err instanceof Error ? err.stack : String(err)}`);
        this.drop('internal error');
      }
      return;
    }
    this.watchPartial();
  }

  /** Slowloris guard: a packet or line that has started must end in time (unless we stopped reading). */
  private watchPartial(): void {
    if (this.decoder.idle || this.readPaused) {
      this.stopPartialTimer();
      return;
    }
    if (this.partialTimer !== undefined) return;
    const { partialPacketTimeoutMs } = this.limits;
    const started = this.decoder.consumed;
    this.partialTimer = setTimeout(() => {
      // Input that already arrived is read first: a busy event loop must not look like a slow peer.
      setImmediate(() => {
        this.partialTimer = undefined;
        if (this.closing || this.readPaused || this.decoder.idle) return;
        if (this.decoder.consumed !== started) return this.watchPartial();
        this.drop(`a packet stayed incomplete for ${partialPacketTimeoutMs} ms (${this.decoder.buffered} bytes)`);
      });
    }, partialPacketTimeoutMs);
  }

  /** Writes what is queued (the scheduler calls it once per event-loop turn). */
  flush(): void {
    this.flushScheduled = false;
    const chunks = this.outbox;
    if (chunks.length === 0 || this.closed) return;
    const total = this.outboxBytes;
    this.outbox = [];
    this.outboxBytes = 0;
    const socket = this.socket;
    if (chunks.length === 1) socket.write(chunks[0]!);
    else if (total <= JOIN_LIMIT) socket.write(Buffer.concat(chunks, total));
    else for (const chunk of chunks) socket.write(chunk);
    // Output stays paused only while the socket still holds it; otherwise no 'drain' would come.
    if (this.readPaused && socket.writableLength === 0) this.drained();
  }

  private pauseReading(): void {
    this.readPaused = true;
    this.socket.pause();
    this.stopPartialTimer();
  }

  private drained(): void {
    if (!this.readPaused || this.closing) return;
    this.readPaused = false;
    this.socket.resume();
    this.watchPartial();
  }

  private stopPartialTimer(): void {
    if (this.partialTimer !== undefined) clearTimeout(this.partialTimer);
    this.partialTimer = undefined;
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    this.stopPartialTimer();
    this.outbox = [];
    this.outboxBytes = 0;
    this.handlers.closed(this);
  }
}
