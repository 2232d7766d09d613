import { CodedError } from '../../errors/coded-error.ts';

export type ClientErrorCode =
  | 'WORK_FAIL'
  | 'WORK_EXCEPTION'
  | 'SERVER_ERROR'
  | 'ACCESS_DENIED'
  | 'CONNECTION_LOST'
  | 'NO_SERVER'
  | 'CONNECT_TIMEOUT'
  | 'TIMEOUT'
  | 'ABORTED';

export interface JobContext {
  readonly functionName?: string;
  readonly handle?: string;
  readonly server?: string;
  /** Where the call that submitted the job came from, so an async failure points at its caller. */
  readonly callerStack?: CallSite;
}

/** A stack captured at call time and only formatted if an error needs it. */
export interface CallSite {
  readonly stack?: string;
}

/** Any failure a client call reports: a stable code, and the job it concerns. */
export class ClientError extends CodedError<ClientErrorCode> {
  override readonly name: string;
  readonly functionName: string | undefined;
  readonly handle: string | undefined;
  readonly server: string | undefined;

  constructor(code: ClientErrorCode, message: string, context: JobContext = {}, cause?: unknown, name = 'ClientError') {
    const about = [context.functionName, context.handle, context.server].filter(Boolean).join(' ');
    super(code, about ? `${message} (${about})` : message, cause === undefined ? undefined : { cause });
    // Set here, not as a field, so the stack below already carries the subclass's name.
    this.name = name;
    this.functionName = context.functionName;
    this.handle = context.handle;
    this.server = context.server;
    const caller = context.callerStack?.stack;
    if (caller) this.stack = `${name}: ${this.message}\n${caller.slice(caller.indexOf('\n') + 1)}`;
  }
}

/** The worker answered WORK_FAIL; `reason` is the last WORK_WARNING it sent before, if any. */
export class JobFailedError extends ClientError {
  constructor(
    context: JobContext,
    readonly reason?: string,
  ) {
    super('WORK_FAIL', reason ? `the job failed: ${reason}` : 'the job failed', context, undefined, 'JobFailedError');
  }
}

/** The worker answered WORK_EXCEPTION; `detail` is its message. */
export class JobExceptionError extends ClientError {
  constructor(
    readonly detail: string,
    context: JobContext,
  ) {
    super('WORK_EXCEPTION', `the job raised: ${detail}`, context, undefined, 'JobExceptionError');
  }
}

/** The server answered ERROR. */
export class ServerError extends ClientError {
  constructor(
    readonly serverCode: string,
    readonly text: string,
    context: JobContext,
  ) {
    super('SERVER_ERROR', `server error ${serverCode}: ${text}`, context, undefined, 'ServerError');
  }
}

/** The server's access rules do not let this connection's certificate submit the job (ERROR PERMISSION_DENIED). */
export class AccessDeniedError extends ClientError {
  constructor(
    readonly text: string,
    context: JobContext,
  ) {
    super('ACCESS_DENIED', `the server refused: ${text}`, context, undefined, 'AccessDeniedError');
  }
}

/** The ERROR code our job server refuses with when its access rules do not grant a request. */
export const PERMISSION_DENIED = 'PERMISSION_DENIED';

/**
 * Captures the caller's stack (formatted at once by the engine, about 17 µs: fine for
 * submitBackground and the status calls; submit() takes its caller's stack only when a job fails).
 */
export function callerStack(below: Function): CallSite {
  const site: { stack?: string } = {};
  Error.captureStackTrace(site, below);
  return site;
}
