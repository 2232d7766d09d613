import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { TINY_ELEMENTS, tinyImage } from '../support/builder-process.ts';
import { type OpenStackPeers, startOpenStack } from '../support/openstack/openstack-peers.ts';
import { freePort } from '../support/ports.ts';
import { type RunResult, eventually, run } from '../support/run.ts';

/**
 * The product as shipped: every step goes through the compiled binary (NODEPOOL_BUILDER_BIN, which
 * scripts/test.sh builds first; otherwise this file builds one), against a real Glance, driven
 * once by the binary's own client commands and once by the gearman CLI.
 */
describe('the compiled binary: geard, run, image-build, image-upload to real Glance, image-delete', () => {
  let dir: string;
  let bin: string;
  let peers: OpenStackPeers;
  let server: string;
  let host: string;
  let port: number;
  let configFile: string;
  let imagesDir: string;
  const children: ChildProcess[] = [];
  const logs = new Map<ChildProcess, string>();

  const start = (args: string[]): ChildProcess => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    logs.set(child, '');
    const keep = (chunk: Buffer) => logs.set(child, logs.get(child) + chunk.toString());
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    children.push(child);
    return child;
  };
  const exited = (child: ChildProcess): Promise<number | null> =>
    child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((done) => child.once('exit', (code) => done(code)));
  const cli = (args: string[], timeoutMs = 180_000): Promise<RunResult> => run(bin, args, '', timeoutMs);
  const registered = async (fn: string): Promise<boolean> => {
    const admin = new AdminClient({ host, port });
    try {
      return (await admin.status()).some((f) => f.function === fn && f.workers > 0);
    } finally {
      admin.close();
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nodepool-binary-e2e-'));
    bin = process.env.NODEPOOL_BUILDER_BIN ? resolve(process.env.NODEPOOL_BUILDER_BIN) : join(dir, 'nodepool-builder');
    const building = existsSync(bin)
      ? Promise.resolve()
      : run('node_modules/.bin/bun', ['build', 'src/cli/main.ts', '--compile', '--minify', '--bytecode', '--format=esm', '--outfile', bin], '', 120_000).then(
          (r) => expect(r.code, r.stderr).toBe(0),
        );
    [peers, port] = await Promise.all([startOpenStack({ keystone: false }), freePort(), building]).then(([p, n]) => [p, n] as const);
    host = '127.0.0.1';
    server = `${host}:${port}`;
    imagesDir = join(dir, 'images');
    configFile = join(dir, 'builder.toml');
    await writeFile(
      configFile,
      [
        `images-dir = "${imagesDir}"`,
        `elements-path = ["${TINY_ELEMENTS}"]`,
        'min-free-space = "0"',
        'client-id = "binary-e2e"',
        `clouds-file = "${peers.cloudsFile}"`,
        tinyImage('tiny'),
        '[[providers]]',
        'name = "local-glance"',
        'cloud = "noauth"',
        'image-format = "raw"', // the build makes qcow2: every upload converts
        'meta = { origin = "binary-e2e" }',
        '[[gearman-servers]]',
        `host = "${host}"`,
        `port = ${port}`,
      ].join('\n'),
    );

    start(['geard', '--host', host, '--port', String(port)]);
    start(['run', '-c', configFile]);
    await eventually(() => registered('image-build:tiny'), 30_000, `image-build:tiny on ${server}\n${[...logs.values()].join('\n')}`);
  }, 300_000);

  afterAll(async () => {
    for (const child of children.reverse()) {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited(child);
    }
    await peers?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const glanceImage = async (id: string) => (await peers.images('noauth')).find((image) => image.id === id);

  test('--version and --help answer without a server', async () => {
    const version = await cli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await cli(['image-upload', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('<ID> <PROVIDER>');
  });

  test('config-validate accepts the config and dib-image-list starts empty', async () => {
    const valid = await cli(['config-validate', '-c', configFile]);
    expect(valid.code, valid.stderr).toBe(0);
    const list = await cli(['dib-image-list', '-c', configFile, '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  test('the binary client builds, uploads and deletes an image', async () => {
    const built = await cli(['image-build', 'tiny', '--id', 'bin-0001', '-s', server, '--json']);
    expect(built.code, built.stderr).toBe(0);
    expect(JSON.parse(built.stdout)).toMatchObject({ 'image-id': 'bin-0001', formats: { qcow2: expect.any(Object) } });

    const listed = JSON.parse((await cli(['dib-image-list', '-c', configFile, '--json'])).stdout) as Array<Record<string, unknown>>;
    expect(listed).toEqual([expect.objectContaining({ id: 'bin-0001', image: 'tiny', formats: 'qcow2', state: 'ready' })]);
    await eventually(() => registered('image-upload:bin-0001'), 10_000, 'image-upload:bin-0001');

    const status = await cli(['status', '-s', server, '--json']);
    expect(status.code, status.stderr).toBe(0);
    const functions = (JSON.parse(status.stdout) as Array<{ status: Array<{ function: string }> }>)[0]!.status.map((f) => f.function);
    expect(functions).toEqual(expect.arrayContaining(['image-build:tiny', 'image-upload:bin-0001', 'image-delete:bin-0001']));

    const uploaded = await cli(['image-upload', 'bin-0001', 'local-glance', '--image-name', 'bin-0001-raw', '-s', server, '--json']);
    expect(uploaded.code, uploaded.stderr).toBe(0);
    const result = JSON.parse(uploaded.stdout) as Record<string, string>;
    const image = await glanceImage(result['external-id']!);
    expect(image).toMatchObject({ name: 'bin-0001-raw', status: 'active', disk_format: 'raw', origin: 'binary-e2e' });
    expect(image?.checksum).toBe(result.checksum);
    // The raw file it uploaded stays beside the qcow2 for the next upload.
    const formats = JSON.parse((await cli(['dib-image-list', '-c', configFile, '--json'])).stdout)[0].formats as string;
    expect(formats.split(',').sort()).toEqual(['qcow2', 'raw']);

    const deleted = await cli(['image-delete', 'bin-0001', '-s', server]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout.trim()).toBe('deleted bin-0001');
    expect(existsSync(join(imagesDir, 'images', 'bin-0001'))).toBe(false);
    await eventually(async () => !(await registered('image-upload:bin-0001')), 10_000, 'image-upload:bin-0001 to go away');
    expect(JSON.parse((await cli(['dib-image-list', '-c', configFile, '--json'])).stdout)).toEqual([]);
  }, 300_000);

  test('the gearman CLI drives the same cycle with nodepool 0.3 job data', async () => {
    // The workload goes on stdin: the CLI refuses an empty one given as an argument.
    const gearman = (fn: string, data: string) => run('gearman', ['-h', host, '-p', String(port), '-f', fn], data, 180_000);
    const built = await gearman('image-build:tiny', '{"image-id": "cli-0001"}');
    expect(built.code, built.stderr).toBe(0);
    expect(JSON.parse(built.stdout)).toMatchObject({ 'image-id': 'cli-0001' });
    await eventually(() => registered('image-upload:cli-0001'), 10_000, 'image-upload:cli-0001');

    const uploaded = await gearman('image-upload:cli-0001', '{"provider": "local-glance", "image-name": "cli-0001-raw"}');
    expect(uploaded.code, uploaded.stderr).toBe(0);
    // The CLI also prints WORK_STATUS as "N% Complete" lines around the result.
    const externalId = (JSON.parse(uploaded.stdout.match(/\{[^}]*\}/)?.[0] ?? '') as Record<string, string>)['external-id']!;
    expect(await glanceImage(externalId)).toMatchObject({ name: 'cli-0001-raw', status: 'active' });

    const deleted = await gearman('image-delete:cli-0001', '');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(existsSync(join(imagesDir, 'images', 'cli-0001'))).toBe(false);
  }, 300_000);

  test('failures exit non-zero with one line on stderr', async () => {
    const unknownProvider = await cli(['image-upload', 'no-such-image', 'local-glance', '-s', server, '--timeout', '2']);
    expect(unknownProvider.code).not.toBe(0);
    expect(unknownProvider.stderr.trim().split('\n')).toHaveLength(1);

    const built = await cli(['image-build', 'tiny', '--id', 'bin-0002', '-s', server]);
    expect(built.code, built.stderr).toBe(0);
    const refused = await cli(['image-upload', 'bin-0002', 'no-such-provider', '-s', server]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^nodepool-builder: .*no-such-provider.*\n$/);
    expect(refused.stderr).not.toContain('    at ');
    expect((await cli(['image-delete', 'bin-0002', '-s', server])).code).toBe(0);

    const unreachable = await cli(['status', '-s', '127.0.0.1:1']);
    expect(unreachable.code).toBe(3);
    const badConfig = await cli(['config-validate', '-c', join(dir, 'missing.toml')]);
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toContain('missing.toml');
  }, 300_000);

  test('SIGTERM stops run and geard cleanly', async () => {
    for (const child of [...children].reverse()) {
      child.kill('SIGTERM');
      expect(await exited(child), logs.get(child)).toBe(0);
    }
  }, 60_000);
});
