/**
 * The text (admin) protocol on the job server's port, answered in gearmand 1.1.20's formats
 * with the formatters of ../admin.ts. `shutdown` is refused as unknown, as Debian's gearmand
 * 1.1.20 does: stopping the server is the operator's job, not any client's.
 */
import { Buffer } from 'node:buffer';
import pkg from '../../../package.json' with { type: 'json' };
import {
  AdminError,
  type AdminCommand,
  type AdminCommandKind,
  type AdminReply,
  type AdminResults,
  type QueueLimits,
  parseAdminRequest,
  renderAdminReply,
  unknownCommandError,
} from '../codec/admin.ts';
import type { Abilities } from './abilities.ts';
import type { ConnectionGrants } from './acl/grants.ts';
import type { AdminRight } from './acl/rules.ts';
import type { Broker } from './broker.ts';

/** A connection as `workers` lists it. */
export interface ListedConnection {
  readonly id: number;
  readonly address: string;
  readonly clientId: string;
  readonly abilities: Pick<Abilities, 'size' | 'listing'>;
}

export interface AdminContext {
  readonly broker: Broker;
  connections(): Iterable<ListedConnection>;
}

export const SERVER_VERSION: string = pkg.version;

/** gearmand's answer to `verbose` at its default level. */
const VERBOSE_LEVEL = 'ERROR';

/**
 * Answers one request line with the exact bytes gearmand would send. The line holds one char
 * per byte (latin1), as function names and handles do, so any name can be addressed.
 */
export function answerAdminLine(context: AdminContext, line: string, grants?: ConnectionGrants): string {
  // gearmand reads the line as a C string: it ends at the first NUL.
  const nul = line.indexOf('\0');
  const text = nul < 0 ? line : line.slice(0, nul);
  const request = parseAdminRequest(text);
  if (!request.ok) return renderAdminReply('status', { ok: false, error: request.error });
  const { command } = request;
  if (grants !== undefined) {
    const right = ADMIN_RIGHT[command.kind];
    if (!grants.mayAdmin(right)) {
      return renderAdminReply(command.kind, { ok: false, error: new AdminError('PERMISSION_DENIED', grants.refused(`admin ${right}`)) });
    }
  }
  return render(command, context, text.split(/ +/)[0] ?? '');
}

/** The grant each admin command needs; the ones gearmand has beyond the rules' words go with their nearest kin. */
const ADMIN_RIGHT: Readonly<Record<AdminCommandKind, AdminRight>> = {
  status: 'status',
  prioritystatus: 'status',
  workers: 'workers',
  version: 'version',
  getpid: 'version',
  verbose: 'version',
  showJobs: 'show jobs',
  showUniqueJobs: 'show jobs',
  cancelJob: 'cancel job',
  maxqueue: 'maxqueue',
  createFunction: 'create function',
  dropFunction: 'drop function',
  shutdown: 'shutdown',
};

function render(command: AdminCommand, context: AdminContext, word: string): string {
  const answer = <K extends AdminCommandKind>(kind: K, value: AdminResults[K]): string =>
    renderAdminReply(kind, { ok: true, value } as AdminReply<K>);
  const refuse = (error: AdminError): string => renderAdminReply(command.kind, { ok: false, error });
  const { store } = context.broker;
  switch (command.kind) {
    case 'status':
      return answer(
        'status',
        [...store.functions.values()].map((fn) => ({
          function: fn.name,
          total: fn.total,
          running: fn.running,
          workers: fn.workers.size,
        })),
      );
    case 'prioritystatus':
      return answer(
        'prioritystatus',
        [...store.functions.values()].map((fn) => ({
          function: fn.name,
          high: fn.queued[0],
          normal: fn.queued[1],
          low: fn.queued[2],
          workers: fn.workers.size,
        })),
      );
    case 'workers':
      return answer(
        'workers',
        // Each connection's names come joined once (Abilities.listing, newest first as gearmand
        // lists them), not name by name on every request: the row writes them as one.
        [...context.connections()].map((c) => ({
          fd: c.id,
          address: c.address,
          clientId: c.clientId,
          functions: c.abilities.size === 0 ? [] : [c.abilities.listing],
        })),
      );
    case 'version':
      return answer('version', SERVER_VERSION);
    case 'getpid':
      return answer('getpid', process.pid);
    case 'verbose':
      return answer('verbose', VERBOSE_LEVEL);
    case 'showJobs':
      return answer(
        'showJobs',
        [...store.jobs.values()].map((job) => ({
          handle: job.handle,
          retries: job.retries,
          ignored: job.ignored,
          queued: job.persisted,
        })),
      );
    case 'showUniqueJobs':
      return answer('showUniqueJobs', [...store.jobs.values()].map((job) => job.unique));
    case 'cancelJob':
      return context.broker.cancel(command.handle) ? answer('cancelJob', null) : refuse(new AdminError('UNKNOWN_JOB'));
    case 'maxqueue': {
      const fn = store.functions.get(command.function);
      if (fn !== undefined) fn.maxQueue = limits(command.limit);
      return answer('maxqueue', null);
    }
    case 'createFunction':
      store.functionFor(Buffer.from(command.function, 'latin1'));
      return answer('createFunction', null);
    case 'dropFunction': {
      // gearmand matches the name with strcasecmp: ASCII letters only, other bytes exactly.
      const wanted = lowerAscii(command.function);
      const fn = [...store.functions.values()].find((f) => lowerAscii(f.name) === wanted);
      if (fn === undefined) return refuse(new AdminError('FUNCTION_NOT_FOUND', 'function not found'));
      // Unlike gearmand, a function with queued jobs is kept too: dropping it would orphan them.
      if (fn.workers.size > 0 || fn.total > 0) {
        return refuse(new AdminError('FUNCTION_IN_USE', 'there are still connected workers or executing clients'));
      }
      store.functions.delete(fn.name);
      return answer('dropFunction', null);
    }
    case 'shutdown':
      return refuse(unknownCommandError(word));
  }
}

function lowerAscii(text: string): string {
  return text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

/** One number applies to every priority; none makes the queue unlimited again (gearmand's rules). */
function limits(limit: number | QueueLimits | undefined): [number, number, number] {
  if (limit === undefined) return [0, 0, 0];
  if (typeof limit === 'number') return [limit, limit, limit];
  return [limit.high, limit.normal, limit.low];
}
