/** Binary requests from clients and workers, read the way gearmand 1.1.20 reads them. */
import { MAX_TIMER_MS } from '../../util/timers.ts';
import type { Packet } from '../codec/decoder.ts';
import { Type } from '../codec/packets.ts';
import type { ConnectionGrants } from './acl/grants.ts';
import type { Broker, BrokerPeer, GrabKind } from './broker.ts';
import { HIGH, type Job, LOW, NORMAL, type Priority } from './job.ts';
import { latin1 } from '../codec/text.ts';
import { MAX_FUNCTION_LENGTH, MAX_HANDLE_LENGTH, MAX_UNIQUE_LENGTH } from './job-store.ts';
import { ERRORS, errorPacket, response } from './wire.ts';

/** What a request handler needs of its connection beyond the broker's view. */
export interface RequestPeer extends BrokerPeer {
  clientId: string;
  exceptions: boolean;
  /** The job this worker last ended with WORK_EXCEPTION. */
  exceptionHandle: string | undefined;
  /** What the access rules allow this connection; undefined when no rules are loaded (all is allowed). */
  readonly grants: ConnectionGrants | undefined;
}

/** gearmand keeps 127 bytes of a client id (GEARMAND_SERVER_CON_ID_SIZE). */
const MAX_CLIENT_ID = 127;

const SUBMIT: ReadonlyMap<number, readonly [Priority, boolean]> = new Map([
  [Type.SUBMIT_JOB, [NORMAL, false]],
  [Type.SUBMIT_JOB_BG, [NORMAL, true]],
  [Type.SUBMIT_JOB_HIGH, [HIGH, false]],
  [Type.SUBMIT_JOB_HIGH_BG, [HIGH, true]],
  [Type.SUBMIT_JOB_LOW, [LOW, false]],
  [Type.SUBMIT_JOB_LOW_BG, [LOW, true]],
]);

const GRABS: ReadonlyMap<number, GrabKind> = new Map([
  [Type.GRAB_JOB, 'GRAB_JOB'],
  [Type.GRAB_JOB_UNIQ, 'GRAB_JOB_UNIQ'],
  [Type.GRAB_JOB_ALL, 'GRAB_JOB_ALL'],
]);

/** strtol: a decimal prefix, 0 when there is none. */
function leadingInteger(bytes: Uint8Array): number {
  const n = Number.parseInt(latin1(bytes), 10);
  return Number.isFinite(n) ? n : 0;
}

function optionName(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return latin1(nul < 0 ? bytes : bytes.subarray(0, nul)).replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

function refuse(peer: RequestPeer, error: readonly [string, string]): void {
  peer.send(errorPacket(error[0], error[1]));
}

/** The ERROR code of every refusal by the access rules; the text says what and for whom. */
export const PERMISSION_DENIED = 'PERMISSION_DENIED';

/** False (after answering ERROR and logging) when the rules do not let the peer `action` the function. */
function denied(grants: ConnectionGrants, peer: RequestPeer, action: 'register' | 'submit', functionName: Uint8Array): boolean {
  return deniedName(grants, peer, action, latin1(functionName));
}

function deniedName(grants: ConnectionGrants, peer: RequestPeer, action: 'register' | 'submit', name: string): boolean {
  if (grants.may(action, name)) return false;
  peer.send(errorPacket(PERMISSION_DENIED, grants.refused(`${action} ${name}`)));
  return true;
}

export function handleRequest(broker: Broker, peer: RequestPeer, packet: Packet): void {
  if (packet.magic === 'RES') return refuse(peer, ERRORS.requestMagic);
  const args = packet.args;
  const type = packet.type;
  const grants = peer.grants;
  const submit = SUBMIT.get(type);
  if (submit !== undefined) {
    // Decoded once for the rules and the job store alike: this is the path every job takes.
    let functionNameText: string | undefined;
    if (grants !== undefined) {
      functionNameText = latin1(args[0]!);
      if (deniedName(grants, peer, 'submit', functionNameText)) return;
    }
    const [priority, background] = submit;
    broker.submit(peer, { functionName: args[0]!, functionNameText, unique: args[1]!, payload: args[2]!, priority, background }, !background);
    return;
  }
  const grab = GRABS.get(type);
  if (grab !== undefined) return broker.grab(peer, grab);

  switch (type) {
    case Type.ECHO_REQ:
      return peer.send(response(Type.ECHO_RES, [args[0]!]));
    case Type.SUBMIT_JOB_EPOCH: {
      if (grants !== undefined && denied(grants, peer, 'submit', args[0]!)) return;
      const runAt = leadingInteger(args[2]!) * 1000;
      const submission = { functionName: args[0]!, unique: args[1]!, payload: args[3]!, priority: NORMAL, background: true, runAt };
      return broker.submit(peer, submission, false);
    }
    case Type.SUBMIT_REDUCE_JOB:
    case Type.SUBMIT_REDUCE_JOB_BACKGROUND: {
      const [functionName, unique, reducer, , payload] = args as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
      if (reducer.length > MAX_FUNCTION_LENGTH) return refuse(peer, ERRORS.functionTooLarge);
      if (grants !== undefined && (denied(grants, peer, 'submit', functionName) || denied(grants, peer, 'submit', reducer))) return;
      const foreground = type === Type.SUBMIT_REDUCE_JOB;
      return broker.submit(peer, { functionName, unique, payload, reducer, priority: NORMAL, background: !foreground }, foreground);
    }
    case Type.GET_STATUS: {
      const handle = args[0]!;
      if (handle.length > MAX_HANDLE_LENGTH) return refuse(peer, ERRORS.handleTooLarge);
      const job = broker.store.jobs.get(latin1(handle));
      if (grants !== undefined && statusDenied(grants, peer, job, handle)) return;
      const known = job === undefined ? ['0', '0', '0', '0'] : ['1', running(job.state), job.numerator, job.denominator];
      return peer.send(response(Type.STATUS_RES, [handle, ...known]));
    }
    case Type.GET_STATUS_UNIQUE: {
      const unique = args[0]!;
      if (unique.length > MAX_UNIQUE_LENGTH) return refuse(peer, ERRORS.uniqueTooLarge);
      const job = broker.store.findByUnique(latin1(unique));
      if (grants !== undefined && statusDenied(grants, peer, job, unique)) return;
      const fields =
        job === undefined
          ? ['0', '0', '0', '0', '0']
          : ['1', running(job.state), job.numerator, job.denominator, `${job.waiters.length}`];
      return peer.send(response(Type.STATUS_RES_UNIQUE, [unique, ...fields]));
    }
    case Type.OPTION_REQ:
      // gearmand compares the option as a C string (up to a NUL), ignoring ASCII case, and echoes all of it.
      if (optionName(args[0]!) !== 'exceptions') return refuse(peer, ERRORS.unknownOption);
      peer.exceptions = true;
      return peer.send(response(Type.OPTION_RES, [args[0]!]));
    case Type.SET_CLIENT_ID:
      peer.clientId = latin1(args[0]!.subarray(0, MAX_CLIENT_ID));
      return;
    case Type.CAN_DO:
    case Type.CAN_DO_TIMEOUT: {
      const name = args[0]!;
      if (name.length > MAX_FUNCTION_LENGTH) return refuse(peer, ERRORS.functionTooLarge);
      // Refused before the broker hears of it: the function is never routed to this connection.
      if (grants !== undefined && denied(grants, peer, 'register', name)) return;
      const timeoutMs = type === Type.CAN_DO ? 0 : Math.min(MAX_TIMER_MS, Math.max(0, leadingInteger(args[1]!)));
      return broker.canDo(peer, name, timeoutMs);
    }
    case Type.CANT_DO:
      return broker.cantDo(peer, latin1(args[0]!));
    case Type.RESET_ABILITIES:
      return broker.resetAbilities(peer);
    case Type.PRE_SLEEP:
      return broker.preSleep(peer);
    case Type.WORK_STATUS:
    case Type.WORK_DATA:
    case Type.WORK_WARNING:
    case Type.WORK_COMPLETE:
    case Type.WORK_FAIL:
    case Type.WORK_EXCEPTION:
      return workResult(broker, peer, type, args);
    default:
      // Replies sent as requests, the reserved type 5, ALL_YOURS, SUBMIT_JOB_SCHED (which gearmand 1.1.20 refuses too).
      return refuse(peer, ERRORS.notExpected);
  }
}

/**
 * GET_STATUS* needs the submit grant for the job's function; about a job it does not know, the
 * server answers only a peer that may submit something, so nobody else can probe for jobs.
 */
function statusDenied(grants: ConnectionGrants, peer: RequestPeer, job: Job | undefined, asked: Uint8Array): boolean {
  if (job === undefined ? grants.submitsAnything : grants.may('submit', job.fn.name)) return false;
  const about = job === undefined ? `status of ${latin1(asked)}` : `status of ${job.fn.name}`;
  peer.send(errorPacket(PERMISSION_DENIED, grants.refused(about)));
  return true;
}

function running(state: string): string {
  return state === 'running' ? '1' : '0';
}

/** gearmand answers a result for a job the worker does not hold with these texts. */
const NOT_FOUND: ReadonlyMap<number, readonly [string, string]> = new Map<number, readonly [string, string]>([
  [Type.WORK_STATUS, ERRORS.workResultNotFound],
  [Type.WORK_DATA, ERRORS.workDataNotFound],
  [Type.WORK_WARNING, ERRORS.workDataNotFound],
  [Type.WORK_COMPLETE, ERRORS.workResultNotFound],
  [Type.WORK_FAIL, ERRORS.workResultNotFound],
  [Type.WORK_EXCEPTION, ERRORS.exceptionNotFound],
]);

function workResult(broker: Broker, peer: RequestPeer, type: number, args: readonly Uint8Array[]): void {
  const terminal = type === Type.WORK_COMPLETE || type === Type.WORK_FAIL;
  if (terminal && peer.exceptionHandle !== undefined && peer.exceptionHandle === latin1(args[0]!)) {
    // Perl's Gearman::Worker follows WORK_EXCEPTION with WORK_FAIL, and dies on the ERROR
    // gearmand 1.1.20 answers (its WORK_EXCEPTION already ended the job). Accept it quietly.
    peer.exceptionHandle = undefined;
    return;
  }
  const job = broker.runningJob(peer, args[0]!, NOT_FOUND.get(type)!);
  if (job === undefined) return;
  if (terminal) broker.finish(job, type, args);
  else if (type === Type.WORK_EXCEPTION) {
    broker.exception(job, args[1]!);
    peer.exceptionHandle = job.handle;
  } else broker.update(job, type, args);
}
