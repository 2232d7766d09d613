import { CodedError } from './coded-error.ts';

/** Why a job failed in a way the operator should see (WORK_FAIL), one code per cause. */
export type JobFailureCode =
  // the request
  | 'BAD_REQUEST'
  | 'NO_HANDLER'
  | 'UNKNOWN_IMAGE'
  | 'UNKNOWN_PROVIDER'
  | 'CONFIG'
  // the image store
  | 'IMAGE_EXISTS'
  | 'IMAGE_DELETING'
  | 'DELETE_TIMEOUT'
  | 'NO_SPACE'
  // building
  | 'BUILD_FAILED'
  | 'BUILD_TIMEOUT'
  | 'BUILD_ABORTED'
  | 'MISSING_OUTPUT'
  | 'BAD_OUTPUT'
  // inspecting disk images
  | 'UNSAFE_IMAGE'
  | 'BAD_IMAGE'
  | 'INSPECT_FAILED'
  // converting
  | 'NO_FORMAT'
  | 'CONVERT_FAILED'
  // the cloud's configuration and credentials
  | 'CLOUD_CONFIG'
  | 'AUTH_FAILED'
  | 'KEYSTONE_UNREACHABLE'
  | 'TLS'
  // uploading
  | 'LOCAL_FILE_UNREADABLE'
  | 'LOCAL_FILE_CHANGED'
  | 'CLOUD_UNREACHABLE'
  | 'CLOUD_BAD_ANSWER'
  | 'CLOUD_ERROR'
  | 'CLOUD_REFUSED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'CONFLICT'
  | 'EXTERNAL_ID_TAKEN'
  // the scheduler's cloud operations
  | 'IMAGE_NOT_OURS'
  | 'TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UPLOAD_ABORTED'
  | 'UPLOAD_INTERRUPTED'
  | 'IMPORT_UNSUPPORTED'
  | 'IMPORT_FAILED'
  | 'VERIFY_FAILED';

/**
 * Thrown by a job handler for an expected failure (a build that exited non-zero, an unknown
 * provider): the worker answers WORK_FAIL and logs the reason. Any other error is unexpected
 * and becomes WORK_EXCEPTION with a one-line message.
 */
export class JobFailure extends CodedError<JobFailureCode> {
  override readonly name: string = 'JobFailure';
  /** The last lines of the build's log (secrets redacted), sent after the reason's line. */
  readonly logTail: readonly string[];

  constructor(code: JobFailureCode, message: string, options?: { cause?: unknown; logTail?: readonly string[] }) {
    super(code, message, options);
    this.logTail = options?.logTail ?? [];
  }
}

/** A failure reason as WORK_FAIL's WORK_WARNING carries it: the reason, then the log tail, if any. */
export interface FailureReason {
  readonly reason: string;
  readonly logTail: readonly string[];
}

/** Characters of one log tail line sent at most: 50 lines stay within the client's 16 KiB. */
export const MAX_TAIL_LINE = 240;

/** Between a reason and its log tail: a line no reason of its own holds. */
export const LOG_TAIL_MARK = '\n-- last lines of the build log --\n';

/** The reason, then (after LOG_TAIL_MARK) each tail line on a line of its own. */
export function failureText(reason: string, logTail: readonly string[]): string {
  if (logTail.length === 0) return reason;
  const cut = (line: string): string => (line.length > MAX_TAIL_LINE ? `${line.slice(0, MAX_TAIL_LINE)}…` : line);
  return `${reason}${LOG_TAIL_MARK}${logTail.map((line) => cut(line.replace(/[\r\n]+/g, ' '))).join('\n')}`;
}

/** failureText read back; a reason without the mark has no tail. */
export function parseFailureText(text: string): FailureReason {
  const at = text.indexOf(LOG_TAIL_MARK);
  if (at < 0) return { reason: text, logTail: [] };
  return { reason: text.slice(0, at), logTail: text.slice(at + LOG_TAIL_MARK.length).split('\n') };
}
/** A job method was called after the job already sent its one terminal packet. */
export class JobStateError extends CodedError<'JOB_ALREADY_FINISHED'> {
  override readonly name = 'JobStateError';

  constructor(message: string) {
    super('JOB_ALREADY_FINISHED', message);
  }
}
