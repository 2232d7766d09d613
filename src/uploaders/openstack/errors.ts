import { CodedError } from '../../errors/coded-error.ts';
import { JobFailure } from '../../errors/job-failure.ts';
import { errorCode, toError } from '../../errors/thrown.ts';

/** clouds.yaml / secure.yaml / OS_* do not describe a usable cloud: the operator must fix the file. */
export class CloudConfigError extends JobFailure {
  override readonly name = 'CloudConfigError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('CLOUD_CONFIG', message, options);
  }
}

/** Keystone refused the credentials, or gave a token without what we need (no catalog, no image service). */
export class CloudAuthError extends JobFailure {
  override readonly name = 'CloudAuthError';

  constructor(code: 'AUTH_FAILED' | 'KEYSTONE_UNREACHABLE', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The cloud answered an HTTP error status. `detail` is the server's own message, cleaned of HTML. */
export class HttpStatusError extends CodedError<`HTTP_${number}`> {
  override readonly name = 'HttpStatusError';

  constructor(
    readonly status: number,
    readonly method: string,
    readonly url: string,
    readonly detail: string,
  ) {
    super(`HTTP_${status}`, `${method} ${url} answered ${status}${detail ? `: ${detail}` : ''}`);
  }

  /** Worth another try: the server may do better in a moment. */
  get transient(): boolean {
    return this.status >= 500 || this.status === 408 || this.status === 429;
  }
}

/** The request never got an answer: refused, reset, timed out, or closed mid-way. Retryable. */
export class HttpConnectionError extends CodedError<'HTTP_CONNECTION'> {
  override readonly name: string = 'HttpConnectionError';
  /** The system's code for the failure (ECONNREFUSED, ECONNRESET, …), when it gave one. */
  readonly systemCode: string | undefined;

  constructor(
    readonly method: string,
    readonly url: string,
    cause: unknown,
  ) {
    const reason = toError(cause).message;
    super('HTTP_CONNECTION', `${method} ${url} failed: ${reason}`, { cause });
    this.systemCode = errorCode(cause);
  }
}

/** The TLS handshake failed (untrusted or mismatched certificate): retrying will not help. */
export class HttpTlsError extends JobFailure {
  override readonly name = 'HttpTlsError';

  constructor(method: string, url: string, cause: unknown) {
    const reason = toError(cause).message;
    super('TLS', `${method} ${url}: TLS failed (${reason}); check the cloud's cacert / verify settings`, { cause });
  }
}
