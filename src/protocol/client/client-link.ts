import type { Logger } from '../../util/log.ts';
import { AccessDeniedError, type CallSite, ClientError, JobExceptionError, JobFailedError, PERMISSION_DENIED, ServerError } from './client-errors.ts';
import { Connection, type ConnectionOptions } from '../transport/connection.ts';
import type { Packet } from '../codec/decoder.ts';
import type { Arg } from '../codec/encoder.ts';
import { Type, packetName } from '../codec/packets.ts';
import { describeServer } from '../transport/connect-address.ts';
import { utf8 } from '../codec/text.ts';

/** A WORK_FAIL's reason kept at most: its line and a failed build's log tail (50 lines of at most 240 characters). */
export const MAX_WARNING_BYTES = 16 * 1024;

/** A foreground job waiting for its WORK_* packets. */
export interface Task {
  readonly functionName: string;
  readonly callerStack: CallSite | undefined;
  handle?: string;
  /** The last WORK_WARNING: the reason a WORK_FAIL that follows reports. */
  lastWarning?: string;
  onData?: ((chunk: Uint8Array) => void) | undefined;
  onWarning?: ((chunk: Uint8Array) => void) | undefined;
  onStatus?: ((numerator: number, denominator: number) => void) | undefined;
  resolve(data: Uint8Array): void;
  reject(err: Error): void;
}

/** The reply kinds a request waits for, in the order the server answers them. */
type ReplyKind = 'JOB_CREATED' | 'OPTION_RES' | 'STATUS_RES' | 'STATUS_RES_UNIQUE' | 'ECHO_RES';

export interface Reply {
  replied(packet: Packet): void;
  reject(err: Error): void;
}

interface Waiting {
  readonly kind: ReplyKind;
  readonly functionName: string | undefined;
  readonly callerStack: CallSite | undefined;
  readonly reply: Reply;
  /** When the reply is overdue (epoch ms); 0: it may take any time. */
  readonly deadline: number;
  /** Rejected with TIMEOUT; it still holds its place, so the late reply is matched to it. */
  expired: boolean;
}

const IGNORED_REPLY: Reply = { replied: () => {}, reject: () => {} };

/** Replies some servers never send (gear's geard ignores OPTION_REQ and ECHO_REQ). */
const OPTIONAL: ReadonlySet<ReplyKind> = new Set(['OPTION_RES', 'ECHO_RES']);
const REPLY_KIND: ReadonlyMap<number, ReplyKind> = new Map([
  [Type.JOB_CREATED, 'JOB_CREATED'],
  [Type.OPTION_RES, 'OPTION_RES'],
  [Type.STATUS_RES, 'STATUS_RES'],
  [Type.STATUS_RES_UNIQUE, 'STATUS_RES_UNIQUE'],
  [Type.ECHO_RES, 'ECHO_RES'],
]);

/**
 * A client's connection to one server. Replies to requests are matched in order (gearmand
 * answers each connection's requests in sequence); WORK_* packets are routed by job handle.
 */
export class ClientLink {
  readonly connection: Connection;
  readonly name: string;
  private waiting: Waiting[] = [];
  private readonly tasks = new Map<string, Task[]>();
  /**
   * One timer for every request waiting here, armed for the oldest: a timer per request would
   * cost a setTimeout and a clearTimeout per job.
   */
  private replyTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly logger: Logger,
    options: ConnectionOptions,
    private readonly onConnected: (link: ClientLink) => void,
    /** How long a server may take to answer a timed request. */
    private readonly replyTimeoutMs = 10_000,
  ) {
    this.name = describeServer(options.server);
    this.connection = new Connection(
      {
        connected: () => this.onConnected(this),
        disconnected: (reason) => this.failAll(reason),
        packet: (packet) => this.receive(packet),
        text: () => this.logger.debug(`client ${this.name}: ignoring a text line`),
      },
      options,
    );
  }

  get pending(): number {
    return this.waiting.length + this.tasks.size;
  }

  /**
   * Sends a request; `reply` runs synchronously when the answer is decoded, so a WORK_* packet
   * that arrives in the same chunk as JOB_CREATED already finds its job tracked. A `timed`
   * request is rejected with TIMEOUT when no answer came within the reply timeout.
   */
  request(type: number, args: readonly Arg[], kind: ReplyKind, reply: Reply, functionName?: string, stack?: CallSite, timed = false): void {
    if (!this.connection.send(type, args)) {
      reply.reject(new ClientError('CONNECTION_LOST', 'not connected', this.context(functionName, undefined, stack)));
      return;
    }
    const deadline = timed ? Date.now() + this.replyTimeoutMs : 0;
    this.waiting.push({ kind, functionName, callerStack: stack, reply, deadline, expired: false });
    if (timed && this.replyTimer === undefined) this.armReplyTimer();
  }

  /** `request`, timed, as a promise of the answering packet. */
  ask(type: number, args: readonly Arg[], kind: ReplyKind, functionName?: string, stack?: CallSite): Promise<Packet> {
    return new Promise((replied, reject) => this.request(type, args, kind, { replied, reject }, functionName, stack, true));
  }

  /** Fire-and-forget request whose answer may never come (OPTION_REQ on gear's geard). */
  requestOptional(type: number, args: readonly Arg[], kind: ReplyKind): void {
    this.request(type, args, kind, IGNORED_REPLY);
  }

  private armReplyTimer(): void {
    const next = this.waiting.find((w) => w.deadline > 0 && !w.expired);
    if (next) this.replyTimer = setTimeout(() => this.expireReplies(), Math.max(0, next.deadline - Date.now()));
  }

  /** Rejects the requests whose answer is overdue (they are in deadline order) and re-arms for the next. */
  private expireReplies(): void {
    this.replyTimer = undefined;
    const now = Date.now();
    for (const w of this.waiting) {
      if (w.deadline === 0 || w.expired) continue;
      if (w.deadline > now) break;
      w.expired = true;
      const context = this.context(w.functionName, undefined, w.callerStack);
      w.reply.reject(new ClientError('TIMEOUT', `the server sent no ${w.kind} within ${this.replyTimeoutMs} ms`, context));
    }
    this.armReplyTimer();
  }

  track(handle: string, task: Task): void {
    task.handle = handle;
    const list = this.tasks.get(handle);
    if (list) list.push(task);
    else this.tasks.set(handle, [task]);
  }

  untrack(task: Task): void {
    if (task.handle === undefined) return;
    const list = this.tasks.get(task.handle);
    if (!list) return;
    const rest = list.filter((t) => t !== task);
    if (rest.length) this.tasks.set(task.handle, rest);
    else this.tasks.delete(task.handle);
  }

  private receive(packet: Packet): void {
    const kind = REPLY_KIND.get(packet.type);
    if (kind) return this.answer(kind, packet);
    switch (packet.type) {
      case Type.ERROR:
        return this.serverError(packet);
      case Type.WORK_COMPLETE:
        return this.finish(packet, (task) => task.resolve(packet.args[1]!));
      case Type.WORK_FAIL:
        return this.finish(packet, (task) => task.reject(new JobFailedError(this.taskContext(task), task.lastWarning)));
      case Type.WORK_EXCEPTION:
        return this.finish(packet, (task) =>
          task.reject(new JobExceptionError(utf8(packet.args[1]!), this.taskContext(task))),
        );
      case Type.WORK_DATA:
        return this.each(packet, (task) => task.onData?.(packet.args[1]!));
      case Type.WORK_WARNING:
        return this.each(packet, (task) => {
          task.lastWarning = utf8(packet.args[1]!.subarray(0, MAX_WARNING_BYTES));
          task.onWarning?.(packet.args[1]!);
        });
      case Type.WORK_STATUS: {
        const numerator = Number(utf8(packet.args[1]!));
        const denominator = Number(utf8(packet.args[2]!));
        return this.each(packet, (task) => task.onStatus?.(numerator, denominator));
      }
      default:
        this.logger.debug(`client ${this.name}: ignoring ${packetName(packet.type)}`);
    }
  }

  private answer(kind: ReplyKind, packet: Packet): void {
    const index = this.waiting.findIndex((w) => w.kind === kind);
    if (index < 0 || (index > 0 && this.waiting.slice(0, index).some((w) => !OPTIONAL.has(w.kind)))) {
      this.logger.warn(`client ${this.name}: unexpected ${kind}; dropped`);
      return;
    }
    // Requests before it that servers may leave unanswered are given up.
    const waiter = index === 0 ? this.waiting.shift()! : this.skipTo(index);
    if (!waiter.expired) waiter.reply.replied(packet);
  }

  private skipTo(index: number): Waiting {
    const skipped = this.waiting.splice(0, index + 1);
    const waiter = skipped.pop()!;
    for (const w of skipped) if (!w.expired) w.reply.reject(new ClientError('SERVER_ERROR', `${w.kind} never came`));
    return waiter;
  }

  private serverError(packet: Packet): void {
    const code = utf8(packet.args[0]!);
    const text = utf8(packet.args[1]!);
    const waiter = this.waiting.shift();
    if (!waiter) {
      this.logger.warn(`client ${this.name}: server error ${code}: ${text}`);
      return;
    }
    if (waiter.expired) return;
    const context = this.context(waiter.functionName, undefined, waiter.callerStack);
    waiter.reply.reject(code === PERMISSION_DENIED ? new AccessDeniedError(text, context) : new ServerError(code, text, context));
  }

  private each(packet: Packet, fn: (task: Task) => void): void {
    const list = this.tasks.get(utf8(packet.args[0]!));
    if (list) for (const task of list) fn(task);
  }

  private finish(packet: Packet, fn: (task: Task) => void): void {
    // gearmand 1.1.20 sends the WORK_FAIL it makes from a WORK_EXCEPTION with a NUL after the handle.
    const bytes = packet.args[0]!;
    const handle = utf8(bytes[bytes.length - 1] === 0 ? bytes.subarray(0, -1) : bytes);
    const list = this.tasks.get(handle);
    if (!list) return;
    this.tasks.delete(handle);
    for (const task of list) fn(task);
  }

  private failAll(reason: Error): void {
    const waiting = this.waiting;
    this.waiting = [];
    clearTimeout(this.replyTimer);
    this.replyTimer = undefined;
    for (const w of waiting) {
      if (w.expired) continue;
      w.reply.reject(new ClientError('CONNECTION_LOST', 'the server connection was lost', this.context(w.functionName, undefined, w.callerStack), reason));
    }
    const tasks = [...this.tasks.values()].flat();
    this.tasks.clear();
    for (const task of tasks) {
      task.reject(new ClientError('CONNECTION_LOST', 'the server disconnected while the job ran', this.taskContext(task), reason));
    }
  }

  private taskContext(task: Task) {
    return this.context(task.functionName, task.handle, task.callerStack);
  }

  private context(functionName: string | undefined, handle: string | undefined, callerStack: CallSite | undefined) {
    return {
      server: this.name,
      ...(functionName === undefined ? {} : { functionName }),
      ...(handle === undefined ? {} : { handle }),
      ...(callerStack === undefined ? {} : { callerStack }),
    };
  }
}
