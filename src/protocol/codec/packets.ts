/**
 * The gearman binary packet table, as data.
 *
 * Each row lists the packet's arguments in wire order. Every argument but the last is
 * NUL-terminated; the last one runs to the end of the packet and may itself contain NULs
 * (this is how gearmand's own parser treats both "data" packets and plain ones).
 * Where gearmand's code and its PROTOCOL text disagree, the rows follow the code.
 */

export type Magic = 'REQ' | 'RES';

/** Which magic a packet type travels with. WORK_* go up as REQ and are forwarded down as RES. */
export type Direction = Magic | 'BOTH';

export interface PacketSpec {
  readonly code: number;
  readonly name: string;
  readonly direction: Direction;
  readonly args: readonly string[];
  /** The last argument is an opaque payload (gearmand's "data" column). */
  readonly opaque: boolean;
}

const SUBMIT_ARGS = ['function', 'unique', 'data'] as const;

export const PACKET_TABLE = [
  { code: 1, name: 'CAN_DO', direction: 'REQ', args: ['function'], opaque: false },
  { code: 2, name: 'CANT_DO', direction: 'REQ', args: ['function'], opaque: false },
  { code: 3, name: 'RESET_ABILITIES', direction: 'REQ', args: [], opaque: false },
  { code: 4, name: 'PRE_SLEEP', direction: 'REQ', args: [], opaque: false },
  // 5 is reserved ("UNUSED" in gearmand); it is never valid on the wire.
  { code: 6, name: 'NOOP', direction: 'RES', args: [], opaque: false },
  { code: 7, name: 'SUBMIT_JOB', direction: 'REQ', args: SUBMIT_ARGS, opaque: true },
  { code: 8, name: 'JOB_CREATED', direction: 'RES', args: ['handle'], opaque: false },
  { code: 9, name: 'GRAB_JOB', direction: 'REQ', args: [], opaque: false },
  { code: 10, name: 'NO_JOB', direction: 'RES', args: [], opaque: false },
  { code: 11, name: 'JOB_ASSIGN', direction: 'RES', args: ['handle', 'function', 'data'], opaque: true },
  { code: 12, name: 'WORK_STATUS', direction: 'BOTH', args: ['handle', 'numerator', 'denominator'], opaque: false },
  { code: 13, name: 'WORK_COMPLETE', direction: 'BOTH', args: ['handle', 'data'], opaque: true },
  { code: 14, name: 'WORK_FAIL', direction: 'BOTH', args: ['handle'], opaque: false },
  { code: 15, name: 'GET_STATUS', direction: 'REQ', args: ['handle'], opaque: false },
  { code: 16, name: 'ECHO_REQ', direction: 'REQ', args: ['data'], opaque: true },
  { code: 17, name: 'ECHO_RES', direction: 'RES', args: ['data'], opaque: true },
  { code: 18, name: 'SUBMIT_JOB_BG', direction: 'REQ', args: SUBMIT_ARGS, opaque: true },
  { code: 19, name: 'ERROR', direction: 'RES', args: ['code', 'text'], opaque: false },
  {
    code: 20,
    name: 'STATUS_RES',
    direction: 'RES',
    args: ['handle', 'known', 'running', 'numerator', 'denominator'],
    opaque: false,
  },
  { code: 21, name: 'SUBMIT_JOB_HIGH', direction: 'REQ', args: SUBMIT_ARGS, opaque: true },
  { code: 22, name: 'SET_CLIENT_ID', direction: 'REQ', args: ['id'], opaque: false },
  // The timeout is ASCII decimal milliseconds (gearmand >= 1.1.19), not seconds as PROTOCOL says.
  { code: 23, name: 'CAN_DO_TIMEOUT', direction: 'REQ', args: ['function', 'timeout'], opaque: false },
  { code: 24, name: 'ALL_YOURS', direction: 'REQ', args: [], opaque: false },
  { code: 25, name: 'WORK_EXCEPTION', direction: 'BOTH', args: ['handle', 'data'], opaque: true },
  { code: 26, name: 'OPTION_REQ', direction: 'REQ', args: ['option'], opaque: false },
  { code: 27, name: 'OPTION_RES', direction: 'RES', args: ['option'], opaque: false },
  { code: 28, name: 'WORK_DATA', direction: 'BOTH', args: ['handle', 'data'], opaque: true },
  { code: 29, name: 'WORK_WARNING', direction: 'BOTH', args: ['handle', 'data'], opaque: true },
  { code: 30, name: 'GRAB_JOB_UNIQ', direction: 'REQ', args: [], opaque: false },
  {
    code: 31,
    name: 'JOB_ASSIGN_UNIQ',
    direction: 'RES',
    args: ['handle', 'function', 'unique', 'data'],
    opaque: true,
  },
  { code: 32, name: 'SUBMIT_JOB_HIGH_BG', direction: 'REQ', args: SUBMIT_ARGS, opaque: true },
  { code: 33, name: 'SUBMIT_JOB_LOW', direction: 'REQ', args: SUBMIT_ARGS, opaque: true },
  { code: 34, name: 'SUBMIT_JOB_LOW_BG', direction: 'REQ', args: SUBMIT_ARGS, opaque: true },
  {
    code: 35,
    name: 'SUBMIT_JOB_SCHED',
    direction: 'REQ',
    args: ['function', 'unique', 'minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek', 'data'],
    opaque: true,
  },
  { code: 36, name: 'SUBMIT_JOB_EPOCH', direction: 'REQ', args: ['function', 'unique', 'epoch', 'data'], opaque: true },
  // gearmand expects an (empty) aggregator argument between the reducer and the data.
  {
    code: 37,
    name: 'SUBMIT_REDUCE_JOB',
    direction: 'REQ',
    args: ['function', 'unique', 'reducer', 'aggregator', 'data'],
    opaque: true,
  },
  {
    code: 38,
    name: 'SUBMIT_REDUCE_JOB_BACKGROUND',
    direction: 'REQ',
    args: ['function', 'unique', 'reducer', 'aggregator', 'data'],
    opaque: true,
  },
  // gearmand answers GRAB_JOB_ALL with JOB_ASSIGN_UNIQ when the job has no reducer.
  { code: 39, name: 'GRAB_JOB_ALL', direction: 'REQ', args: [], opaque: false },
  {
    code: 40,
    name: 'JOB_ASSIGN_ALL',
    direction: 'RES',
    args: ['handle', 'function', 'unique', 'reducer', 'data'],
    opaque: true,
  },
  { code: 41, name: 'GET_STATUS_UNIQUE', direction: 'REQ', args: ['unique'], opaque: false },
  // Starts with the unique, not the handle; the last field counts the clients waiting.
  {
    code: 42,
    name: 'STATUS_RES_UNIQUE',
    direction: 'RES',
    args: ['unique', 'known', 'running', 'numerator', 'denominator', 'waiting'],
    opaque: false,
  },
] as const satisfies readonly PacketSpec[];

export type PacketName = (typeof PACKET_TABLE)[number]['name'];

/** Numeric codes by name: `Type.JOB_ASSIGN_UNIQ === 31`. */
export const Type = Object.freeze(
  Object.fromEntries(PACKET_TABLE.map((row) => [row.name, row.code])) as { readonly [N in PacketName]: number },
);

export const MAX_TYPE = 42;

const byCode: (PacketSpec | undefined)[] = new Array(MAX_TYPE + 1).fill(undefined);
for (const row of PACKET_TABLE) byCode[row.code] = row;

/** The spec of a type code, or undefined for 0, 5 and anything above 42. */
export function packetSpec(code: number): PacketSpec | undefined {
  return byCode[code];
}

export function packetName(code: number): string {
  return byCode[code]?.name ?? `UNKNOWN(${code})`;
}

export function allowsMagic(spec: PacketSpec, magic: Magic): boolean {
  return spec.direction === 'BOTH' || spec.direction === magic;
}

export const HEADER_SIZE = 12;
/** First four bytes of a binary packet. A non-zero first byte at a packet boundary starts a text line. */
export const MAGIC_REQ = 0x00524551; // "\0REQ"
export const MAGIC_RES = 0x00524553; // "\0RES"
export const DEFAULT_MAX_PACKET_SIZE = 64 * 1024 * 1024;
export const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024;
