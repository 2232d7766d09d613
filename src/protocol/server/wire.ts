/** Server replies on the wire: RES packets, gearmand's ERROR codes and texts. */
import { Buffer } from 'node:buffer';
import { type Arg, encodePacket, encodePacketBuffer } from '../codec/encoder.ts';
import type { ProtocolErrorCode } from '../codec/errors.ts';
import { Type } from '../codec/packets.ts';

export function response(type: number, args: readonly Arg[]): Uint8Array[] {
  return encodePacket('RES', type, args);
}

export function errorPacket(code: string, text: string): Uint8Array[] {
  return encodePacket('RES', Type.ERROR, [code, text]);
}

/** Replies without arguments never change: encoded once, shared by every connection. */
export const NOOP: readonly Uint8Array[] = [encodePacketBuffer('RES', Type.NOOP, [])];
export const NO_JOB: readonly Uint8Array[] = [encodePacketBuffer('RES', Type.NO_JOB, [])];

/** The ERROR texts gearmand 1.1.20 sends, by situation. */
export const ERRORS = {
  notExpected: ['INVALID_COMMAND', 'Command not expected'],
  requestMagic: ['INVALID_MAGIC', 'Request magic expected'],
  unknownOption: ['UNKNOWN_OPTION', 'Server does not recognize given option'],
  workResultNotFound: ['JOB_NOT_FOUND', 'Job given in work result not found'],
  workDataNotFound: ['JOB_NOT_FOUND', 'Job does not exist on server'],
  exceptionNotFound: ['JOB_NOT_FOUND', 'An exception was received for a job that does not exist'],
  handleTooLarge: ['ARGUMENT_TOO_LARGE', 'Job handle too large'],
  uniqueTooLarge: ['ARGUMENT_TOO_LARGE', 'Unique value too large'],
  functionTooLarge: ['ARGUMENT_TOO_LARGE', 'Function name too large'],
} as const satisfies Record<string, readonly [string, string]>;

/** The gearman error name for a stream the decoder refused (gearmand just closes; we say why first). */
export function protocolErrorName(code: ProtocolErrorCode): string {
  switch (code) {
    case 'BAD_MAGIC':
    case 'UNEXPECTED_MAGIC':
      return 'INVALID_MAGIC';
    case 'UNKNOWN_TYPE':
      return 'INVALID_COMMAND';
    case 'PACKET_TOO_LARGE':
    case 'LINE_TOO_LONG':
      return 'ARGUMENT_TOO_LARGE';
    default:
      return 'INVALID_PACKET';
  }
}

/** Admin replies and names are written byte for byte: strings hold one char per byte. */
export function latin1Bytes(text: string): Uint8Array {
  return Buffer.from(text, 'latin1');
}
