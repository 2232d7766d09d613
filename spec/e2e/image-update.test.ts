import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type BuilderProcess, startBuilder, tinyImage } from '../support/builder-process.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { type OpenStackPeers, startOpenStack } from '../support/openstack/openstack-peers.ts';
import { type RunResult, run } from '../support/run.ts';

interface UpdateReport {
  readonly 'image-id': string;
  readonly uploads: Record<string, { readonly 'external-id'?: string; readonly error?: string }>;
}

/**
 * nodepool 0.3's image-update from the scheduler's side: `image-update` (run from the sources)
 * builds on a real builder process through a real gearmand, then uploads to several providers
 * at once, into a real Glance. The failing provider fails for real: its cloud is not in clouds.yaml.
 */
describe('image-update: build once, upload to every provider in parallel', () => {
  let gearmand: Gearmand;
  let peers: OpenStackPeers;
  let builder: BuilderProcess;
  let server: string;

  beforeAll(async () => {
    [gearmand, peers] = await Promise.all([startGearmand(), startOpenStack({ keystone: false })]);
    server = `${gearmand.host}:${gearmand.port}`;
    builder = await startBuilder(
      gearmand,
      [
        `clouds-file = "${peers.cloudsFile}"`,
        tinyImage('tiny'),
        tinyImage('broken', { env: { TINY_ROOT_FAIL: '1' } }),
        '[[providers]]',
        'name = "good-qcow2"',
        'cloud = "noauth"',
        'image-format = "qcow2"',
        '[[providers]]',
        'name = "good-raw"',
        'cloud = "noauth"',
        'image-format = "raw"',
        '[[providers]]',
        'name = "missing-cloud"',
        'cloud = "no-such-cloud"',
        'image-format = "qcow2"',
      ].join('\n'),
      ['image-build:tiny', 'image-build:broken'],
    );
  }, 300_000);

  afterAll(async () => {
    await builder?.[Symbol.asyncDispose]();
    await gearmand?.kill();
    await peers?.stop();
  }, 60_000);

  const imageUpdate = (...args: string[]): Promise<RunResult> =>
    run('node_modules/.bin/bun', ['src/cli/main.ts', 'image-update', ...args, '-s', server], '', 240_000);
  const glanceImage = async (id: string | undefined) => (await peers.images('noauth')).find((image) => image.id === id);

  test('both good providers: exit 0, and each external id is an active image in Glance', async () => {
    const result = await imageUpdate('tiny', '--id', 'upd-0001', '--provider', 'good-qcow2', '--provider', 'good-raw', '--json');
    expect(result.code, `${result.stderr}\n${builder.log()}`).toBe(0);
    const report = JSON.parse(result.stdout) as UpdateReport;
    expect(report['image-id']).toBe('upd-0001');
    expect(Object.keys(report.uploads).sort()).toEqual(['good-qcow2', 'good-raw']);
    const qcow2 = await glanceImage(report.uploads['good-qcow2']!['external-id']);
    const raw = await glanceImage(report.uploads['good-raw']!['external-id']);
    expect(qcow2).toMatchObject({ status: 'active', disk_format: 'qcow2' });
    expect(raw).toMatchObject({ status: 'active', disk_format: 'raw' });
    expect(qcow2!.id).not.toBe(raw!.id);
  }, 300_000);

  test('one provider fails: exit 1, its reason is shown, and the good upload stays in Glance', async () => {
    const before = new Set((await peers.images('noauth')).map((image) => image.id));
    const result = await imageUpdate('tiny', '--id', 'upd-0002', '--provider', 'good-qcow2', '--provider', 'missing-cloud');
    expect(result.code, `${result.stderr}\n${builder.log()}`).toBe(1);
    expect(result.stderr).toContain('nodepool-builder: 1 of 2 uploads failed');
    // WORK_STATUS shows as plain progress lines when stderr is not a terminal.
    expect(result.stderr).toMatch(/^good-qcow2: 100% /m);

    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe('image upd-0002');
    expect(lines[1]).toMatch(/^PROVIDER +EXTERNAL ID$/);
    const good = lines.find((line) => line.startsWith('good-qcow2 '))?.split(/ +/)[1];
    expect(lines.find((line) => line.startsWith('missing-cloud '))).toMatch(/^missing-cloud +failed: .*no cloud "no-such-cloud"/);

    const added = (await peers.images('noauth')).filter((image) => !before.has(image.id));
    expect(added).toEqual([expect.objectContaining({ id: good, status: 'active', disk_format: 'qcow2' })]);
  }, 300_000);

  test('--all-providers -c uploads to every [[providers]] entry of the config', async () => {
    const result = await imageUpdate('tiny', '--all-providers', '-c', builder.configFile, '--json');
    expect(result.code, result.stderr).toBe(1); // missing-cloud is one of them
    const report = JSON.parse(result.stdout) as UpdateReport;
    expect(report['image-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(Object.keys(report.uploads).sort()).toEqual(['good-qcow2', 'good-raw', 'missing-cloud']);
    expect(report.uploads['missing-cloud']!.error).toContain('no-such-cloud');
    for (const provider of ['good-qcow2', 'good-raw']) {
      expect(await glanceImage(report.uploads[provider]!['external-id'])).toMatchObject({ status: 'active' });
    }
  }, 300_000);

  test('a failed build is exit 1 with its reason, and nothing is uploaded', async () => {
    const before = (await peers.images('noauth')).length;
    const result = await imageUpdate('broken', '--provider', 'good-qcow2', '--provider', 'good-raw');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^nodepool-builder: the job failed: .+/m);
    expect(result.stdout).toBe('');
    expect(await peers.images('noauth')).toHaveLength(before);
  }, 300_000);

  test('usage errors are exit 2 and submit nothing', async () => {
    const cases: Array<[string[], string]> = [
      [['tiny'], 'name the providers with --provider'],
      [['tiny', '--all-providers'], '--all-providers reads the providers from the builder config'],
      [['tiny', '--all-providers', '-c', builder.configFile, '--provider', 'good-raw'], 'exclude each other'],
      [['tiny', '--all-providers', '-c', '/nonexistent.toml'], '/nonexistent.toml'],
      [['tiny', '--provider', 'good-raw', '--id', '../etc'], '--id must match'],
    ];
    const built = () => readdirSync(join(builder.imagesDir, 'images')).sort();
    const before = built();
    for (const [args, message] of cases) {
      const result = await imageUpdate(...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(message)]);
    }
    // A submitted build would have been waited for, so it would be on disk by now.
    expect(built()).toEqual(before);
  }, 120_000);
});
