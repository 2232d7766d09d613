import { CodedError } from '../errors/coded-error.ts';

/** Stable codes of the API's error bodies: `{"error": {"code": ..., "message": ...}}`. */
export const API_ERROR_STATUS = {
  /** No such path. */
  API_NOT_FOUND: 404,
  /** The path exists, not with this method. */
  API_METHOD_NOT_ALLOWED: 405,
  /** The body is not a JSON object. */
  API_BAD_JSON: 400,
  /** A field is missing or of the wrong kind. */
  API_BAD_REQUEST: 400,
  /** An id or name that breaks the image id rules (no "/", no leading ".", at most 128). */
  API_BAD_ID: 400,
  /** The body is larger than the API reads. */
  API_BODY_TOO_LARGE: 413,
  /** A write without the right bearer token. */
  API_UNAUTHORIZED: 401,
  /** Writes are off: the scheduler has no api-token-file (or cannot read it). */
  API_WRITES_DISABLED: 403,
  /** No upload or build with that id. */
  API_UNKNOWN_RECORD: 404,
  /** A diskimage or provider the scheduler's config does not name. */
  API_UNKNOWN_NAME: 404,
  /** The record's state does not allow it (e.g. deleting a running build). */
  API_CONFLICT: 409,
  /** GET /ready before the first reconciliation. */
  API_NOT_READY: 503,
  /** Anything else; the scheduler logs it. */
  API_INTERNAL: 500,
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

export class ApiError extends CodedError<ApiErrorCode> {
  override readonly name = 'ApiError';

  constructor(code: ApiErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }

  get status(): number {
    return API_ERROR_STATUS[this.code];
  }
}
