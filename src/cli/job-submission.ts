import type { FunctionStatus } from '../protocol/codec/admin-replies.ts';
import { AdminClient } from '../protocol/client/admin-client.ts';
import { Client, type JobResult, type SubmitOptions } from '../protocol/client/client.ts';
import { ClientError } from '../protocol/client/client-errors.ts';
import type { Arg } from '../protocol/codec/encoder.ts';
import { type ServerAddress, describeServer } from '../protocol/transport/connect-address.ts';
import { NoWorkerError, UsageError } from './cli-error.ts';
import { describeConnectFailure } from './connect-failure.ts';

/** The longest any single wait of the CLI takes when --timeout does not say otherwise. */
const DEFAULT_WAIT_MS = 10_000;

export const timeoutArg = {
  timeout: {
    type: 'string',
    description: 'Give up waiting after this many seconds: a job still queued then is cancelled, a running one goes on',
    valueHint: 'SECONDS',
  },
} as const;

export const waitArg = {
  wait: { type: 'boolean', description: 'Submit even when no worker registers the function yet, and wait for one' },
} as const;

/** --timeout in milliseconds; any length works (1e308 waits as good as forever). */
export function timeoutMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = value.trim() === '' ? Number.NaN : Number(value);
  if (Number.isNaN(seconds) || seconds <= 0) throw new UsageError(`--timeout takes a number of seconds above 0, got ${JSON.stringify(value)}`);
  return seconds * 1000;
}

/** A deadline for one command: every wait in it takes what is left, and at most its own bound. */
export class Budget {
  private readonly deadline: number;

  constructor(readonly totalMs: number | undefined) {
    this.deadline = totalMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + totalMs;
  }

  /** What is left, or undefined when there is no deadline. */
  remaining(): number | undefined {
    return this.totalMs === undefined ? undefined : Math.max(1, this.deadline - Date.now());
  }

  /** A single wait: the smaller of what is left and `bound`. */
  wait(bound = DEFAULT_WAIT_MS): number {
    return Math.min(bound, this.remaining() ?? bound);
  }

  describe(): string {
    return `${(this.totalMs ?? 0) / 1000} s`;
  }
}

async function adminStatus(server: ServerAddress, timeoutMs: number, signal: AbortSignal): Promise<readonly FunctionStatus[]> {
  const admin = new AdminClient(server, { connectTimeoutMs: timeoutMs, replyTimeoutMs: timeoutMs });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClientError('TIMEOUT', `no admin reply within ${timeoutMs} ms`, { server: describeServer(server) })), timeoutMs);
    onAbort = () => reject(new ClientError('ABORTED', 'another server answered first', { server: describeServer(server) }));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([admin.status(), expired]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
    admin.close();
  }
}

/**
 * Asks every server's admin `status` whether some worker registers the function, so a job
 * nobody can run is refused at once instead of waiting forever.
 */
export async function requireWorker(servers: readonly ServerAddress[], functionName: string, budget: Budget): Promise<void> {
  const registers = (rows: readonly FunctionStatus[]) => rows.some((row) => row.function === functionName && row.workers > 0);
  const done = new AbortController();
  const asks = servers.map((server) => adminStatus(server, budget.wait(), done.signal));
  // The first server with a worker settles it: a server that is down must not hold the others up.
  const found = new Promise<true>((resolve) => {
    for (const ask of asks) ask.then((rows) => registers(rows) && resolve(true), () => undefined);
  });
  const answers = Promise.allSettled(asks);
  if ((await Promise.race([found, answers])) === true) {
    // The others' connections and timers would keep the process alive: let them go.
    done.abort();
    return;
  }
  const settled = await answers;
  const reached = settled.filter((answer) => answer.status === 'fulfilled');
  if (reached.length === 0) {
    const reasons = settled.map((answer, i) => `${describeServer(servers[i]!)}: ${describeConnectFailure(answer.status === 'rejected' ? answer.reason : undefined)}`);
    throw new ClientError('NO_SERVER', `no gearman server reachable (${reasons.join('; ')})`, { functionName });
  }
  if (!reached.some((answer) => registers(answer.value))) {
    throw new NoWorkerError(`no worker registers ${functionName} (asked ${servers.map(describeServer).join(', ')}); --wait submits it anyway`);
  }
}

export interface CliSubmission {
  readonly servers: readonly ServerAddress[];
  readonly functionName: string;
  readonly payload: Arg;
  readonly budget: Budget;
  /** --wait: skip the check that a worker registers the function. */
  readonly wait: boolean;
  readonly onData?: SubmitOptions['onData'];
  readonly onStatus?: SubmitOptions['onStatus'];
}

export function cliClient(servers: readonly ServerAddress[], budget: Budget): Client {
  const waitMs = budget.wait();
  return new Client({ servers, connectTimeoutMs: waitMs, replyTimeoutMs: waitMs });
}

/** Submits one job for a client command, bounded by --timeout; see giveUp for what a timeout leaves behind. */
export async function submitFromCli(job: CliSubmission): Promise<JobResult> {
  if (!job.wait) await requireWorker(job.servers, job.functionName, job.budget);
  const client = cliClient(job.servers, job.budget);
  try {
    return await submitWith(client, job);
  } finally {
    await client.close();
  }
}

/** client.submit for the CLI: the budget's time left, and the --timeout rule when it runs out. */
export async function submitWith(client: Client, job: Omit<CliSubmission, 'wait'>): Promise<JobResult> {
  const left = job.budget.remaining();
  try {
    return await client.submit(job.functionName, job.payload, {
      ...(left === undefined ? {} : { timeoutMs: left }),
      ...(job.onData ? { onData: job.onData } : {}),
      ...(job.onStatus ? { onStatus: job.onStatus } : {}),
    });
  } catch (err) {
    if (err instanceof ClientError && err.code === 'TIMEOUT' && job.budget.totalMs !== undefined && err.handle !== undefined) {
      throw await giveUp(client, job.servers, err, job.budget);
    }
    throw err;
  }
}

/**
 * --timeout ran out. A job still queued is cancelled (`cancel job`: after it, the job can no
 * longer start, so the GET_STATUS that follows says truly whether it had started); a running
 * one goes on on its worker, and its result is not shown here.
 */
async function giveUp(client: Client, servers: readonly ServerAddress[], err: ClientError, budget: Budget): Promise<ClientError> {
  const handle = err.handle!;
  const serverName = err.server ?? '';
  const context = { ...(err.functionName ? { functionName: err.functionName } : {}), handle, server: serverName };
  const address = servers.find((server) => describeServer(server) === serverName);
  const job = { handle, server: serverName };
  const state = () => client.status(job).catch(() => undefined);
  const after = `gave up waiting after ${budget.describe()}`;
  const goesOn = new ClientError('TIMEOUT', `${after}; the job is running and goes on, without its result shown here`, context);
  const ended = new ClientError('TIMEOUT', `${after}; the job ended meanwhile, its result not shown here`, context);
  const before = await state();
  if (before?.running) return goesOn;
  if (before && !before.known) return ended;
  if (address) {
    const admin = new AdminClient(address, { connectTimeoutMs: DEFAULT_WAIT_MS, replyTimeoutMs: DEFAULT_WAIT_MS });
    await admin.cancelJob(handle).catch(() => undefined);
    admin.close();
  }
  // A worker may have taken it just before the cancel; after the cancel none can.
  const now = await state();
  if (now?.running) return goesOn;
  if (now === undefined) return new ClientError('TIMEOUT', `${after}; the job is cancelled unless it had started (GET_STATUS got no answer)`, context);
  return new ClientError('TIMEOUT', `${after}; the job was still queued and is cancelled`, context);
}

export { ClientError };
