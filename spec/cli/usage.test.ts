import { describe, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../support/run.ts';

/** The CLI with a clean environment: no NO_COLOR, CI or TEST unless given (citty reads those). */
function cli(args: readonly string[], env: Record<string, string> = {}, command?: string): Promise<RunResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !['NO_COLOR', 'CI', 'TEST', 'FORCE_COLOR'].includes(key)));
  return new Promise((resolve, reject) => {
    const argv = command ? ['-q', ...args] : ['src/cli/main.ts', ...args];
    const child = spawn(command ?? process.execPath, argv, { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    // A server that starts although its arguments were wrong would run forever: the kill makes the test fail instead.
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', () => clearTimeout(timer));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const ESC = /\u001b/;

describe('G11: usage errors exit 2, in one plain line', () => {
  test.each([
    [['image-build'], 'nodepool-builder image-build: missing NAME'],
    [['image-upload', 'some-id'], 'nodepool-builder image-upload: missing PROVIDER'],
    [['no-such-command'], 'nodepool-builder: unknown command "no-such-command"'],
    [[], 'nodepool-builder: no command given'],
    [['image-build', 'tiny', '--tiemout', '5', '-s', '127.0.0.1:1'], 'nodepool-builder image-build: unknown option --tiemout'],
    [['status', '-x'], 'nodepool-builder status: unknown option -x'],
    [['image-delete', 'a', 'b', '-s', '127.0.0.1:1'], 'nodepool-builder image-delete: unexpected argument "b"'],
    [['status', '--server'], 'nodepool-builder status: --server needs a value'],
    [['config-validate'], 'nodepool-builder config-validate: --config is required'],
  ])('%p', async (args, message) => {
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${message} (see nodepool-builder`);
    expect(result.stderr).not.toMatch(ESC);
  });

  test('known spellings still pass: --flag=value, aliases, camelCase, --no-<boolean>, values that start with a dash', async () => {
    const result = await cli(['image-build', 'tiny', '--id=x1', '-s', '127.0.0.1:1', '--noFollow', '--timeout', '-1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--timeout takes a number of seconds above 0, got "-1"');
  });
});

describe('G11: geard refuses what it used to read as NaN, 0 or nothing', () => {
  test.each([
    [['--job-retries', 'x'], '--job-retries takes a whole number from 0 to 4294967295, got "x"'],
    [['--shutdown-grace', 'abc'], '--shutdown-grace takes seconds from 0 to 2147483, got "abc"'],
    [['--shutdown-grace', '1e308'], '--shutdown-grace takes seconds from 0 to 2147483, got "1e308"'],
    [['--port', ''], '--port takes a whole number from 0 to 65535, got ""'],
    [['--port', '70000'], '--port takes a whole number from 0 to 65535, got "70000"'],
    [['--host', ''], '--host takes an address to listen on, got ""'],
  ])('geard %p', async (args, message) => {
    const result = await cli(['geard', '--port', '0', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`nodepool-builder: ${message}\n`);
  }, 30_000);
});

describe('G11: colour only on a terminal, and never with NO_COLOR', () => {
  test.each([[{}], [{ NO_COLOR: 'yes' }], [{ NO_COLOR: '1' }]])('--help into a pipe with %p has no escape codes', async (env) => {
    for (const args of [['--help'], ['image-build', '--help']]) {
      const result = await cli(args, env);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('USAGE');
      expect(result.stdout).not.toMatch(ESC);
    }
  });

  test('on a terminal (script(1)) --help is coloured, unless NO_COLOR is set to anything', async () => {
    const onTerminal = (env: Record<string, string>) => cli(['-c', `${process.execPath} src/cli/main.ts image-build --help`, '/dev/null'], env, 'script');
    expect((await onTerminal({})).stdout).toMatch(ESC);
    expect((await onTerminal({ NO_COLOR: 'yes' })).stdout).not.toMatch(ESC);
  });

  test('an argument error into a pipe has no escape codes', async () => {
    const result = await cli(['nope']);
    expect(result.code).toBe(2);
    expect(result.stderr + result.stdout).not.toMatch(ESC);
  });
});

test('G11: config-validate refuses what used to fail only later (exit 2, naming the key)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'config-validate-'));
  const cases: [string, string][] = [
    ['[[diskimages]]\nname = "a"\nelements = ["--help"]\n', 'diskimages[0].elements[0]'],
    ['client-id = "builder|01"\n', 'client-id'],
    ['images-dir = "~/imgs"\n', 'images-dir'],
    ['images-dir = "builder.toml"\n', 'images-dir'],
  ];
  for (const [text, key] of cases) {
    writeFileSync(join(dir, 'builder.toml'), text);
    const result = await cli(['config-validate', '-c', join(dir, 'builder.toml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith(`nodepool-builder: ${join(dir, 'builder.toml')}: ${key}: expected `);
  }
});

test('G11: image-update --provider with -c checks the provider names before anything is built', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'image-update-'));
  const file = join(dir, 'builder.toml');
  writeFileSync(file, '[[providers]]\nname = "cloud-a"\n[[providers]]\nname = "cloud-b"\n');
  // No job server is reachable: the refusal must come first.
  const result = await cli(['image-update', 'tiny', '--provider', 'cloud-a', '--provider', 'nope', '-c', file, '-s', '127.0.0.1:1']);
  expect(result.code).toBe(2);
  expect(result.stderr).toBe(`nodepool-builder: ${file} has no provider nope (it has: cloud-a, cloud-b)\n`);
});

test('G11: an empty --server is refused, not read as the default 127.0.0.1:4730', async () => {
  for (const args of [['status', '--server', ''], ['status', '--server='], ['image-delete', 'x', '-s', '']]) {
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('nodepool-builder: --server takes HOST[:PORT], got ""\n');
  }
});
