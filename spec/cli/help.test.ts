import { describe, expect, test } from 'bun:test';
import { run } from '../support/run.ts';

const COMMANDS = ['run', 'geard', 'image-build', 'image-upload', 'image-delete', 'image-update', 'status', 'dib-image-list', 'config-validate', 'image-list', 'image-status', 'image-pause', 'image-unpause', 'image-build-request', 'image-upload-delete', 'image-build-delete'];

async function cli(...args: string[]) {
  return run('env', ['NO_COLOR=1', process.execPath, 'src/cli/main.ts', ...args]);
}

describe('--help', () => {
  test('the top-level help lists every command', async () => {
    const result = await cli('--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatchSnapshot();
    for (const command of COMMANDS) expect(result.stdout).toContain(command);
  });

  test.each(COMMANDS)('%s --help', async (command) => {
    const result = await cli(command, '--help');
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(/\u001b\[/); // NO_COLOR is honoured
    expect(result.stdout).toMatchSnapshot();
  });

  test('--version prints the package version', async () => {
    const result = await cli('--version');
    expect(result.stdout.trim()).toBe((await import('../../package.json')).version);
  });
});

describe('errors and exit codes', () => {
  test('a bad config is one line on stderr and exit code 2', async () => {
    const result = await cli('config-validate', '-c', '/nonexistent.toml');
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual(['nodepool-builder: /nonexistent.toml: expected a readable file, got "ENOENT"']);
  });

  test('an unreachable job server is exit code 3', async () => {
    const result = await cli('image-delete', 'some-id', '--server', '127.0.0.1:1');
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('no gearman server reachable (127.0.0.1:1: connect ECONNREFUSED');
  }, 30_000);

  test('a bad image id is refused before anything is sent (exit 2)', async () => {
    const result = await cli('image-build', 'tiny', '--id', '../etc', '--server', '127.0.0.1:1');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--id must match');
  });

  test('--debug adds the stack', async () => {
    const result = await cli('config-validate', '-c', '/nonexistent.toml', '--debug');
    expect(result.stderr).toContain('ConfigError');
    expect(result.stderr.split('\n').length).toBeGreaterThan(3);
  });
});
