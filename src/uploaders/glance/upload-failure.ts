import { AbortReason } from '../../errors/abort-reason.ts';
import { JobFailure, type JobFailureCode } from '../../errors/job-failure.ts';
import { toError } from '../../errors/thrown.ts';
import { HttpConnectionError, HttpStatusError } from '../openstack/errors.ts';

const STATUS_CODES: Readonly<Record<number, JobFailureCode>> = {
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  409: 'CONFLICT',
  413: 'TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

export interface FailureContext {
  readonly what: string;
  readonly cloud: string;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

function abortReason(reason: unknown, timeoutMs: number): string {
  if (reason instanceof AbortReason && reason.code === 'UPLOAD_TIMEOUT') return `upload-timeout (${Math.round(timeoutMs / 1000)} s) expired`;
  return toError(reason).message;
}

/**
 * Sorts an upload's error into an expected failure (WORK_FAIL: the cloud refused, could not
 * be reached, or the job ran out of time) or leaves it as it is (a bug: WORK_EXCEPTION).
 */
export function toUploadFailure(err: unknown, context: FailureContext): unknown {
  if (err instanceof JobFailure) return err;
  const where = `${context.what} to cloud "${context.cloud}"`;
  if (context.signal.aborted) {
    return new JobFailure('UPLOAD_ABORTED', `${where} stopped: ${abortReason(context.signal.reason, context.timeoutMs)}`, { cause: err });
  }
  if (err instanceof HttpStatusError) {
    const code = STATUS_CODES[err.status] ?? (err.status >= 500 ? 'CLOUD_ERROR' : 'CLOUD_REFUSED');
    return new JobFailure(code, `${where}: ${err.message}`, { cause: err });
  }
  if (err instanceof HttpConnectionError) return new JobFailure('CLOUD_UNREACHABLE', `${where}: ${err.message}`, { cause: err });
  return err;
}
