/** The admin text protocol of our server, byte for byte in gearmand 1.1.20's formats. */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import pkg from '../../../package.json' with { type: 'json' };
import type { GearmanServer } from '../../../src/protocol/server/index.ts';
import { AdminSocket, RawPeer, Type, startServer } from './raw-peer.ts';

let server: GearmanServer;
let admin: AdminSocket;
let worker: RawPeer;
let client: RawPeer;

beforeAll(async () => {
  const started = await startServer();
  server = started.server;
  // Connection numbers follow the order of connections: the worker is 1, the client 2, admin 3.
  worker = await RawPeer.open(started.port);
  worker.send(Type.SET_CLIENT_ID, ['builder']);
  worker.send(Type.CAN_DO, ['build']);
  worker.send(Type.CAN_DO, ['upload']);
  await worker.sync();
  client = await RawPeer.open(started.port);
  for (const [type, fn, unique] of [
    [Type.SUBMIT_JOB_BG, 'build', 'image-1'],
    [Type.SUBMIT_JOB_LOW_BG, 'upload', 'image-2'],
    [Type.SUBMIT_JOB_HIGH, 'build', 'image-3'],
  ] as const) {
    client.send(type, [fn, unique, 'payload']);
    await client.next(Type.JOB_CREATED);
  }
  admin = await AdminSocket.open(started.port);
});

afterAll(async () => {
  admin.close();
  worker.close();
  client.close();
  await server.close();
});

test('status: function, jobs known, jobs running, workers', async () => {
  expect(await admin.command('status')).toBe('build\t2\t0\t1\nupload\t1\t0\t1\n.\n');
});

test('prioritystatus: queued jobs per priority, then workers', async () => {
  expect(await admin.command('prioritystatus')).toBe('build\t1\t1\t0\t1\nupload\t0\t0\t1\t1\n.\n');
});

test('workers: every connection, functions newest first, "-" without a client id', async () => {
  expect(await admin.command('workers')).toBe('1 127.0.0.1 builder : upload build\n2 127.0.0.1 - :\n3 127.0.0.1 - :\n.\n');
});

test('show jobs and show unique jobs', async () => {
  expect(await admin.command('show jobs')).toBe('H:test:1\t0\t0\t1\nH:test:2\t0\t0\t1\nH:test:3\t0\t0\t0\n.\n');
  expect(await admin.command('show unique jobs')).toBe('image-1\nimage-2\nimage-3\n.\n');
});

test('version, getpid and verbose', async () => {
  expect(await admin.command('version')).toBe(`OK ${pkg.version}\n`);
  expect(await admin.command('getpid')).toBe(`OK ${process.pid}\n`);
  expect(await admin.command('verbose')).toBe('OK ERROR\n');
});

test('keywords match in any case, and a bare "\\n" ends a line as well as "\\r\\n"', async () => {
  expect(await admin.command('STATUS', '\n')).toBe('build\t2\t0\t1\nupload\t1\t0\t1\n.\n');
  expect(await admin.command('Show  Jobs')).toContain('H:test:1\t0\t0\t1\n');
});

test('unknown and malformed commands get gearmand\'s ERR lines', async () => {
  expect(await admin.command('bogus')).toBe('ERR UNKNOWN_COMMAND Unknown+server+commandbogus\r\n');
  expect(await admin.command('')).toBe('ERR UNKNOWN_COMMAND Unknown+server+command\r\n');
  expect(await admin.command('show foo')).toBe('ERR UNKNOWN_SHOW_ARGUMENTS\r\n');
  expect(await admin.command('cancel foo bar')).toBe('ERR UNKNOWN_ERROR\r\n');
  expect(await admin.command('maxqueue')).toBe(
    'ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+maxqueue\r\n',
  );
  expect(await admin.command('shutdown')).toBe('ERR UNKNOWN_COMMAND Unknown+server+commandshutdown\r\n');
});

test('cancel job: the client gets WORK_FAIL; the job stays listed, ignored, until a worker would take it', async () => {
  expect(await admin.command('cancel job H:test:404')).toBe('ERR UNKNOWN_JOB\r\n');
  expect(await admin.command('cancel job H:test:3')).toBe('OK\r\n');
  expect((await client.next(Type.WORK_FAIL)).args).toEqual(['H:test:3']);
  expect(await admin.command('show jobs')).toBe('H:test:1\t0\t0\t1\nH:test:2\t0\t0\t1\nH:test:3\t0\t1\t0\n.\n');
  worker.send(Type.GRAB_JOB_UNIQ);
  // The cancelled high-priority job is dropped on the way; the worker gets the next one.
  expect((await worker.next(Type.JOB_ASSIGN_UNIQ)).args[0]).toBe('H:test:1');
  expect(await admin.command('show jobs')).toBe('H:test:1\t0\t0\t1\nH:test:2\t0\t0\t1\n.\n');
  expect(await admin.command('status')).toBe('build\t1\t1\t1\nupload\t1\t0\t1\n.\n');
});

test('maxqueue limits a function\'s queue; an unknown function is accepted and ignored', async () => {
  expect(await admin.command('maxqueue upload 1')).toBe('OK\r\n');
  expect(await admin.command('maxqueue nosuch 3')).toBe('OK\r\n');
  client.send(Type.SUBMIT_JOB_BG, ['upload', 'image-5', '']);
  expect((await client.next(Type.ERROR)).args).toEqual(['QUEUE_ERROR', 'Job queue is full']);
  expect(await admin.command('maxqueue upload')).toBe('OK\r\n');
  client.send(Type.SUBMIT_JOB_BG, ['upload', 'image-5', '']);
  await client.next(Type.JOB_CREATED);
  expect(await admin.command('status')).not.toContain('nosuch');
});

test('create and drop function', async () => {
  expect(await admin.command('create function spare')).toBe('OK\r\n');
  expect(await admin.command('status')).toContain('spare\t0\t0\t0\n');
  expect(await admin.command('drop function build')).toBe('ERR there are still connected workers or executing clients\r\n');
  expect(await admin.command('drop function nothing')).toBe('ERR function not found\r\n');
  expect(await admin.command('drop function SPARE')).toBe('OK\r\n');
  expect(await admin.command('status')).not.toContain('spare');
});
