/**
 * Replies of the text (admin) protocol, in gearmand 1.1.20's exact formats: a parser for every
 * line shape and the inverse formatter, so that format(parse(line)) === line.
 *
 * Line endings, as gearmand sends them: list rows, the closing "." and "OK <value>" end in
 * "\n"; a bare "OK" and every "ERR" line end in "\r\n". renderAdminReply reproduces them.
 */
import { AdminError, AdminParseError, type KnownAdminErrorCode } from './admin-errors.ts';

/** One `status` row: jobs known (queued + running), jobs running, workers that can do it. */
export interface FunctionStatus {
  readonly function: string;
  readonly total: number;
  readonly running: number;
  readonly workers: number;
}

/** One `prioritystatus` row: queued jobs per priority. */
export interface FunctionPriorityStatus {
  readonly function: string;
  readonly high: number;
  readonly normal: number;
  readonly low: number;
  readonly workers: number;
}

/** One `workers` row: every connection is listed, not only workers. */
export interface WorkerInfo {
  readonly fd: number;
  readonly address: string;
  /** "-" when the connection never sent SET_CLIENT_ID. */
  readonly clientId: string;
  readonly functions: readonly string[];
}

/** One `show jobs` row. */
export interface JobInfo {
  readonly handle: string;
  readonly retries: number;
  /** Set by `cancel job`: the job stays listed until a worker would have taken it. */
  readonly ignored: boolean;
  readonly queued: boolean;
}

/** What each command answers with when it succeeds; null for a bare "OK". */
export interface AdminResults {
  readonly status: readonly FunctionStatus[];
  readonly prioritystatus: readonly FunctionPriorityStatus[];
  readonly workers: readonly WorkerInfo[];
  readonly version: string;
  readonly getpid: number;
  readonly showJobs: readonly JobInfo[];
  readonly showUniqueJobs: readonly string[];
  readonly cancelJob: null;
  readonly maxqueue: null;
  readonly createFunction: null;
  readonly dropFunction: null;
  readonly verbose: string;
  readonly shutdown: null;
}

export type AdminCommandKind = keyof AdminResults;

export type AdminReply<K extends AdminCommandKind = AdminCommandKind> =
  | { readonly ok: true; readonly value: AdminResults[K] }
  | { readonly ok: false; readonly error: AdminError };

/** How a reply ends: a list ends at ".", the other two are one line. */
export type ReplyShape = 'list' | 'value' | 'ok';

export const REPLY_SHAPE: { readonly [K in AdminCommandKind]: ReplyShape } = {
  status: 'list',
  prioritystatus: 'list',
  workers: 'list',
  version: 'value',
  getpid: 'value',
  showJobs: 'list',
  showUniqueJobs: 'list',
  cancelJob: 'ok',
  maxqueue: 'ok',
  createFunction: 'ok',
  dropFunction: 'ok',
  verbose: 'value',
  shutdown: 'ok',
};

export const LIST_END = '.';

// ---- numbers ----------------------------------------------------------------------------

const UINT = /^(?:0|[1-9][0-9]{0,9})$/;
const UINT32_MAX = 0xffffffff;

function malformed(what: string, line: string): AdminParseError {
  return new AdminParseError('MALFORMED_LINE', what, line);
}

/** gearmand prints counts with %u: plain decimal, no sign, no leading zeros. */
function parseUint(field: string, name: string, line: string): number {
  const n = UINT.test(field) ? Number(field) : Number.NaN;
  if (!(n <= UINT32_MAX)) throw malformed(`${name} is not an unsigned 32-bit decimal: ${JSON.stringify(field)}`, line);
  return n;
}

function parseFlag(field: string, name: string, line: string): boolean {
  if (field === '0') return false;
  if (field === '1') return true;
  throw malformed(`${name} must be 0 or 1, got ${JSON.stringify(field)}`, line);
}

/**
 * Splits off the last `count` tab-separated fields. Whatever precedes them is the name,
 * tabs included: gearmand does not escape function names.
 */
function splitTrailingFields(line: string, count: number, what: string): [string, string[]] {
  const parts = line.split('\t');
  if (parts.length < count + 1) throw malformed(`${what} needs ${count + 1} tab-separated fields`, line);
  const fields = parts.splice(parts.length - count);
  return [parts.join('\t'), fields];
}

// ---- list rows --------------------------------------------------------------------------

export function parseStatusRow(line: string): FunctionStatus {
  const [fn, [total = '', running = '', workers = '']] = splitTrailingFields(line, 3, 'a status row');
  return {
    function: fn,
    total: parseUint(total, 'total', line),
    running: parseUint(running, 'running', line),
    workers: parseUint(workers, 'workers', line),
  };
}

export function formatStatusRow(row: FunctionStatus): string {
  return `${row.function}\t${row.total}\t${row.running}\t${row.workers}`;
}

export function parsePriorityStatusRow(line: string): FunctionPriorityStatus {
  const [fn, [high = '', normal = '', low = '', workers = '']] = splitTrailingFields(line, 4, 'a prioritystatus row');
  return {
    function: fn,
    high: parseUint(high, 'high', line),
    normal: parseUint(normal, 'normal', line),
    low: parseUint(low, 'low', line),
    workers: parseUint(workers, 'workers', line),
  };
}

export function formatPriorityStatusRow(row: FunctionPriorityStatus): string {
  return `${row.function}\t${row.high}\t${row.normal}\t${row.low}\t${row.workers}`;
}

/**
 * "fd address clientId :" then " fn" per function. Client ids and function names are not
 * escaped. The client id ends at the last " :" (followed by a space or the end), so a client
 * id holding " : " cannot add functions to its row (SET_CLIENT_ID "evil : fake.fn"); a function
 * name holding a space or " :" is split wrongly. The line still round-trips.
 */
export function parseWorkerRow(line: string): WorkerInfo {
  const afterFd = line.indexOf(' ');
  const afterAddress = afterFd < 0 ? -1 : line.indexOf(' ', afterFd + 1);
  if (afterAddress < 0) throw malformed('a workers row needs "fd address clientId :"', line);
  const address = line.slice(afterFd + 1, afterAddress);
  if (address === '') throw malformed('a workers row has an empty address', line);
  const rest = line.slice(afterAddress + 1);
  const colon = findClientIdEnd(rest);
  if (colon < 0) throw malformed('a workers row has no " :" after the client id', line);
  const tail = rest.slice(colon + 2);
  return {
    fd: parseUint(line.slice(0, afterFd), 'fd', line),
    address,
    clientId: rest.slice(0, colon),
    functions: tail === '' ? [] : tail.slice(1).split(' '),
  };
}

/** Index of the last " :" that ends the line or is followed by a space. */
function findClientIdEnd(rest: string): number {
  for (let at = rest.lastIndexOf(' :'); at >= 0; at = at === 0 ? -1 : rest.lastIndexOf(' :', at - 1)) {
    if (at + 2 === rest.length || rest[at + 2] === ' ') return at;
  }
  return -1;
}

export function formatWorkerRow(row: WorkerInfo): string {
  let line = `${row.fd} ${row.address} ${row.clientId} :`;
  for (const fn of row.functions) line += ` ${fn}`;
  return line;
}

export function parseJobRow(line: string): JobInfo {
  const [handle, [retries = '', ignored = '', queued = '']] = splitTrailingFields(line, 3, 'a show jobs row');
  return {
    handle,
    retries: parseUint(retries, 'retries', line),
    ignored: parseFlag(ignored, 'ignore_job', line),
    queued: parseFlag(queued, 'job_queued', line),
  };
}

export function formatJobRow(row: JobInfo): string {
  return `${row.handle}\t${row.retries}\t${row.ignored ? 1 : 0}\t${row.queued ? 1 : 0}`;
}

// ---- single-line replies ----------------------------------------------------------------

/** The two gearmand messages that have no code; matched whole. */
const PLAIN_ERRORS = new Map<string, KnownAdminErrorCode>([
  ['function not found', 'FUNCTION_NOT_FOUND'],
  ['there are still connected workers or executing clients', 'FUNCTION_IN_USE'],
]);
const PLAIN_MESSAGES = new Map<string, string>([...PLAIN_ERRORS].map(([message, code]) => [code, message]));

/** True for a line that reads as "ERR <CODE>...". */
export function isErrorLine(line: string): boolean {
  return line.startsWith('ERR ') && line.length > 4 && line[4] !== ' ';
}

/** "ERR CODE text+with+pluses" → AdminError(CODE, "text with pluses"). */
export function parseErrorLine(line: string): AdminError {
  if (!isErrorLine(line)) throw malformed('expected "ERR <CODE> [text]"', line);
  const rest = line.slice(4);
  const plain = PLAIN_ERRORS.get(rest);
  if (plain !== undefined) return new AdminError(plain, rest);
  const space = rest.indexOf(' ');
  if (space < 0) return AdminError.fromServer(rest);
  return AdminError.fromServer(rest.slice(0, space), rest.slice(space + 1).replaceAll('+', ' '));
}

export function formatErrorLine(error: AdminError): string {
  const plain = PLAIN_MESSAGES.get(error.code);
  if (plain !== undefined) return `ERR ${plain}`;
  return error.text === '' ? `ERR ${error.serverCode}` : `ERR ${error.serverCode} ${error.text.replaceAll(' ', '+')}`;
}

/** Parses "OK <value>" for version, getpid and verbose. */
export function parseValueLine<K extends 'version' | 'getpid' | 'verbose'>(kind: K, line: string): AdminResults[K];
export function parseValueLine(kind: 'version' | 'getpid' | 'verbose', line: string): string | number {
  if (!line.startsWith('OK ') || line.length === 3) throw malformed(`${kind} expects "OK <value>"`, line);
  const value = line.slice(3);
  return kind === 'getpid' ? parseUint(value, 'pid', line) : value;
}

export function formatValueLine(value: string | number): string {
  return `OK ${value}`;
}

// ---- whole replies ----------------------------------------------------------------------

type RowCodec = { parse(line: string): unknown; format(row: never): string };

const ROW_CODECS: { readonly [K in AdminCommandKind]?: RowCodec } = {
  status: { parse: parseStatusRow, format: formatStatusRow },
  prioritystatus: { parse: parsePriorityStatusRow, format: formatPriorityStatusRow },
  workers: { parse: parseWorkerRow, format: formatWorkerRow },
  showJobs: { parse: parseJobRow, format: formatJobRow },
  showUniqueJobs: { parse: (line: string) => line, format: (unique: string) => unique },
};

/** The reply as gearmand sends it, line by line, without line endings. */
export function formatReplyLines<K extends AdminCommandKind>(kind: K, reply: AdminReply<K>): string[] {
  if (!reply.ok) return [formatErrorLine(reply.error)];
  const shape = REPLY_SHAPE[kind];
  if (shape === 'ok') return ['OK'];
  if (shape === 'value') return [formatValueLine(reply.value as string | number)];
  const codec = ROW_CODECS[kind] as RowCodec;
  const lines = (reply.value as readonly never[]).map((row) => codec.format(row));
  lines.push(LIST_END);
  return lines;
}

/** The exact text gearmand 1.1.20 writes for this reply, line endings included. */
export function renderAdminReply<K extends AdminCommandKind>(kind: K, reply: AdminReply<K>): string {
  const ending = !reply.ok || REPLY_SHAPE[kind] === 'ok' ? '\r\n' : '\n';
  return formatReplyLines(kind, reply).join(ending) + ending;
}

// ---- collecting a reply -----------------------------------------------------------------

export interface CollectorOptions {
  /** Most rows a list reply may have before the collector gives up (a guard against a runaway peer). */
  readonly maxRows?: number;
  /**
   * Set: a list row that does not parse is handed here and skipped, and the rest of the reply
   * still counts. Function names and client ids are not escaped by the server, so one holding
   * a newline splits its row in two. Unset: such a row throws AdminParseError.
   */
  readonly onMalformedRow?: (error: AdminParseError) => void;
}

export const DEFAULT_MAX_ROWS = 1_000_000;

/** "ERR" plus an upper-case code: how an error is told apart from the first row of a list. */
const LIST_ERROR = /^ERR [A-Z_]+(?: |$)/;
const TABBED: ReadonlySet<AdminCommandKind> = new Set(['status', 'prioritystatus', 'showJobs']);

/** The one unchecked step: each caller has parsed `value` with the codec of kind K. */
function success<K extends AdminCommandKind>(value: unknown): AdminReply<K> {
  return { ok: true, value: value as AdminResults[K] };
}

/**
 * Gathers the reply to one pending command from the lines the decoder yields.
 * Feed lines in order; push returns the reply once the last line of it arrived.
 * A line that cannot belong to this reply throws AdminParseError.
 */
export class AdminReplyCollector<K extends AdminCommandKind> {
  readonly kind: K;
  private readonly maxRows: number;
  private readonly onMalformedRow: ((error: AdminParseError) => void) | undefined;
  private readonly rows: unknown[] = [];
  private finished = false;

  constructor(kind: K, options: CollectorOptions = {}) {
    this.kind = kind;
    this.maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
    this.onMalformedRow = options.onMalformedRow;
  }

  get complete(): boolean {
    return this.finished;
  }

  push(line: string): AdminReply<K> | undefined {
    if (this.finished) throw new AdminParseError('UNEXPECTED_LINE', `the ${this.kind} reply was already complete`, line);
    const shape = REPLY_SHAPE[this.kind];
    if (shape !== 'list') {
      this.finished = true;
      return this.single(shape, line);
    }
    if (this.rows.length === 0 && this.isListError(line)) {
      this.finished = true;
      return { ok: false, error: parseErrorLine(line) };
    }
    if (line === LIST_END) {
      this.finished = true;
      return success<K>(this.rows);
    }
    if (this.rows.length >= this.maxRows) {
      throw new AdminParseError('TOO_MANY_LINES', `the ${this.kind} reply exceeds ${this.maxRows} rows`, line);
    }
    let row: unknown;
    try {
      row = (ROW_CODECS[this.kind] as RowCodec).parse(line);
    } catch (err) {
      if (!(err instanceof AdminParseError) || this.onMalformedRow === undefined) throw err;
      this.onMalformedRow(err);
      return undefined;
    }
    this.rows.push(row);
    return undefined;
  }

  private single(shape: 'ok' | 'value', line: string): AdminReply<K> {
    if (isErrorLine(line)) return { ok: false, error: parseErrorLine(line) };
    if (shape === 'ok') {
      if (line !== 'OK') throw malformed(`${this.kind} expects "OK" or "ERR <CODE>"`, line);
      return success<K>(null);
    }
    const value = parseValueLine(this.kind as 'version' | 'getpid' | 'verbose', line);
    return success<K>(value);
  }

  private isListError(line: string): boolean {
    return LIST_ERROR.test(line) && !(TABBED.has(this.kind) && line.includes('\t'));
  }
}

/** Parses a whole reply that is already split into lines (without line endings). */
export function parseAdminReply<K extends AdminCommandKind>(
  kind: K,
  lines: readonly string[],
  options: CollectorOptions = {},
): AdminReply<K> {
  const collector = new AdminReplyCollector(kind, options);
  let reply: AdminReply<K> | undefined;
  for (const line of lines) {
    if (reply !== undefined) throw new AdminParseError('UNEXPECTED_LINE', `the ${kind} reply was already complete`, line);
    reply = collector.push(line);
  }
  if (reply === undefined) throw new AdminParseError('INCOMPLETE_REPLY', `the ${kind} reply has no end`);
  return reply;
}
