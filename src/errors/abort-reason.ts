import { CodedError } from './coded-error.ts';

export type AbortReasonCode =
  /** The gearman worker is shutting down and its jobs' grace period is over. */
  | 'WORKER_STOPPING'
  /** The builder is shutting down: running builds stop at once. */
  | 'BUILDER_STOPPING'
  /** The builder is shutting down and the uploads' grace period is over. */
  | 'SHUTDOWN_GRACE_OVER'
  /** The provider's upload-timeout expired. */
  | 'UPLOAD_TIMEOUT'
  /** A provider-image-list or -delete job ran out of time. */
  | 'CLOUD_JOB_TIMEOUT';

/** What our AbortControllers abort with, so whoever sees the abort can tell why by its code. */
export class AbortReason extends CodedError<AbortReasonCode> {
  override readonly name = 'AbortReason';
}

/** Like AbortSignal.timeout(), but aborts with a typed reason instead of a DOMException. */
export function abortAfter(ms: number, reason: AbortReason): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(reason), ms).unref();
  return controller.signal;
}
