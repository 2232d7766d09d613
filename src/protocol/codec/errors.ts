import { CodedError } from '../../errors/coded-error.ts';
import { packetName } from './packets.ts';

/** Stable codes: callers and tests match on these, never on message text. */
export type ProtocolErrorCode =
  | 'BAD_MAGIC'
  | 'UNEXPECTED_MAGIC'
  | 'UNKNOWN_TYPE'
  | 'PACKET_TOO_LARGE'
  | 'LINE_TOO_LONG'
  | 'MISSING_ARGUMENT'
  | 'UNEXPECTED_BODY'
  | 'BAD_ARGUMENT'
  | 'WRONG_ARGUMENT_COUNT'
  | 'DECODER_FAILED'
  /** A packet or line started arriving and did not complete in time (a trickling peer). */
  | 'PACKET_TIMEOUT'
  /** The connection ended inside a packet or line. */
  | 'TRUNCATED'
  /** The server left a request unanswered for too long. */
  | 'REPLY_TIMEOUT';

export interface ProtocolErrorDetails {
  /** Packet type code, when the header got that far. */
  readonly type?: number;
  /** Byte offset in the stream where the offending packet or line starts. */
  readonly offset?: number;
  /** The first bytes of the offending packet or line. */
  readonly bytes?: Uint8Array;
  readonly cause?: unknown;
}

const SNIPPET_BYTES = 32;

export function hexSnippet(bytes: Uint8Array, max = SNIPPET_BYTES): string {
  const shown = bytes.subarray(0, max);
  let hex = '';
  for (let i = 0; i < shown.length; i++) {
    if (i > 0) hex += ' ';
    hex += shown[i]!.toString(16).padStart(2, '0');
  }
  return bytes.length > max ? `${hex} …(+${bytes.length - max} bytes)` : hex;
}

export class ProtocolError extends CodedError<ProtocolErrorCode> {
  override readonly name = 'ProtocolError';
  readonly type: number | undefined;
  readonly packetName: string | undefined;
  readonly offset: number | undefined;
  readonly hex: string | undefined;

  constructor(code: ProtocolErrorCode, message: string, details: ProtocolErrorDetails = {}) {
    const where: string[] = [];
    if (details.type !== undefined) where.push(`type ${packetName(details.type)}`);
    if (details.offset !== undefined) where.push(`offset ${details.offset}`);
    const hex = details.bytes ? hexSnippet(details.bytes) : undefined;
    if (hex !== undefined) where.push(`bytes ${hex}`);
    super(code, where.length ? `${code}: ${message} (${where.join(', ')})` : `${code}: ${message}`, {
      cause: details.cause,
    });
    this.type = details.type;
    this.packetName = details.type === undefined ? undefined : packetName(details.type);
    this.offset = details.offset;
    this.hex = hex;
  }
}
