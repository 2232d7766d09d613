import { CodedError } from '../../errors/coded-error.ts';

export type ConnectionErrorCode =
  /** The TCP (or TLS) connection was not up within connectTimeoutMs. */
  | 'CONNECT_TIMEOUT'
  /** The server closed the connection without an error on our side. */
  | 'CLOSED_BY_SERVER'
  /** The liveness probe's ECHO_REQ went unanswered. */
  | 'NO_ECHO';

/** Why a connection to a job server went down (the transport then reconnects with backoff). */
export class ConnectionError extends CodedError<ConnectionErrorCode> {
  override readonly name = 'ConnectionError';
}
