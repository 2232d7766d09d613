import type { Logger } from '../../util/log.ts';
import { Connection, type ConnectionOptions } from '../transport/connection.ts';
import type { Packet } from '../codec/decoder.ts';
import type { Arg } from '../codec/encoder.ts';
import { ProtocolError } from '../codec/errors.ts';
import { Type, packetName } from '../codec/packets.ts';
import { encodePacketBuffer } from '../codec/encoder.ts';
import { utf8 } from '../codec/text.ts';
import type { WorkerJob } from './worker-job.ts';

export interface RegisteredFunction {
  readonly name: string;
  /** Sent as CAN_DO_TIMEOUT (ASCII milliseconds) when set. */
  readonly timeoutMs?: number;
}

/** A job as it arrived: the arguments nobody may read stay bytes (views into the received chunk). */
export interface AssignedJob {
  readonly handle: Uint8Array;
  readonly functionName: string;
  /** Absent for JOB_ASSIGN, which carries none. */
  readonly unique: Uint8Array | undefined;
  readonly payload: Uint8Array;
}

/** What a link asks of the worker that owns it. */
export interface LinkOwner {
  functions(): Iterable<RegisteredFunction>;
  clientId(): string | undefined;
  /**
   * A GRAB was answered, or can no longer be: its reserved slot goes to the job that came,
   * or is freed when none did.
   */
  grabSettled(link: WorkerLink, job?: AssignedJob): void;
  /** The link may grab again (connected, or woken by NOOP). */
  wake(link: WorkerLink): void;
  lost(link: WorkerLink, reason: Error): void;
}

export interface WorkerLinkOptions extends ConnectionOptions {
  /**
   * How long a GRAB_JOB_UNIQ may go unanswered before the connection is dropped. A GRAB holds
   * one of the class's slots, so a server that takes connections but never answers would
   * otherwise starve the class on every other server.
   */
  readonly grabTimeoutMs?: number;
}

const DEFAULT_GRAB_TIMEOUT_MS = 30_000;
/** The same bytes every time: encoded once. */
const GRAB_JOB_UNIQ = encodePacketBuffer('REQ', Type.GRAB_JOB_UNIQ, []);

/**
 * One worker connection to one server for one job class. It registers only that class's
 * functions, so a GRAB on it can only ever return a job the class has a slot for.
 */
/** Our job server refuses a CAN_DO with ERROR PERMISSION_DENIED "register <function>: not granted to <who>". */
const PERMISSION_DENIED = 'PERMISSION_DENIED';
const REFUSED_REGISTRATION = /^register (.*): not granted to /s;

export class WorkerLink {
  readonly connection: Connection;
  /** May grab: connected and not sleeping after NO_JOB. */
  awake = false;
  /** GRABs sent here and not answered yet; each holds one of the class's slots. */
  grabsPending = 0;
  /**
   * The last answer here was a job, so more may be queued: several GRABs may be in flight.
   * After a wake-up only one is, so a server that went silent holds one slot, not all of them.
   */
  jobsFlowing = false;
  /** Jobs received on the current session of this connection. */
  readonly jobs = new Set<WorkerJob>();
  /** Functions unregistered while a job of theirs runs here: CANT_DO goes out when it ends. */
  private readonly retiring = new Set<string>();
  /** Functions whose CAN_DO the server's access rules refused, already logged. */
  private readonly refusedFunctions = new Set<string>();
  private readonly grabTimeoutMs: number;
  private grabTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * When the GRABs in flight last made progress (the first was sent, or one was answered). The
   * timer checks it when it fires instead of being re-armed with every answer: a setTimeout and
   * a clearTimeout per job cost more than a whole decode.
   */
  private grabProgressAt = 0;
  /** The last function name a job came for; a worker's jobs mostly repeat a few names. */
  private lastName: { readonly bytes: Uint8Array; readonly text: string } = { bytes: new Uint8Array(0), text: '' };

  constructor(
    private readonly owner: LinkOwner,
    private readonly logger: Logger,
    options: WorkerLinkOptions,
  ) {
    this.grabTimeoutMs = options.grabTimeoutMs ?? DEFAULT_GRAB_TIMEOUT_MS;
    this.connection = new Connection(
      {
        connected: () => this.registerAll(),
        disconnected: (reason) => this.disconnected(reason),
        packet: (packet) => this.receive(packet),
        text: (line) => this.logger.debug(`${this.label}: ignoring a text line from the server (${line.length} bytes)`),
      },
      options,
    );
  }

  get label(): string {
    return `worker ${this.connection.server.host}:${this.connection.server.port}`;
  }

  send(type: number, args: readonly Arg[]): boolean {
    return this.connection.send(type, args);
  }

  writable(): Promise<void> {
    return this.connection.writable();
  }

  grab(): void {
    if (!this.connection.sendEncoded(GRAB_JOB_UNIQ)) return;
    if (this.grabsPending++ > 0) return;
    this.grabProgressAt = Date.now();
    this.grabTimer ??= setTimeout(() => this.checkGrabs(), this.grabTimeoutMs);
  }

  /** A GRAB was answered; the server answers them in order, so the next one is timed from now. */
  private grabAnswered(): void {
    this.grabsPending--;
    this.grabProgressAt = Date.now();
  }

  /** Drops the connection when the GRABs in flight made no progress for the grab timeout. */
  private checkGrabs(): void {
    this.grabTimer = undefined;
    if (this.grabsPending === 0) return;
    const left = this.grabProgressAt + this.grabTimeoutMs - Date.now();
    if (left > 0) {
      this.grabTimer = setTimeout(() => this.checkGrabs(), left);
      return;
    }
    this.connection.destroy(
      new ProtocolError('REPLY_TIMEOUT', `no answer to GRAB_JOB_UNIQ within ${this.grabTimeoutMs} ms`, { type: Type.GRAB_JOB_UNIQ }),
    );
  }

  canDo(fn: RegisteredFunction): void {
    if (fn.timeoutMs !== undefined && fn.timeoutMs > 0) {
      this.send(Type.CAN_DO_TIMEOUT, [fn.name, String(Math.round(fn.timeoutMs))]);
    } else {
      this.send(Type.CAN_DO, [fn.name]);
    }
  }

  /**
   * Unregisters a function. gearmand drops a worker's running jobs of a function it sends
   * CANT_DO for (their results then get JOB_NOT_FOUND), so while a job of it still runs here
   * the CANT_DO waits until that job has sent its result.
   */
  cantDo(name: string): void {
    for (const job of this.jobs) {
      if (job.functionName === name) {
        this.retiring.add(name);
        return;
      }
    }
    this.send(Type.CANT_DO, [name]);
  }

  /** A job left this link: send the CANT_DOs that waited for it. */
  jobDone(job: WorkerJob): void {
    this.jobs.delete(job);
    if (!this.retiring.has(job.functionName)) return;
    for (const other of this.jobs) if (other.functionName === job.functionName) return;
    this.retiring.delete(job.functionName);
    this.send(Type.CANT_DO, [job.functionName]);
  }

  /** Registering again cancels a CANT_DO still waiting; true when there was one (the server still has the function). */
  keep(name: string): boolean {
    return this.retiring.delete(name);
  }

  private registerAll(): void {
    const id = this.owner.clientId();
    if (id) this.send(Type.SET_CLIENT_ID, [id]);
    for (const fn of this.owner.functions()) this.canDo(fn);
    this.awake = true;
    this.jobsFlowing = false;
    this.owner.wake(this);
  }

  private disconnected(reason: Error): void {
    clearTimeout(this.grabTimer);
    this.grabTimer = undefined;
    this.awake = false;
    for (; this.grabsPending > 0; this.grabsPending--) this.owner.grabSettled(this);
    for (const job of this.jobs) job.markConnectionLost(reason.message);
    this.jobs.clear();
    this.retiring.clear();
    this.owner.lost(this, reason);
  }

  private receive(packet: Packet): void {
    switch (packet.type) {
      case Type.NOOP:
        this.awake = true;
        this.jobsFlowing = false;
        this.owner.wake(this);
        return;
      case Type.NO_JOB:
        // Asleep first, so freeing the reserved slot does not grab here again; PRE_SLEEP once
        // the last GRAB in flight has been answered.
        this.awake = false;
        this.jobsFlowing = false;
        if (this.grabsPending <= 1) this.send(Type.PRE_SLEEP, []);
        this.settleGrab();
        return;
      case Type.JOB_ASSIGN_UNIQ:
      case Type.JOB_ASSIGN_ALL:
      case Type.JOB_ASSIGN: {
        const { args } = packet;
        // JOB_ASSIGN has no unique; JOB_ASSIGN_ALL carries a reducer before the data.
        const unique = packet.type === Type.JOB_ASSIGN ? undefined : args[2]!;
        // A job came, so more may be queued: this link may grab again.
        this.awake = true;
        this.jobsFlowing = true;
        if (this.grabsPending > 0) this.grabAnswered();
        this.owner.grabSettled(this, { handle: args[0]!, functionName: this.functionName(args[1]!), unique, payload: args[args.length - 1]! });
        return;
      }
      case Type.ERROR: {
        const [code, text] = packet.args.map(utf8) as [string, string];
        const refused = code === PERMISSION_DENIED ? REFUSED_REGISTRATION.exec(text)?.[1] : undefined;
        if (refused === undefined) this.logger.warn(`${this.label}: server error ${code}: ${text}`);
        else if (!this.refusedFunctions.has(refused)) {
          // Once per function: it is sent again after every reconnect, and refused again.
          this.refusedFunctions.add(refused);
          this.logger.error(`${this.label}: the server refused to let this worker register ${refused}: ${text}`);
        }
        return;
      }
      default:
        this.logger.debug(`${this.label}: ignoring ${packetName(packet.type)}`);
    }
  }

  /** The function name of a JOB_ASSIGN: decoded only when it differs from the last one. */
  private functionName(bytes: Uint8Array): string {
    const last = this.lastName;
    if (bytes.length === last.bytes.length) {
      let i = 0;
      while (i < bytes.length && bytes[i] === last.bytes[i]) i++;
      if (i === bytes.length) return last.text;
    }
    // A copy: a long name is a view that pins the whole chunk it came in.
    this.lastName = { bytes: Uint8Array.from(bytes), text: utf8(bytes) };
    return this.lastName.text;
  }

  private settleGrab(): void {
    if (this.grabsPending === 0) return;
    this.grabAnswered();
    this.owner.grabSettled(this);
  }
}
