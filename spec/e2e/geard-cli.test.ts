import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from '../support/ports.ts';
import { eventually, run } from '../support/run.ts';

// `nodepool-builder geard --port P` serves the gearman CLI as client, worker and admin.
describe('nodepool-builder geard', () => {
  let port: number;
  let geard: ChildProcess;
  let cliWorker: ChildProcess;
  let stderr = '';

  beforeAll(async () => {
    port = await freePort();
    geard = spawn(process.execPath, ['src/cli/main.ts', 'geard', '--port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    geard.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await eventually(async () => (await run('gearadmin', ['-h', '127.0.0.1', '-p', String(port), '--status'])).stdout.endsWith('.\n'));
    cliWorker = spawn('gearman', ['-h', '127.0.0.1', '-p', String(port), '-w', '-f', 'shout', '--', 'tr', 'a-z', 'A-Z'], { stdio: 'ignore' });
  });

  afterAll(() => {
    cliWorker.kill('SIGKILL');
    geard.kill('SIGKILL');
  });

  test('the gearman CLI client gets the gearman CLI worker\'s result through it', async () => {
    const result = await run('gearman', ['-h', '127.0.0.1', '-p', String(port), '-f', 'shout'], 'quiet words');
    expect(result.stdout).toBe('QUIET WORDS');
  });

  test('gearadmin sees the worker, and SIGTERM stops the server cleanly, naming lost background jobs', async () => {
    const status = (await run('gearadmin', ['-h', '127.0.0.1', '-p', String(port), '--status'])).stdout;
    expect(status).toContain('shout\t0\t0\t1');
    await run('gearman', ['-h', '127.0.0.1', '-p', String(port), '-b', '-f', 'nobody-does-this'], 'x');
    const exited = new Promise<number | null>((resolve) => geard.once('exit', resolve));
    geard.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('function=nobody-does-this');
  });
});
