import { toError } from '../../errors/thrown.ts';
import { ConnectionError } from './connection-error.ts';
import type { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';
import { type Logger, silentLogger } from '../../util/log.ts';
import { Backoff, type BackoffPolicy, DEFAULT_BACKOFF } from './backoff.ts';
import { type Packet, Decoder } from '../codec/decoder.ts';
import { type Arg, encodePacket, encodeTextLine } from '../codec/encoder.ts';
import { ProtocolError } from '../codec/errors.ts';
import { Type } from '../codec/packets.ts';
import { type ServerAddress, describeServer } from './connect-address.ts';
import { PartialPacketWatch, truncated } from './partial-packet-watch.ts';
import { LivenessProbe } from './liveness-probe.ts';
import { openSocket, readyEvent } from './socket.ts';
import { WriteQueue } from './write-queue.ts';

export interface ConnectionHandlers {
  /** The socket is up (TLS handshake done): (re)register here. */
  connected(): void;
  /** The socket went away; a reconnect is scheduled unless the connection was closed. */
  disconnected(reason: Error): void;
  packet(packet: Packet): void;
  text(line: string): void;
}

export interface ConnectionOptions {
  readonly server: ServerAddress;
  readonly backoff?: Partial<BackoffPolicy>;
  readonly connectTimeoutMs?: number;
  /** TCP keepalive idle time. */
  readonly keepAliveMs?: number;
  /** Send ECHO_REQ after this much silence; 0 turns the probe off. */
  readonly echoIntervalMs?: number;
  /** How long an ECHO_REQ may go unanswered. */
  readonly echoTimeoutMs?: number;
  readonly maxPacketSize?: number;
  /**
   * How long a packet (or text line) that has started arriving may take to complete, plus one
   * second per 64 KiB it declares; a peer trickling bytes is dropped after that.
   */
  readonly partialPacketTimeoutMs?: number;
  readonly logger?: Logger;
  /** Names this connection in logs, e.g. "worker/build". */
  readonly label?: string;
}

const DEFAULT_PARTIAL_PACKET_TIMEOUT_MS = 30_000;

/**
 * One gearman connection to one server, kept up for as long as it is open: it reconnects with
 * jittered exponential backoff, uses TCP_NODELAY and keepalive, and joins the packets sent in
 * one event-loop turn into one write (a job's result and the next GRAB travel together).
 */
export class Connection {
  readonly server: ServerAddress;
  /** Successful connections after the first. */
  reconnects = 0;

  private readonly handlers: ConnectionHandlers;
  private readonly options: ConnectionOptions;
  private readonly logger: Logger;
  private readonly label: string;
  private readonly backoff: Backoff;
  private socket: Socket | undefined;
  private ready = false;
  private closed = false;
  private everConnected = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private output: WriteQueue | undefined;
  private drainWaiters: (() => void)[] = [];
  private lastFailure = '';
  /** Why the last attempt to connect (or the last connection) failed; undefined once connected again. */
  lastError: Error | undefined;
  private probe: LivenessProbe | undefined;

  constructor(handlers: ConnectionHandlers, options: ConnectionOptions) {
    this.handlers = handlers;
    this.options = options;
    this.server = options.server;
    this.logger = options.logger ?? silentLogger;
    this.label = `${options.label ?? 'gearman'} ${describeServer(options.server)}`;
    this.backoff = new Backoff({ ...DEFAULT_BACKOFF, ...options.backoff });
  }

  get connected(): boolean {
    return this.ready;
  }

  start(): void {
    if (this.closed || this.socket || this.retryTimer) return;
    this.open();
  }

  /** Queues a packet; false when the connection is down (the packet is dropped). */
  send(type: number, args: readonly Arg[]): boolean {
    if (!this.ready) return false;
    for (const chunk of encodePacket('REQ', type, args)) this.enqueue(chunk);
    return true;
  }

  /** Queues a packet encoded beforehand (a constant one: it is not copied); false when the connection is down. */
  sendEncoded(packet: Uint8Array): boolean {
    if (!this.ready) return false;
    this.enqueue(packet);
    return true;
  }

  sendText(line: string): boolean {
    if (!this.ready) return false;
    this.enqueue(encodeTextLine(line));
    return true;
  }

  /** Resolves once the socket has taken everything queued (write backpressure). */
  writable(): Promise<void> {
    if (!this.ready || (!this.socket?.writableNeedDrain && !this.output?.queuedBytes)) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Stops reconnecting and closes the socket after flushing what is queued. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const socket = this.socket;
    if (!socket) return;
    this.output?.flush();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => socket.destroy(), 2_000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.end();
    });
  }

  /** Drops the socket now; a reconnect follows unless closed. */
  destroy(reason: Error): void {
    this.socket?.destroy(reason);
  }

  private open(): void {
    const { server } = this;
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    let socket: Socket;
    try {
      socket = openSocket(server);
    } catch (err) {
      this.scheduleReconnect(toError(err), false);
      return;
    }
    this.socket = socket;
    const output = new WriteQueue(socket, () => {
      if (!socket.writableNeedDrain) this.releaseDrainWaiters();
    });
    let failure: Error | undefined;
    const connectTimer = setTimeout(() => {
      socket.destroy(new ConnectionError('CONNECT_TIMEOUT', `connect timed out after ${timeoutMs} ms`));
    }, timeoutMs);

    const decoder = new Decoder(
      {
        packet: (packet) => this.receive(packet),
        text: (line) => this.handlers.text(line),
      },
      { expect: 'RES', ...(this.options.maxPacketSize ? { maxPacketSize: this.options.maxPacketSize } : {}) },
    );

    socket.once(readyEvent(server), () => {
      clearTimeout(connectTimer);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, this.options.keepAliveMs ?? 30_000);
      this.output = output;
      this.ready = true;
      if (this.everConnected) this.reconnects++;
      this.everConnected = true;
      this.logger.debug(`${this.label}: connected`);
      this.probe = this.startProbe();
      this.handlers.connected();
    });
    const drop = (err: Error): void => {
      failure = err;
      this.logger.warn(`${this.label}: dropping the connection: ${err.message}`);
      socket.destroy(err);
    };
    const partial = new PartialPacketWatch(decoder, this.options.partialPacketTimeoutMs ?? DEFAULT_PARTIAL_PACKET_TIMEOUT_MS, drop);
    socket.on('data', (chunk: Buffer) => {
      this.probe?.heard();
      try {
        decoder.push(chunk);
      } catch (err) {
        drop(toError(err));
        return;
      }
      partial.check();
    });
    socket.on('drain', () => this.releaseDrainWaiters());
    socket.on('error', (err) => {
      failure ??= err;
    });
    socket.once('close', () => {
      clearTimeout(connectTimer);
      partial.stop();
      if (!decoder.idle && !(failure instanceof ProtocolError)) failure = truncated(decoder, failure);
      this.probe?.stop();
      this.probe = undefined;
      const wasReady = this.ready;
      this.ready = false;
      this.socket = undefined;
      output.discard();
      this.output = undefined;
      this.releaseDrainWaiters();
      const reason = failure ?? new ConnectionError('CLOSED_BY_SERVER', 'connection closed by the server');
      if (wasReady) this.handlers.disconnected(reason);
      if (!this.closed) this.scheduleReconnect(reason, wasReady);
    });
  }

  private receive(packet: Packet): void {
    if (this.lastFailure) {
      this.logger.info(`${this.label}: connection restored`);
      this.lastFailure = '';
    }
    this.lastError = undefined;
    this.backoff.reset();
    if (packet.type === Type.ECHO_RES && this.probe?.answers(packet.args[0]!)) return;
    this.handlers.packet(packet);
  }

  private scheduleReconnect(reason: Error, wasReady: boolean): void {
    const delay = this.backoff.next();
    this.lastError = reason;
    // One warning per distinct failure, not one per attempt: a wrong CA must not flood the log.
    const message = reason.message;
    if (message !== this.lastFailure || wasReady) {
      this.logger.warn(`${this.label}: ${wasReady ? 'lost' : 'cannot connect'}: ${message}; retrying with backoff`);
      this.lastFailure = message;
    } else {
      this.logger.debug(`${this.label}: still failing (${message}); next attempt in ${delay} ms`);
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closed) this.open();
    }, delay);
  }

  private enqueue(chunk: Uint8Array): void {
    this.output?.push(chunk);
  }

  private releaseDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private startProbe(): LivenessProbe | undefined {
    const interval = this.options.echoIntervalMs ?? 0;
    if (interval <= 0) return undefined;
    return new LivenessProbe(
      interval,
      this.options.echoTimeoutMs ?? interval,
      (token) => this.send(Type.ECHO_REQ, [token]),
      (reason) => {
        this.logger.warn(`${this.label}: ${reason}`);
        this.destroy(new ConnectionError('NO_ECHO', reason));
      },
      () => this.logger.debug(`${this.label}: the server never answers ECHO_REQ; liveness probe off`),
    );
  }
}
