/**
 * One connection to the job server: the socket, its decoder, the output it owes, the limits
 * that protect the server from it, and the gearman state of the peer (worker or client).
 */
import type { Buffer } from 'node:buffer';
import type { Logger } from '../../util/log.ts';
import { type Packet, Decoder } from '../codec/decoder.ts';
import { ProtocolError } from '../codec/errors.ts';
import { PartialPacketWatch } from '../transport/partial-packet-watch.ts';
import { type WritableSocket, WriteQueue } from '../transport/write-queue.ts';
import { Abilities } from './abilities.ts';
import type { ConnectionGrants } from './acl/grants.ts';
import { verifiedCommonName } from './acl/identity.ts';
import type { ClientSide, FunctionEntry, Job, SleepState, WorkerSide } from './job.ts';
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

/** How long a connection we are closing may take to read our last words. */
const LINGER_MS = 2_000;
/**
 * Past this much unsent output, stop reading the peer's requests until it reads its replies:
 * a client that pipelines faster than it reads is slowed down, not dropped. Output others push
 * to it (WORK_* of its jobs) still counts against maxOutboundBytes.
 */
const READ_PAUSE_BYTES = 1024 * 1024;

/** What a Peer uses of its socket (node:net's or TLS's). */
export interface PeerSocket extends WritableSocket {
  readonly remoteAddress?: string | undefined;
  setNoDelay(noDelay: boolean): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'drain', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
  end(): unknown;
  destroy(): unknown;
}

export class Peer implements WorkerSide, ClientSide {
  /** Stands in for gearmand's file descriptor in `workers`. */
  readonly id: number;
  readonly address: string;
  /** CN of the client certificate the TLS handshake verified; the only identity access rules trust. */
  readonly certName: string | undefined;
  /** What the access rules allow; undefined when none are loaded. */
  grants: ConnectionGrants | undefined;
  /** SET_CLIENT_ID, "-" until set. Informational only: never an identity. */
  clientId = '-';
  exceptions = false;
  exceptionHandle: string | undefined;
  readonly abilities = new Abilities();
  readonly running = new Set<Job>();
  readonly waiting = new Map<Job, number>();
  readonly ready = new Set<FunctionEntry>();
  sleep: SleepState = 'awake';
  wokenAt = 0;
  sleptAt = 0;

  private readonly decoder: Decoder;
  private readonly output: WriteQueue;
  private readonly partial: PartialPacketWatch;
  private closing = false;
  private closed = false;
  private readPaused = false;
  /** A GRAB answer is queued: write at the end of this read. */
  private grabAnswered = false;

  constructor(
    private readonly socket: PeerSocket,
    id: number,
    private readonly handlers: PeerHandlers,
    private readonly limits: PeerLimits,
    private readonly logger: Logger,
  ) {
    this.id = id;
    this.address = (socket.remoteAddress ?? '-').replace(/^::ffff:/, '');
    this.certName = verifiedCommonName(socket);
    this.decoder = new Decoder(
      { packet: (packet) => handlers.packet(this, packet), text: (line) => handlers.text(this, line) },
      // Read as gearmand reads: a misdirected packet is answered, not a reason to close; admin
      // lines stay bytes (one char per byte), as function names are.
      { expect: 'ANY', framing: 'gearmand', text: 'latin1', maxPacketSize: limits.maxPacketSize, maxLineLength: limits.maxLineLength },
    );
    this.output = new WriteQueue(socket, () => {
      // Reading stays paused only while the socket still holds output; otherwise no 'drain' would come.
      if (this.readPaused && socket.writableLength === 0) this.drained();
    });
    this.partial = new PartialPacketWatch(this.decoder, limits.partialPacketTimeoutMs, (err) => this.drop(err.message));
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
    for (const chunk of chunks) this.output.push(chunk);
    const { backlog } = this.output;
    if (backlog > this.limits.maxOutboundBytes) {
      this.drop(`more than ${this.limits.maxOutboundBytes} bytes of output unread`);
      return;
    }
    if (!this.readPaused && backlog > Math.min(READ_PAUSE_BYTES, this.limits.maxOutboundBytes / 2)) this.pauseReading();
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

  answerGrab(chunks: readonly Uint8Array[]): void {
    this.send(chunks);
    this.grabAnswered = true;
  }

  /** Sends what is queued, then closes. */
  end(): void {
    if (this.closing) return;
    this.output.flush();
    this.closing = true;
    this.partial.stop();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref?.();
  }

  /** Closes at once, dropping unsent output. */
  drop(reason: string): void {
    if (this.closed) return;
    this.logger.warn(`${this.label}: dropping the connection: ${reason}`);
    this.closing = true;
    this.output.discard();
    this.partial.stop();
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
    // The rest (JOB_CREATED, results fanning in to a client from several workers) waits for the
    // turn's end, to leave in fewer writes.
    if (this.grabAnswered) {
      this.grabAnswered = false;
      this.output.flush();
    }
    // Slowloris guard: a packet or line that has started must end in time (unless we stopped reading).
    if (!this.readPaused) this.partial.check();
  }

  private pauseReading(): void {
    this.readPaused = true;
    this.socket.pause();
    // The peer cannot be blamed for a packet we stopped reading.
    this.partial.stop();
  }

  private drained(): void {
    if (!this.readPaused || this.closing) return;
    this.readPaused = false;
    this.socket.resume();
    this.partial.check();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    this.partial.stop();
    this.output.discard();
    this.handlers.closed(this);
  }
}
