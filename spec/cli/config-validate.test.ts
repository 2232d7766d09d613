import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const MAIN = resolve('src/cli/main.ts');
/** Each case starts the CLI under Bun: seconds on a busy 2-core host. */
const CLI_TIMEOUT_MS = 60_000;

describe('config-validate checks the clouds the providers name', () => {
  let root: string;
  let n = 0;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'config-validate-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  /** A builder.toml with one provider on cloud "c" and the given clouds files; a valid clouds.yaml with "c" sits in the cwd too. */
  const validate = async (files: Record<string, string>, provider = 'cloud = "c"') => {
    const dir = join(root, String(n++));
    const cwd = join(dir, 'cwd');
    await mkdir(cwd, { recursive: true });
    await writeFile(join(cwd, 'clouds.yaml'), 'clouds:\n  c:\n    auth_type: none\n    endpoint: http://other-cloud\n', { mode: 0o600 });
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text, { mode: 0o600 });
    const config = join(dir, 'builder.toml');
    const cloudsFile = files['clouds.yaml'] === undefined ? '' : `clouds-file = "${join(dir, 'clouds.yaml')}"\n`;
    await writeFile(config, `images-dir = "${join(dir, 'images')}"\n${cloudsFile}\n[[providers]]\nname = "p"\n${provider}\n`);
    const child = Bun.spawn([process.execPath, MAIN, 'config-validate', '-c', config], {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, NO_COLOR: '1' },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    return { code, stdout, stderr, dir };
  };

  test('H2: a clouds-file that does not parse is reported with its position (exit 2), not replaced by the clouds.yaml in the cwd', async () => {
    const result = await validate({ 'clouds.yaml': 'clouds:\n  c:\n    auth_type: none\n    endpoint: "http://broken\n' });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`${join(result.dir, 'clouds.yaml')} is not valid YAML \\(\\w+\\) at line \\d+, column \\d+`));
  }, CLI_TIMEOUT_MS);

  test('H3: a secure.json with an unquoted password: its name and position, never the password', async () => {
    const result = await validate({
      'clouds.yaml': 'clouds:\n  c:\n    auth_type: none\n    endpoint: http://glance\n',
      'secure.json': '{\n  "clouds": {\n    "c": {\n      "auth": {"password": hunter2}\n    }\n  }\n}\n',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(result.dir, 'secure.json')} is not valid JSON: syntax error at line 4, column 28`);
    expect(result.stderr + result.stdout).not.toContain('hunter2');
  }, CLI_TIMEOUT_MS);

  test('H2: a provider naming a cloud the files do not have is reported with the provider', async () => {
    const result = await validate({ 'clouds.yaml': 'clouds:\n  c:\n    auth_type: none\n    endpoint: http://glance\n' }, 'cloud = "nowhere"');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('provider "p": no cloud "nowhere"');
  }, CLI_TIMEOUT_MS);

  test('H7: an image-name-format with an unknown field is refused (exit 2)', async () => {
    const result = await validate({ 'clouds.yaml': 'clouds:\n  c:\n    auth_type: none\n    endpoint: http://glance\n' }, 'cloud = "c"\nimage-name-format = "{image_name}-{date}"');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('providers[0].image-name-format: expected a name format ({date} is not a known field');
  }, CLI_TIMEOUT_MS);

  test('clouds that resolve: OK, exit 0', async () => {
    const result = await validate({ 'clouds.yaml': 'clouds:\n  c:\n    auth_type: none\n    endpoint: http://glance\n' });
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toContain('OK (0 diskimage(s), 1 provider(s) with their clouds');
  }, CLI_TIMEOUT_MS);
});
