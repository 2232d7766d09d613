import { toError } from '../../errors/thrown.ts';
import type { Socket } from 'node:net';
import {
  type AdminCommand,
  type AdminCommandKind,
  type AdminReply,
  AdminReplyCollector,
  type AdminResults,
  type FunctionPriorityStatus,
  type FunctionStatus,
  type JobInfo,
  type QueueLimits,
  type WorkerInfo,
  type CollectorOptions,
  collectorFor,
  encodeAdminCommand,
} from '../codec/admin.ts';
import type { AdminParseError } from '../codec/admin-errors.ts';
import { ClientError } from './client-errors.ts';
import { encodeTextLine } from '../codec/encoder.ts';
import { Decoder } from '../codec/decoder.ts';
import { type ServerAddress, describeServer } from '../transport/connect-address.ts';
import { openSocket, readyEvent } from '../transport/socket.ts';

export interface AdminClientOptions {
  /** How long the TCP connect and TLS handshake may take. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** How long a command may wait for its reply. Default 10 s. */
  readonly replyTimeoutMs?: number;
  /**
   * A list row that does not parse (a function name with a newline splits its row) is handed
   * here and skipped; the rest of the reply still counts. Skipped silently when unset.
   */
  readonly onMalformedRow?: (error: AdminParseError, kind: AdminCommandKind) => void;
}

interface PendingCommand {
  readonly collector: AdminReplyCollector<AdminCommandKind>;
  resolve(reply: AdminReply): void;
  reject(err: Error): void;
}

/**
 * The gearman admin protocol over one connection, opened on first use. Commands are
 * pipelined; the server answers them in order. An ERR reply rejects with an AdminError.
 */
export class AdminClient {
  /** The socket in use, once connected. */
  private socket: Socket | undefined;
  /** The socket being connected or in use; events of older ones are ignored. */
  private attempt: Socket | undefined;
  private ready: Promise<Socket> | undefined;
  private readonly pending: PendingCommand[] = [];
  private readonly connectTimeoutMs: number;
  private readonly replyTimeoutMs: number;
  private readonly onMalformedRow: (error: AdminParseError, kind: AdminCommandKind) => void;

  constructor(
    readonly server: ServerAddress,
    options: AdminClientOptions = {},
  ) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.replyTimeoutMs = options.replyTimeoutMs ?? 10_000;
    this.onMalformedRow = options.onMalformedRow ?? (() => {});
  }

  status(): Promise<readonly FunctionStatus[]> {
    return this.send({ kind: 'status' });
  }

  priorityStatus(): Promise<readonly FunctionPriorityStatus[]> {
    return this.send({ kind: 'prioritystatus' });
  }

  workers(): Promise<readonly WorkerInfo[]> {
    return this.send({ kind: 'workers' });
  }

  version(): Promise<string> {
    return this.send({ kind: 'version' });
  }

  pid(): Promise<number> {
    return this.send({ kind: 'getpid' });
  }

  showJobs(): Promise<readonly JobInfo[]> {
    return this.send({ kind: 'showJobs' });
  }

  showUniqueJobs(): Promise<readonly string[]> {
    return this.send({ kind: 'showUniqueJobs' });
  }

  async cancelJob(handle: string): Promise<void> {
    await this.send({ kind: 'cancelJob', handle });
  }

  async maxQueue(functionName: string, limit?: number | QueueLimits): Promise<void> {
    await this.send({ kind: 'maxqueue', function: functionName, ...(limit === undefined ? {} : { limit }) });
  }

  /** Sends any admin command and resolves with its typed result; an ERR reply rejects with AdminError. */
  async send<C extends AdminCommand>(command: C): Promise<AdminResults[C['kind']]> {
    const reply = await this.request(encodeAdminCommand(command), collectorFor(command, this.collectorOptions(command.kind)));
    if (!reply.ok) throw reply.error;
    return reply.value as AdminResults[C['kind']];
  }

  /** Sends a raw admin line and collects its reply as a reply to `kind`, ERR included. */
  sendLine<K extends AdminCommandKind>(line: string, kind: K): Promise<AdminReply<K>> {
    return this.request(encodeTextLine(line), new AdminReplyCollector(kind, this.collectorOptions(kind))) as Promise<AdminReply<K>>;
  }

  private collectorOptions(kind: AdminCommandKind): CollectorOptions {
    return { onMalformedRow: (error) => this.onMalformedRow(error, kind) };
  }

  private async request(bytes: Uint8Array, collector: AdminReplyCollector<AdminCommandKind>): Promise<AdminReply> {
    const socket = await this.connect();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new ClientError('TIMEOUT', `no admin reply within ${this.replyTimeoutMs} ms`, { server: describeServer(this.server) }));
      }, this.replyTimeoutMs);
      this.pending.push({
        collector,
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      socket.write(bytes);
    });
  }

  close(): void {
    const socket = this.attempt;
    // Connected: replies already on their way still arrive. Still connecting: nothing is owed.
    if (socket !== undefined && socket === this.socket) socket.end();
    else socket?.destroy();
    this.attempt = undefined;
    this.socket = undefined;
    this.ready = undefined;
  }

  private connect(): Promise<Socket> {
    if (this.ready) return this.ready;
    const socket = openSocket(this.server);
    const where = describeServer(this.server);
    const decoder = new Decoder({ packet: () => {}, text: (line) => this.receive(line) }, { expect: 'RES' });
    /** Fails what waits on this socket and lets go of it, unless a newer one took its place: the next command connects again. */
    const forget = (failure: ClientError): void => {
      if (this.attempt !== socket && this.attempt !== undefined) return;
      this.fail(failure);
      this.attempt = undefined;
      this.socket = undefined;
      this.ready = undefined;
    };
    const ready = new Promise<Socket>((resolve, reject) => {
      // A peer that takes the connection but never completes it (a full backlog, a TLS handshake
      // that never ends) would otherwise hold the caller forever: replies are timed only once connected.
      const connectTimer = setTimeout(() => {
        const failure = new ClientError('CONNECT_TIMEOUT', `admin connection not established within ${this.connectTimeoutMs} ms`, { server: where });
        forget(failure);
        reject(failure);
        socket.destroy();
      }, this.connectTimeoutMs);
      socket.once(readyEvent(this.server), () => {
        clearTimeout(connectTimer);
        socket.setNoDelay(true);
        this.socket = socket;
        resolve(socket);
      });
      socket.on('data', (chunk: Buffer) => {
        try {
          decoder.push(chunk);
        } catch (err) {
          socket.destroy(toError(err));
        }
      });
      socket.on('error', (err) => {
        clearTimeout(connectTimer);
        const failure = new ClientError('CONNECTION_LOST', `admin connection failed: ${err.message}`, { server: where }, err);
        forget(failure);
        reject(failure);
      });
      socket.on('close', () => {
        clearTimeout(connectTimer);
        const failure = new ClientError('CONNECTION_LOST', 'admin connection closed', { server: where });
        forget(failure);
        reject(failure);
      });
    });
    this.attempt = socket;
    this.ready = ready;
    return ready;
  }

  private receive(line: string): void {
    const head = this.pending[0];
    if (!head) return;
    try {
      const reply = head.collector.push(line);
      if (!reply) return;
      this.pending.shift();
      head.resolve(reply);
    } catch (err) {
      this.pending.shift();
      head.reject(toError(err));
    }
  }

  private fail(err: Error): void {
    for (const command of this.pending.splice(0)) command.reject(err);
    this.socket?.destroy();
  }
}
