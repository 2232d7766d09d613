import { ConfigError } from '../config/table-reader.ts';
import { CodedError } from '../errors/coded-error.ts';
import { toError } from '../errors/thrown.ts';
import { AdminError } from '../protocol/codec/admin-errors.ts';
import { ClientError } from '../protocol/client/client-errors.ts';
import { CERTIFICATE_REFUSED, describeConnectFailure, isCertificateFailure } from './connect-failure.ts';
import { printable } from '../util/printable.ts';
import { ApiClientError } from './api-client-error.ts';

/** Exit codes every command uses. */
export const EXIT = { ok: 0, jobFailed: 1, usage: 2, unreachable: 3 } as const;

/** A problem with how the command was called (bad arguments, bad config). */
export class UsageError extends CodedError<'USAGE'> {
  override readonly name = 'UsageError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('USAGE', message, options);
  }
}

/** The command ran, but not all of it succeeded (some uploads failed): exit code 1. */
export class CommandFailed extends CodedError<'UPLOADS_FAILED'> {
  override readonly name = 'CommandFailed';
}

/** Nobody can run the job: submitting it would wait for a worker forever. */
export class NoWorkerError extends CodedError<'NO_WORKER'> {
  override readonly name = 'NoWorkerError';

  constructor(message: string) {
    super('NO_WORKER', message);
  }
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof ConfigError) return EXIT.usage;
  if (err instanceof ClientError) {
    return err.code === 'WORK_FAIL' || err.code === 'WORK_EXCEPTION' || err.code === 'SERVER_ERROR' || err.code === 'ACCESS_DENIED' ? EXIT.jobFailed : EXIT.unreachable;
  }
  if (err instanceof AdminError || err instanceof NoWorkerError) return EXIT.jobFailed;
  if (err instanceof ApiClientError) return err.code === 'API_UNREACHABLE' ? EXIT.unreachable : EXIT.jobFailed;
  return EXIT.jobFailed;
}

/** Runs a command body: one clear line on stderr on failure (the stack only with --debug). */
export async function runCli(debug: boolean, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    let message = toError(err).message;
    // A refused certificate must not hide behind "no gearman server reachable".
    if (isCertificateFailure(err) && !message.includes(CERTIFICATE_REFUSED)) message += `: ${describeConnectFailure(err)}`;
    // Messages can carry a server's or a worker's words (a failure reason, a function name).
    process.stderr.write(`nodepool-builder: ${printable(message)}\n`);
    if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exit(exitCodeFor(err));
  }
}
