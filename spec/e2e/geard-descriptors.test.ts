import { afterAll, beforeAll, expect, test } from 'bun:test';
import { type ChildProcess, spawn } from 'node:child_process';
import { type Socket, connect } from 'node:net';
import { defaultMaxConnections, openFileLimit } from '../../src/protocol/server/descriptor-limit.ts';
import { version } from '../../package.json';
import { freePort, waitListening } from '../support/ports.ts';
import { eventually, run, stopChild } from '../support/run.ts';

// geard under `ulimit -n 200`, as in issue 19's G2 report.
let port: number;
let geard: ChildProcess;
let stderr = '';

beforeAll(async () => {
  port = await freePort();
  geard = spawn('bash', ['-c', `ulimit -n 200 && exec "${process.execPath}" src/cli/main.ts geard --port ${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  geard.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitListening('geard', '127.0.0.1', port, geard);
});

afterAll(() => stopChild(geard));

test('the connection limit leaves a reserve under the open-files limit', () => {
  expect(openFileLimit('Max open files            200                  4096                 files     \n')).toBe(200);
  expect(openFileLimit('Max open files            unlimited            unlimited            files     \n')).toBe(Number.POSITIVE_INFINITY);
  expect(openFileLimit('nothing here')).toBeUndefined();
  expect(defaultMaxConnections(200)).toBe(168);
  expect(defaultMaxConnections(1_048_576)).toBe(10_000);
  expect(defaultMaxConnections(undefined)).toBe(10_000);
});

test('G2: under ulimit -n 200, 220 idle connects are refused past the limit at once (not left in the backlog), and geard serves again when they leave', async () => {
  const idle: Socket[] = [];
  let closedByServer = 0;
  for (let i = 0; i < 220; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.on('close', () => closedByServer++);
    idle.push(socket);
  }
  // Before, accept() failed with EMFILE: none was closed, and every later client waited in the backlog.
  await eventually(() => closedByServer >= 220 - defaultMaxConnections(200), 20_000, 'the connections past the limit to be closed');
  expect(stderr).toContain('too many connections');
  for (const socket of idle) socket.destroy();
  await eventually(async () => (await run('gearadmin', ['-h', '127.0.0.1', '-p', String(port), '--server-version'])).stdout.trim() === version, 20_000, 'geard to answer again');
}, 60_000);
