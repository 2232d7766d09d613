/**
 * The admin codec against a real gearmand: our parsed replies must agree with what gearmand's
 * own `gearadmin` prints for the same state, and parseAdminRequest must read request lines the
 * way gearmand does.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type Socket, connect } from 'node:net';
import {
  type AdminCommand,
  type AdminCommandKind,
  type AdminReply,
  formatAdminCommand,
  formatErrorLine,
  parseAdminRequest,
} from '../../src/protocol/codec/admin.ts';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { Decoder, type Packet } from '../../src/protocol/codec/decoder.ts';
import { encodePacketBuffer } from '../../src/protocol/codec/encoder.ts';
import { Type } from '../../src/protocol/codec/packets.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';

function open(server: Gearmand): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends binary packets and waits for the first reply packet of a given type. */
class BinaryLink {
  private readonly waiters: { type: number; resolve(packet: Packet): void }[] = [];
  private readonly decoder = new Decoder(
    {
      packet: (packet) => {
        const index = this.waiters.findIndex((w) => w.type === packet.type);
        if (index >= 0) this.waiters.splice(index, 1)[0]?.resolve(packet);
      },
      text: () => {},
    },
    { expect: 'RES' },
  );

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk));
  }

  send(type: number, args: readonly string[]): void {
    this.socket.write(encodePacketBuffer('REQ', type, args));
  }

  next(type: number): Promise<Packet> {
    return new Promise((resolve) => this.waiters.push({ type, resolve }));
  }
}

function ok<K extends AdminCommandKind>(reply: AdminReply<K>): AdminReply<K> & { ok: true } {
  if (!reply.ok) throw reply.error;
  return reply;
}

function gearadmin(server: Gearmand, ...args: string[]): string[] {
  const run = Bun.spawnSync(['gearadmin', '-h', server.host, '-p', String(server.port), ...args]);
  expect(run.exitCode).toBe(0);
  const out = run.stdout.toString();
  expect(out.endsWith('\n')).toBe(true);
  return out.slice(0, -1).split('\n');
}

/** gearadmin's lines read without our parsers: split on tabs, drop the closing ".". */
function tabbed(lines: string[]): string[][] {
  expect(lines.at(-1)).toBe('.');
  return lines.slice(0, -1).map((line) => line.split('\t'));
}

const BUILD = 'e2e:build';
const UPLOAD = 'e2e:upload';

let server: Gearmand;
let admin: AdminClient;
/** A command's reply as a union, ERR included. */
const reply = <C extends AdminCommand>(command: C): Promise<AdminReply<C['kind']>> =>
  admin.sendLine<C['kind']>(formatAdminCommand(command), command.kind);
let worker: BinaryLink;
let client: BinaryLink;
const handles: string[] = [];

beforeAll(async () => {
  server = await startGearmand();
  admin = new AdminClient(server);

  worker = new BinaryLink(await open(server));
  worker.send(Type.SET_CLIENT_ID, ['e2e-worker']);
  worker.send(Type.CAN_DO, [BUILD]);
  worker.send(Type.CAN_DO, [UPLOAD]);

  client = new BinaryLink(await open(server));
  for (const [type, fn, unique] of [
    [Type.SUBMIT_JOB_BG, BUILD, 'image-1'],
    [Type.SUBMIT_JOB_LOW_BG, UPLOAD, 'image-2'],
  ] as const) {
    const created = client.next(Type.JOB_CREATED);
    client.send(type, [fn, unique, 'payload']);
    handles.push(new TextDecoder().decode((await created).args[0]));
  }

  // The worker's CAN_DOs travel on another connection, maybe another server thread.
  for (let tries = 0; ; tries++) {
    const status = ok(await reply({ kind: 'status' })).value;
    if (status.find((row) => row.function === UPLOAD)?.workers === 1) break;
    if (tries > 100) throw new Error('the worker never showed up in status');
    await Bun.sleep(10);
  }
});

afterAll(async () => {
  admin?.close();
  worker?.socket.destroy();
  client?.socket.destroy();
  await server?.kill();
});

describe('admin replies from a real gearmand', () => {
  test('status matches gearadmin --status and the state we made', async () => {
    const ours = ok(await reply({ kind: 'status' })).value;
    const theirs = tabbed(gearadmin(server, '--status')).map(([fn = '', total, running, workers]) => ({
      function: fn,
      total: Number(total),
      running: Number(running),
      workers: Number(workers),
    }));
    expect(ours).toEqual(theirs);
    expect(ours).toContainEqual({ function: BUILD, total: 1, running: 0, workers: 1 });
    expect(ours).toContainEqual({ function: UPLOAD, total: 1, running: 0, workers: 1 });
  });

  test('prioritystatus matches gearadmin --priority-status', async () => {
    const ours = ok(await reply({ kind: 'prioritystatus' })).value;
    const theirs = tabbed(gearadmin(server, '--priority-status')).map(([fn = '', high, normal, low, workers]) => ({
      function: fn,
      high: Number(high),
      normal: Number(normal),
      low: Number(low),
      workers: Number(workers),
    }));
    expect(ours).toEqual(theirs);
    expect(ours).toContainEqual({ function: BUILD, high: 0, normal: 1, low: 0, workers: 1 });
    expect(ours).toContainEqual({ function: UPLOAD, high: 0, normal: 0, low: 1, workers: 1 });
  });

  test('workers matches gearadmin --workers for the connections that can do something', async () => {
    const ours = ok(await reply({ kind: 'workers' })).value;
    const lines = gearadmin(server, '--workers');
    expect(lines.at(-1)).toBe('.');
    const theirs = lines.slice(0, -1).map((line) => {
      const match = /^(\d+) (\S+) (\S+) :(.*)$/.exec(line);
      if (match === null) throw new Error(`gearadmin printed ${JSON.stringify(line)}`);
      const [, fd, address = '', clientId = '', rest = ''] = match;
      return { fd: Number(fd), address, clientId, functions: rest.split(' ').filter(Boolean) };
    });
    // Each side also lists its own admin connection, so only workers proper are compared.
    const doers = <T extends { functions: readonly string[] }>(rows: readonly T[]) =>
      rows.filter((row) => row.functions.length > 0);
    expect(doers(ours)).toEqual(doers(theirs));
    expect(doers(ours)).toHaveLength(1);
    const [row] = doers(ours);
    expect(row?.clientId).toBe('e2e-worker');
    expect(row?.address).toBe('127.0.0.1');
    expect([...(row?.functions ?? [])].sort()).toEqual([BUILD, UPLOAD]);
    // The client and our admin connection are listed with no functions and no client id.
    expect(ours.filter((r) => r.functions.length === 0).every((r) => r.clientId === '-')).toBe(true);
  });

  test('show jobs and show unique jobs match gearadmin', async () => {
    const jobs = ok(await reply({ kind: 'showJobs' })).value;
    const theirs = tabbed(gearadmin(server, '--show-jobs')).map(([handle = '', retries, ignored, queued]) => ({
      handle,
      retries: Number(retries),
      ignored: ignored === '1',
      queued: queued === '1',
    }));
    expect(jobs).toEqual(theirs);
    expect(jobs.map((job) => job.handle).sort()).toEqual([...handles].sort());
    expect(jobs.every((job) => job.queued && !job.ignored && job.retries === 0)).toBe(true);

    const uniques = ok(await reply({ kind: 'showUniqueJobs' })).value;
    expect(uniques).toEqual(gearadmin(server, '--show-unique-jobs').slice(0, -1));
    expect([...uniques].sort()).toEqual(['image-1', 'image-2']);
  });

  test('version, getpid and verbose match gearadmin', async () => {
    expect(ok(await reply({ kind: 'version' })).value).toBe(gearadmin(server, '--server-version')[0]!);
    expect(ok(await reply({ kind: 'getpid' })).value).toBe(server.pid);
    expect(ok(await reply({ kind: 'verbose' })).value).toBe(gearadmin(server, '--server-verbose')[0]!);
  });

  test('function and job management answer OK or typed errors', async () => {
    const unknownJob = await reply({ kind: 'cancelJob', handle: 'H:nowhere:1' });
    expect(unknownJob.ok ? null : unknownJob.error.code).toBe('UNKNOWN_JOB');

    const inUse = await reply({ kind: 'dropFunction', function: BUILD });
    expect(inUse.ok ? null : inUse.error.code).toBe('FUNCTION_IN_USE');
    const missing = await reply({ kind: 'dropFunction', function: 'e2e:missing' });
    expect(missing.ok ? null : missing.error.code).toBe('FUNCTION_NOT_FOUND');

    expect(await reply({ kind: 'maxqueue', function: BUILD, limit: { high: 5, normal: 5, low: 5 } })).toEqual({
      ok: true,
      value: null,
    });
    expect(await reply({ kind: 'createFunction', function: 'e2e:created' })).toEqual({ ok: true, value: null });
    const status = ok(await reply({ kind: 'status' })).value;
    expect(status).toContainEqual({ function: 'e2e:created', total: 0, running: 0, workers: 0 });
    expect(await reply({ kind: 'dropFunction', function: 'e2e:created' })).toEqual({ ok: true, value: null });

    // Cancelling a queued background job leaves it listed, flagged ignored and no longer queued.
    const victim = handles[1]!;
    expect(await reply({ kind: 'cancelJob', handle: victim })).toEqual({ ok: true, value: null });
    const jobs = ok(await reply({ kind: 'showJobs' })).value;
    expect(jobs.find((job) => job.handle === victim)).toEqual({ handle: victim, retries: 0, ignored: true, queued: false });
  });
});

describe('parseAdminRequest reads lines the way gearmand does', () => {
  // shutdown is left out: this gearmand build answers every shutdown line with UNKNOWN_COMMAND.
  const lines = [
    'STATUS',
    'status   extra',
    'prioritystatus x',
    'Workers',
    'version x',
    'getpid ',
    'show  jobs',
    'SHOW UNIQUE JOBS',
    'cancel job H:none:9',
    'cancel job H:none:9\t',
    'cancel job ',
    'maxqueue e2e:x 3',
    'maxqueue e2e:x 1 2',
    'create function e2e:tmp',
    'drop function e2e:tmp',
    'drop function e2e:tmp',
    'bogus',
    '',
    '  status',
    'status\t',
    'show',
    'show foo',
    'show jobs ',
    'cancel',
    'cancel job',
    'cancel foo bar',
    'maxqueue',
    'create',
    'create function a b',
    'drop function x ',
  ];

  test.each(lines)('%p', async (line) => {
    const request = parseAdminRequest(line);
    if (request.ok) {
      const answer = await admin.sendLine(line, request.command.kind);
      if (!answer.ok) {
        // Only errors about the state may come back, never about the line itself.
        expect(['UNKNOWN_JOB', 'FUNCTION_NOT_FOUND', 'FUNCTION_IN_USE']).toContain(answer.error.code);
      }
    } else {
      // Any single-line kind collects a one-line ERR answer.
      const answer = await admin.sendLine(line, 'cancelJob');
      expect(answer.ok ? 'OK' : formatErrorLine(answer.error)).toBe(formatErrorLine(request.error));
    }
  });
});
