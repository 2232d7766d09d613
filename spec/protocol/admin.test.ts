import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import {
  type AdminCommand,
  type AdminCommandKind,
  AdminError,
  AdminParseError,
  type AdminParseErrorCode,
  type AdminReply,
  AdminReplyCollector,
  collectorFor,
  encodeAdminCommand,
  formatAdminCommand,
  formatErrorLine,
  formatJobRow,
  formatPriorityStatusRow,
  formatReplyLines,
  formatStatusRow,
  formatWorkerRow,
  parseAdminReply,
  parseAdminRequest,
  parseErrorLine,
  parseJobRow,
  parsePriorityStatusRow,
  parseStatusRow,
  parseWorkerRow,
  renderAdminReply,
} from '../../src/protocol/codec/admin.ts';
import { Decoder } from '../../src/protocol/codec/decoder.ts';
import { ProtocolError } from '../../src/protocol/codec/errors.ts';

/** Splits wire text into lines the way the connection will: through the real decoder. */
function linesOf(wire: string): string[] {
  const lines: string[] = [];
  const decoder = new Decoder({ packet: () => expect.unreachable(), text: (line) => lines.push(line) });
  decoder.push(new TextEncoder().encode(wire));
  expect(decoder.idle).toBe(true);
  return lines;
}

function expectParseError(code: AdminParseErrorCode, run: () => unknown): void {
  let caught: unknown;
  try {
    run();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AdminParseError);
  expect((caught as AdminParseError).code).toBe(code);
}

/**
 * Replies captured from gearmand 1.1.20+ds on this machine (python3 over a socket), byte for byte.
 * State: worker "builder-01" (jammy, bookworm) holding one bookworm job, an anonymous jammy
 * worker, a client that queued four background jobs, and the admin connection itself.
 */
interface Capture<K extends AdminCommandKind> {
  readonly kind: K;
  readonly wire: string;
  readonly reply: AdminReply<K>;
}

function capture<K extends AdminCommandKind>(kind: K, wire: string, reply: AdminReply<K>): Capture<K> {
  return { kind, wire, reply };
}

const ok = <T>(value: T) => ({ ok: true, value }) as const;
const err = (code: string, text = '') => ({ ok: false, error: AdminError.fromServer(code, text) }) as const;

const CAPTURES: readonly Capture<AdminCommandKind>[] = [
  capture(
    'status',
    'upload:glance\t1\t0\t0\nbuild:ubuntu-jammy\t2\t0\t2\nbuild:debian-bookworm\t1\t1\t1\n.\n',
    ok([
      { function: 'upload:glance', total: 1, running: 0, workers: 0 },
      { function: 'build:ubuntu-jammy', total: 2, running: 0, workers: 2 },
      { function: 'build:debian-bookworm', total: 1, running: 1, workers: 1 },
    ]),
  ),
  capture(
    'prioritystatus',
    'upload:glance\t0\t1\t0\t0\nbuild:ubuntu-jammy\t1\t1\t0\t2\nbuild:debian-bookworm\t0\t0\t0\t1\n.\n',
    ok([
      { function: 'upload:glance', high: 0, normal: 1, low: 0, workers: 0 },
      { function: 'build:ubuntu-jammy', high: 1, normal: 1, low: 0, workers: 2 },
      { function: 'build:debian-bookworm', high: 0, normal: 0, low: 0, workers: 1 },
    ]),
  ),
  capture(
    'workers',
    '25 127.0.0.1 builder-01 : build:debian-bookworm build:ubuntu-jammy\n27 127.0.0.1 - :\n28 127.0.0.1 - :\n26 127.0.0.1 - : build:ubuntu-jammy\n.\n',
    ok([
      { fd: 25, address: '127.0.0.1', clientId: 'builder-01', functions: ['build:debian-bookworm', 'build:ubuntu-jammy'] },
      { fd: 27, address: '127.0.0.1', clientId: '-', functions: [] },
      { fd: 28, address: '127.0.0.1', clientId: '-', functions: [] },
      { fd: 26, address: '127.0.0.1', clientId: '-', functions: ['build:ubuntu-jammy'] },
    ]),
  ),
  capture(
    'showJobs',
    'H:vm:1\t0\t0\t1\nH:vm:2\t0\t0\t1\nH:vm:4\t0\t1\t0\nH:vm:3\t0\t0\t1\n.\n',
    ok([
      { handle: 'H:vm:1', retries: 0, ignored: false, queued: true },
      { handle: 'H:vm:2', retries: 0, ignored: false, queued: true },
      { handle: 'H:vm:4', retries: 0, ignored: true, queued: false },
      { handle: 'H:vm:3', retries: 0, ignored: false, queued: true },
    ]),
  ),
  capture('showUniqueJobs', 'image-3\nimage-4\nimage-2\nimage-1\n.\n', ok(['image-3', 'image-4', 'image-2', 'image-1'])),
  // A job submitted with an empty unique is listed as an empty line.
  capture('showUniqueJobs', '\nu1\nu2\nu3\nuC\n.\n', ok(['', 'u1', 'u2', 'u3', 'uC'])),
  // Uniques are not trimmed: captured with a leading space and a trailing tab.
  capture('showUniqueJobs', ' lead\ntrail\t\n.\n', ok([' lead', 'trail\t'])),
  // A client id holding " :" (captured with SET_CLIENT_ID "x :y").
  capture(
    'workers',
    '27 127.0.0.1 - :\n25 127.0.0.1 x :y : f\n26 127.0.0.1 - :\n.\n',
    ok([
      { fd: 27, address: '127.0.0.1', clientId: '-', functions: [] },
      { fd: 25, address: '127.0.0.1', clientId: 'x :y', functions: ['f'] },
      { fd: 26, address: '127.0.0.1', clientId: '-', functions: [] },
    ]),
  ),
  capture('status', '.\n', ok([])),
  capture('workers', '25 127.0.0.1 - :\n.\n', ok([{ fd: 25, address: '127.0.0.1', clientId: '-', functions: [] }])),
  capture('version', 'OK 1.1.20+ds\n', ok('1.1.20+ds')),
  capture('getpid', 'OK 9276\n', ok(9276)),
  capture('verbose', 'OK ERROR\n', ok('ERROR')),
  capture('cancelJob', 'OK\r\n', ok(null)),
  capture('cancelJob', 'ERR UNKNOWN_JOB\r\n', err('UNKNOWN_JOB')),
  capture('cancelJob', 'ERR UNKNOWN_ERROR\r\n', err('UNKNOWN_ERROR')),
  capture('maxqueue', 'OK\r\n', ok(null)),
  capture(
    'maxqueue',
    'ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+maxqueue\r\n',
    err('INVALID_ARGUMENTS', 'An incomplete set of arguments was sent to this command maxqueue'),
  ),
  capture('createFunction', 'OK\r\n', ok(null)),
  capture(
    'createFunction',
    'ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+create\r\n',
    err('INVALID_ARGUMENTS', 'An incomplete set of arguments was sent to this command create'),
  ),
  capture('dropFunction', 'OK\r\n', ok(null)),
  capture('dropFunction', 'ERR function not found\r\n', err('FUNCTION_NOT_FOUND', 'function not found')),
  capture(
    'dropFunction',
    'ERR there are still connected workers or executing clients\r\n',
    err('FUNCTION_IN_USE', 'there are still connected workers or executing clients'),
  ),
  // A list command answered by one ERR line ("show foo" and "shutdown" as 1.1.20 answers them).
  capture('showJobs', 'ERR UNKNOWN_SHOW_ARGUMENTS\r\n', err('UNKNOWN_SHOW_ARGUMENTS')),
  capture('shutdown', 'ERR UNKNOWN_COMMAND Unknown+server+commandshutdown\r\n', err('UNKNOWN_COMMAND', 'Unknown server commandshutdown')),
];

describe('admin replies captured from gearmand 1.1.20', () => {
  for (const { kind, wire, reply } of CAPTURES) {
    const label = `${kind} ${JSON.stringify(wire.slice(0, 48))}`;

    test(`parses ${label}`, () => {
      expect(parseAdminReply(kind, linesOf(wire))).toEqual(reply);
    });

    test(`formats ${label} back to the same lines and bytes`, () => {
      const parsed = parseAdminReply(kind, linesOf(wire));
      expect(formatReplyLines(kind, parsed)).toEqual(linesOf(wire));
      expect(renderAdminReply(kind, parsed)).toBe(wire);
    });
  }

  test('errors carry their class, code and text', () => {
    const reply = parseAdminReply('cancelJob', ['ERR UNKNOWN_JOB']);
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.error).toBeInstanceOf(AdminError);
    expect(reply.error).toBeInstanceOf(Error);
    expect(reply.error.code).toBe('UNKNOWN_JOB');
    expect(reply.error.text).toBe('');
  });
});

describe('admin rows with odd names (captured)', () => {
  // Function names and client ids are not escaped by gearmand; the rows must still round-trip.
  const rows: [string, (line: string) => unknown, (row: never) => string, unknown][] = [
    ['\t0\t0\t1', parseStatusRow, formatStatusRow, { function: '', total: 0, running: 0, workers: 1 }],
    ['fn\ttab\t0\t0\t1', parseStatusRow, formatStatusRow, { function: 'fn\ttab', total: 0, running: 0, workers: 1 }],
    ['fn space\t2\t0\t1', parseStatusRow, formatStatusRow, { function: 'fn space', total: 2, running: 0, workers: 1 }],
    [
      'fn\ttab\t0\t0\t0\t1',
      parsePriorityStatusRow,
      formatPriorityStatusRow,
      { function: 'fn\ttab', high: 0, normal: 0, low: 0, workers: 1 },
    ],
    [
      '25 127.0.0.1  :  fn\ttab fn space',
      parseWorkerRow,
      formatWorkerRow,
      { fd: 25, address: '127.0.0.1', clientId: '', functions: ['', 'fn\ttab', 'fn', 'space'] },
    ],
    // The client id ends at the last " :" (G7): a client id cannot add functions to its row.
    [
      '26 127.0.0.1 a : b : x',
      parseWorkerRow,
      formatWorkerRow,
      { fd: 26, address: '127.0.0.1', clientId: 'a : b', functions: ['x'] },
    ],
    ['H:vm:3\t1\t0\t1', parseJobRow, formatJobRow, { handle: 'H:vm:3', retries: 1, ignored: false, queued: true }],
  ];
  for (const [line, parse, format, expected] of rows) {
    test(JSON.stringify(line), () => {
      const row = parse(line);
      expect(row).toEqual(expected);
      expect(format(row as never)).toBe(line);
    });
  }

  test('uniques that read as ERR or "." are ambiguous, and read the way gearmand clients read them', () => {
    // Captured: the uniques "ERR FOO", "a\tb" and "." (gearmand escapes nothing).
    const lines = linesOf('ERR FOO\na\tb\n.\n.\n');
    expect(lines).toEqual(['ERR FOO', 'a\tb', '.', '.']);
    // A first line "ERR <UPPER_CASE>" is an error reply.
    expect(new AdminReplyCollector('showUniqueJobs').push(lines[0]!)).toEqual(err('FOO'));
    // A "." unique ends the list early; the real "." is then a line nobody asked for.
    const collector = new AdminReplyCollector('showUniqueJobs');
    expect(collector.push(lines[1]!)).toBeUndefined();
    expect(collector.push(lines[2]!)).toEqual(ok(['a\tb']));
    expectParseError('UNEXPECTED_LINE', () => collector.push(lines[3]!));
  });

  test('an ERR code word no gearmand sends is the code OTHER, and the word itself is kept for the round trip', () => {
    const error = parseErrorLine('ERR NEW_THING some+text');
    expect({ code: error.code, serverCode: error.serverCode, text: error.text }).toEqual({ code: 'OTHER', serverCode: 'NEW_THING', text: 'some text' });
    expect(formatErrorLine(error)).toBe('ERR NEW_THING some+text');
    expect(parseErrorLine('ERR UNKNOWN_JOB').code).toBe('UNKNOWN_JOB');
  });

  test('a status row for a function named "ERR X" is a row, not an error', () => {
    expect(parseAdminReply('status', ['ERR X\t1\t0\t1', '.'])).toEqual(
      ok([{ function: 'ERR X', total: 1, running: 0, workers: 1 }]),
    );
  });
});

describe('malformed replies give AdminParseError', () => {
  const cases: [AdminCommandKind, string][] = [
    ['status', 'fn\t1\t0'],
    ['status', 'fn 1 0 1'],
    ['status', 'fn\tx\t0\t1'],
    ['status', 'fn\t01\t0\t1'],
    ['status', 'fn\t-1\t0\t1'],
    ['status', 'fn\t1.5\t0\t1'],
    ['status', 'fn\t4294967296\t0\t1'],
    ['status', 'fn\t\t0\t1'],
    ['prioritystatus', 'fn\t1\t2\t3'],
    ['prioritystatus', 'fn\t1\t2\t3\tfour'],
    ['workers', '25 127.0.0.1 -'],
    ['workers', '25 127.0.0.1 -:'],
    ['workers', 'x 127.0.0.1 - :'],
    ['workers', '25'],
    ['workers', '25  - :'],
    ['showJobs', 'H:1\t0\t2\t1'],
    ['showJobs', 'H:1\t0\t0'],
    ['showJobs', 'H:1\t0\ttrue\t1'],
    ['version', 'OK'],
    ['version', 'OK '],
    ['version', '1.1.20'],
    ['getpid', 'OK pid'],
    ['getpid', 'OK -1'],
    ['cancelJob', 'OK done'],
    ['cancelJob', 'ok'],
    ['cancelJob', ''],
    ['dropFunction', 'ERR'],
    ['dropFunction', 'ERR '],
    ['dropFunction', 'ERR  CODE'],
  ];
  for (const [kind, line] of cases) {
    test(`${kind}: ${JSON.stringify(line)}`, () => {
      expectParseError('MALFORMED_LINE', () => new AdminReplyCollector(kind).push(line));
    });
  }

  test('parseErrorLine rejects a line that is not ERR', () => {
    expectParseError('MALFORMED_LINE', () => parseErrorLine('OK'));
  });

  test('the offending line is kept, cut short', () => {
    try {
      new AdminReplyCollector('status').push(`${'f'.repeat(200)}\t1`);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AdminParseError);
      expect((e as AdminParseError).line?.length).toBe(81);
    }
  });
});

describe('AdminReplyCollector', () => {
  test('a list is complete only at "."', () => {
    const collector = collectorFor({ kind: 'status' });
    expect(collector.push('fn\t1\t0\t1')).toBeUndefined();
    expect(collector.complete).toBe(false);
    expect(collector.push('.')).toEqual(ok([{ function: 'fn', total: 1, running: 0, workers: 1 }]));
    expect(collector.complete).toBe(true);
  });

  test('a single-line reply is complete at once', () => {
    const collector = collectorFor({ kind: 'createFunction', function: 'f' });
    expect(collector.push('OK')).toEqual(ok(null));
    expectParseError('UNEXPECTED_LINE', () => collector.push('OK'));
  });

  test('an ERR line after rows is a row parse failure, not an error reply', () => {
    const collector = collectorFor({ kind: 'showJobs' });
    collector.push('H:1\t0\t0\t1');
    expectParseError('MALFORMED_LINE', () => collector.push('ERR UNKNOWN_JOB'));
  });

  test('G7: a client id "evil : fake.fn" (SET_CLIENT_ID) does not read as a worker registering fake.fn', () => {
    expect(parseWorkerRow('30 127.0.0.1 evil : fake.fn :')).toEqual({ fd: 30, address: '127.0.0.1', clientId: 'evil : fake.fn', functions: [] });
    expect(parseWorkerRow('30 127.0.0.1 evil : fake.fn : real.fn')).toEqual({
      fd: 30,
      address: '127.0.0.1',
      clientId: 'evil : fake.fn',
      functions: ['real.fn'],
    });
  });

  test('G7: with onMalformedRow, a row that does not parse is reported and skipped, and the rest of the list still counts', () => {
    // A function named "two\nlines" splits its status row in two.
    const skipped: string[] = [];
    const collector = new AdminReplyCollector('status', { onMalformedRow: (error) => skipped.push(`${error.code} ${error.line}`) });
    for (const line of ['a\t0\t0\t1', 'two', 'lines\t1\t0\t0']) expect(collector.push(line)).toBeUndefined();
    expect(collector.push('.')).toEqual(
      ok([
        { function: 'a', total: 0, running: 0, workers: 1 },
        { function: 'lines', total: 1, running: 0, workers: 0 },
      ]),
    );
    expect(skipped).toEqual(['MALFORMED_LINE two']);
    // Without it the reply stays strict.
    expectParseError('MALFORMED_LINE', () => new AdminReplyCollector('status').push('two'));
  });

  test('maxRows bounds a list', () => {
    const collector = new AdminReplyCollector('showUniqueJobs', { maxRows: 2 });
    collector.push('a');
    collector.push('b');
    expectParseError('TOO_MANY_LINES', () => collector.push('c'));
  });

  test('parseAdminReply reports a reply without its end, and lines past it', () => {
    expectParseError('INCOMPLETE_REPLY', () => parseAdminReply('workers', ['25 127.0.0.1 - :']));
    expectParseError('INCOMPLETE_REPLY', () => parseAdminReply('version', []));
    expectParseError('UNEXPECTED_LINE', () => parseAdminReply('version', ['OK 1', 'OK 2']));
  });

  test('any line either parses or throws AdminParseError, and what parses round-trips', () => {
    const kinds: AdminCommandKind[] = ['status', 'prioritystatus', 'workers', 'showJobs', 'version', 'getpid', 'cancelJob'];
    const line = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', ' ', '\t', ':', '0', '1', '9', '-', '.', 'E', 'R', 'O', 'K') }),
      fc.string(),
    );
    fc.assert(
      fc.property(fc.constantFrom(...kinds), line, (kind, text) => {
        let reply: AdminReply | undefined;
        try {
          reply = new AdminReplyCollector(kind).push(text);
        } catch (e) {
          if (!(e instanceof AdminParseError)) throw e;
          return;
        }
        if (reply === undefined) {
          // A list row: it must format back to itself.
          const full = parseAdminReply(kind, [text, '.']);
          expect(formatReplyLines(kind, full)).toEqual([text, '.']);
        } else if (reply.ok) {
          expect(formatReplyLines(kind, reply)).toEqual([text]);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('ERR lines', () => {
  test('"+" becomes a space and back', () => {
    const error = parseErrorLine('ERR UNKNOWN_COMMAND Unknown+server+commandbogus');
    expect(error.code).toBe('UNKNOWN_COMMAND');
    expect(error.text).toBe('Unknown server commandbogus');
    expect(formatErrorLine(error)).toBe('ERR UNKNOWN_COMMAND Unknown+server+commandbogus');
  });

  test('the uncoded messages format from their code alone', () => {
    expect(formatErrorLine(new AdminError('FUNCTION_NOT_FOUND'))).toBe('ERR function not found');
    expect(formatErrorLine(new AdminError('FUNCTION_IN_USE'))).toBe(
      'ERR there are still connected workers or executing clients',
    );
  });

  test('an error renders with CRLF like gearmand', () => {
    expect(renderAdminReply('status', { ok: false, error: new AdminError('UNKNOWN_ERROR') })).toBe('ERR UNKNOWN_ERROR\r\n');
  });
});

describe('admin commands', () => {
  const commands: [AdminCommand, string][] = [
    [{ kind: 'status' }, 'status'],
    [{ kind: 'prioritystatus' }, 'prioritystatus'],
    [{ kind: 'workers' }, 'workers'],
    [{ kind: 'version' }, 'version'],
    [{ kind: 'getpid' }, 'getpid'],
    [{ kind: 'showJobs' }, 'show jobs'],
    [{ kind: 'showUniqueJobs' }, 'show unique jobs'],
    [{ kind: 'cancelJob', handle: 'H:vm:4' }, 'cancel job H:vm:4'],
    [{ kind: 'maxqueue', function: 'build' }, 'maxqueue build'],
    [{ kind: 'maxqueue', function: 'build', limit: 10 }, 'maxqueue build 10'],
    [{ kind: 'maxqueue', function: 'build', limit: { high: 1, normal: 2, low: 0 } }, 'maxqueue build 1 2 0'],
    [{ kind: 'createFunction', function: 'build:x' }, 'create function build:x'],
    [{ kind: 'dropFunction', function: 'build:x' }, 'drop function build:x'],
    [{ kind: 'verbose' }, 'verbose'],
    [{ kind: 'shutdown' }, 'shutdown'],
    [{ kind: 'shutdown', graceful: true }, 'shutdown graceful'],
  ];

  for (const [command, line] of commands) {
    test(`${command.kind} → ${JSON.stringify(line)} and back`, () => {
      expect(formatAdminCommand(command)).toBe(line);
      expect(new TextDecoder().decode(encodeAdminCommand(command))).toBe(`${line}\r\n`);
      expect(parseAdminRequest(line)).toEqual({ ok: true, command });
    });
  }

  const bad: AdminCommand[] = [
    { kind: 'cancelJob', handle: 'H:1 x' },
    { kind: 'cancelJob', handle: '' },
    { kind: 'cancelJob', handle: 'H:1\r\nshutdown' },
    { kind: 'createFunction', function: 'a\tb' },
    { kind: 'createFunction', function: 'a\nb' },
    { kind: 'dropFunction', function: 'a\0b' },
    { kind: 'dropFunction', function: 'a\u00a0b' },
    { kind: 'maxqueue', function: 'a b' },
    { kind: 'maxqueue', function: 'f', limit: -1 },
    { kind: 'maxqueue', function: 'f', limit: 1.5 },
    { kind: 'maxqueue', function: 'f', limit: 2 ** 31 },
    { kind: 'maxqueue', function: 'f', limit: { high: 1, normal: Number.NaN, low: 0 } },
  ];
  for (const command of bad) {
    test(`rejects ${JSON.stringify(command)}`, () => {
      let caught: unknown;
      try {
        formatAdminCommand(command);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ProtocolError);
      expect((caught as ProtocolError).code).toBe('BAD_ARGUMENT');
    });
  }
});

describe('parseAdminRequest (as gearmand 1.1.20 reads a line)', () => {
  const commands: [string, AdminCommand][] = [
    ['STATUS', { kind: 'status' }],
    ['status   extra', { kind: 'status' }],
    ['status ', { kind: 'status' }],
    ['prioritystatus x', { kind: 'prioritystatus' }],
    ['Workers', { kind: 'workers' }],
    ['version x', { kind: 'version' }],
    ['show  jobs', { kind: 'showJobs' }],
    ['SHOW UNIQUE JOBS', { kind: 'showUniqueJobs' }],
    ['cancel job  H:vm:2', { kind: 'cancelJob', handle: 'H:vm:2' }],
    // Only spaces separate words: the tab is part of the handle (gearmand answers UNKNOWN_JOB).
    ['cancel job H:vm:1\t', { kind: 'cancelJob', handle: 'H:vm:1\t' }],
    ['cancel job ', { kind: 'cancelJob', handle: '' }],
    ['CREATE FUNCTION q', { kind: 'createFunction', function: 'q' }],
    ['create function ', { kind: 'createFunction', function: '' }],
    ['drop function FNC', { kind: 'dropFunction', function: 'FNC' }],
    ['maxqueue fnA ', { kind: 'maxqueue', function: 'fnA', limit: 0 }],
    ['maxqueue f -5', { kind: 'maxqueue', function: 'f', limit: 0 }],
    ['maxqueue f 12abc', { kind: 'maxqueue', function: 'f', limit: 12 }],
    ['maxqueue f abc', { kind: 'maxqueue', function: 'f', limit: 0 }],
    ['maxqueue f 1 2', { kind: 'maxqueue', function: 'f', limit: { high: 1, normal: 2, low: 0 } }],
    ['maxqueue f 1 2 3 4', { kind: 'maxqueue', function: 'f', limit: { high: 1, normal: 2, low: 3 } }],
    ['maxqueue f 99999999999', { kind: 'maxqueue', function: 'f', limit: 2 ** 31 - 1 }],
    ['shutdown GRACEFUL', { kind: 'shutdown', graceful: true }],
  ];
  for (const [line, command] of commands) {
    test(JSON.stringify(line), () => {
      expect(parseAdminRequest(line)).toEqual({ ok: true, command });
    });
  }

  const refused: [string, 'unknown' | 'invalid', string, string][] = [
    ['bogus', 'unknown', 'bogus', 'ERR UNKNOWN_COMMAND Unknown+server+commandbogus'],
    ['', 'unknown', '', 'ERR UNKNOWN_COMMAND Unknown+server+command'],
    ['  status', 'unknown', '', 'ERR UNKNOWN_COMMAND Unknown+server+command'],
    ['status\t', 'unknown', 'status\t', 'ERR UNKNOWN_COMMAND Unknown+server+commandstatus\t'],
    ['show\tjobs', 'unknown', 'show\tjobs', 'ERR UNKNOWN_COMMAND Unknown+server+commandshow\tjobs'],
    ['show', 'unknown', 'show', 'ERR UNKNOWN_COMMAND Unknown+server+commandshow'],
    ['cancel', 'unknown', 'cancel', 'ERR UNKNOWN_COMMAND Unknown+server+commandcancel'],
    ['cancel job', 'unknown', 'cancel', 'ERR UNKNOWN_COMMAND Unknown+server+commandcancel'],
    ['cancel foo bar', 'invalid', 'cancel', 'ERR UNKNOWN_ERROR'],
    ['cancel job H:vm:1 ', 'invalid', 'cancel', 'ERR UNKNOWN_ERROR'],
    ['show foo', 'invalid', 'show', 'ERR UNKNOWN_SHOW_ARGUMENTS'],
    ['show jobs ', 'invalid', 'show', 'ERR UNKNOWN_SHOW_ARGUMENTS'],
    ['show jobs x', 'invalid', 'show', 'ERR UNKNOWN_SHOW_ARGUMENTS'],
    [
      'maxqueue',
      'invalid',
      'maxqueue',
      'ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+maxqueue',
    ],
    ['create', 'invalid', 'create', 'ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+create'],
    [
      'create function a b',
      'invalid',
      'create',
      'ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+create',
    ],
    [
      'Drop function zz ',
      'invalid',
      'Drop',
      'ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+Drop',
    ],
    [
      'shutdown grace',
      'invalid',
      'shutdown',
      'ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+shutdown',
    ],
  ];
  for (const [line, reason, word, answer] of refused) {
    test(`${JSON.stringify(line)} is ${reason}`, () => {
      const request = parseAdminRequest(line);
      expect(request.ok).toBe(false);
      if (request.ok) return;
      expect(request.reason).toBe(reason);
      expect(request.word).toBe(word);
      expect(formatErrorLine(request.error)).toBe(answer);
    });
  }

  test('never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 's', 'how', ' ', '\t', 'jobs', 'cancel', 'job', 'X') }), (line) => {
        parseAdminRequest(line);
      }),
      { numRuns: 2000 },
    );
    fc.assert(fc.property(fc.string(), (line) => void parseAdminRequest(line)));
  });
});
