/** Misuse of the job server's API (the wire protocol's errors are ERROR packets, see wire.ts). */
export type ServerStateErrorCode = 'LISTEN_FAILED' | 'CLOSED';

export class ServerStateError extends Error {
  override readonly name = 'ServerStateError';
  readonly code: ServerStateErrorCode;

  constructor(code: ServerStateErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
  }
}
