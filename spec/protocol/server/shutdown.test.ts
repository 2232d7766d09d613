/** Graceful shutdown: running jobs may finish; lost background jobs are logged, payloads never. */
import { expect, test } from 'bun:test';
import { captureLogs } from '../../support/log-capture.ts';
import { RawPeer, Type, startServer } from './raw-peer.ts';

test('close logs every background job that will not run, without its payload', async () => {
  const logs = captureLogs();
  const { server, port } = await startServer({ logger: logs });
  const client = await RawPeer.open(port);
  client.send(Type.SUBMIT_JOB_BG, ['image-build:debian', 'build-42', 'SECRET-PAYLOAD']);
  client.send(Type.SUBMIT_JOB_LOW_BG, ['image-upload:7', 'upload-7', 'SECRET-PAYLOAD']);
  client.send(Type.SUBMIT_JOB, ['image-delete:7', 'foreground', 'SECRET-PAYLOAD']);
  for (let i = 0; i < 3; i++) await client.next(Type.JOB_CREATED);
  await server.close();
  expect(await client.waitClosed()).toBe(true);
  const warnings = logs.at('warn');
  expect(warnings).toContainEqual(expect.stringContaining('function=image-build:debian handle=H:test:1 unique=build-42'));
  expect(warnings).toContainEqual(expect.stringContaining('function=image-upload:7 handle=H:test:2 unique=upload-7'));
  expect(warnings.some((line) => line.includes('image-delete:7'))).toBe(false);
  expect(warnings.at(-1)).toContain('2 background job(s)');
  expect(logs.lines.some((line) => line.message.includes('SECRET-PAYLOAD'))).toBe(false);
});

test('during the grace period running jobs finish, no new job starts and submissions are refused', async () => {
  const logs = captureLogs();
  const { server, port } = await startServer({ logger: logs });
  const client = await RawPeer.open(port);
  const worker = await RawPeer.open(port);
  worker.send(Type.CAN_DO, ['slow']);
  client.send(Type.SUBMIT_JOB, ['slow', 'running', '']);
  client.send(Type.SUBMIT_JOB_BG, ['slow', 'queued', '']);
  const { args: [handle] } = await client.next(Type.JOB_CREATED);
  await client.next(Type.JOB_CREATED);
  worker.send(Type.GRAB_JOB);
  await worker.next(Type.JOB_ASSIGN);

  // A grace longer than any test run: the close can end only because the running job finished.
  const events: string[] = [];
  const closing = server.close({ graceMs: 3_600_000 }).then(() => events.push('closed'));
  client.send(Type.SUBMIT_JOB_BG, ['slow', 'too-late', '']);
  expect((await client.next(Type.ERROR)).args[0]).toBe('QUEUE_ERROR');
  // The queued job is not handed out while the server drains.
  worker.send(Type.GRAB_JOB);
  expect((await worker.next()).name).toBe('NO_JOB');
  events.push('running job finishes');
  worker.send(Type.WORK_COMPLETE, [handle!, 'made it']);
  expect((await client.next(Type.WORK_COMPLETE)).args).toEqual([handle!, 'made it']);
  await closing;
  expect(events).toEqual(['running job finishes', 'closed']);
  expect(logs.at('warn')).toContainEqual(expect.stringContaining('unique=queued'));
  expect(await client.waitClosed()).toBe(true);
});

test('a new connection while shutting down is refused; listen after close throws', async () => {
  const { server, port } = await startServer();
  await server.close();
  await expect(RawPeer.open(port)).rejects.toThrow();
  await expect(server.listen()).rejects.toMatchObject({ code: 'CLOSED' });
});
