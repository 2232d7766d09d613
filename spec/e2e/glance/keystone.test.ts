import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobFailure } from '../../../src/errors/job-failure.ts';
import { createGlanceUploaders } from '../../../src/uploaders/glance/uploaders-by-provider.ts';
import { startFaultProxy } from '../../support/fault-proxy.ts';
import { captureLogs } from '../../support/log-capture.ts';
import { openstacksdkAnswer, openstacksdkInstalled } from '../../support/openstack/openstacksdk.ts';
import { type OpenStackPeers, startOpenStack } from '../../support/openstack/openstack-peers.ts';
import { type TestImageFile, randomImageFile, testProvider, uploadJob } from '../../support/openstack/upload-job.ts';

// Fernet tokens are base64url and start with gAAAAA: none may ever be logged.
const FERNET_TOKEN = /gAAAAA[A-Za-z0-9_-]{40,}/;

describe('uploads through Keystone v3 to a Keystone-protected Glance', () => {
  let peers: OpenStackPeers;
  let work: string;
  let file: TestImageFile;
  const logs = captureLogs();
  const uploaders = () => createGlanceUploaders({ logger: logs, cloudsFile: peers.cloudsFile, env: {} });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'glance-keystone-test-'));
    [peers, file] = await Promise.all([startOpenStack({ keystone: true }), randomImageFile(work, 5 * 1024 * 1024 + 123)]);
  }, 300_000);

  afterAll(async () => {
    await peers?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const byId = async (id: string) => (await peers.images('keystone')).find((image) => image.id === id);

  test('password auth (unversioned auth_url, catalog, version discovery): active, our checksum and metadata', async () => {
    const upload = createGlanceUploaders({ logger: logs, cloudsFile: peers.cloudsFile, env: {} });
    const provider = testProvider({ cloud: 'ks-password', region: 'RegionOne', minDisk: 1, minRam: 128, meta: { hw_disk_bus: 'scsi' } });
    const job = uploadJob(file, provider, { imageId: 'build-0001' });
    const result = await upload(provider).upload(job);
    await upload.close();

    expect(result.extras).toMatchObject({ checksum: file.md5, size: file.size, sha256: file.sha256 });
    const image = await byId(result.externalId);
    expect(image).toMatchObject({
      name: job.imageName,
      status: 'active',
      checksum: file.md5,
      size: file.size,
      disk_format: 'raw',
      container_format: 'bare',
      visibility: 'private',
      min_disk: 1,
      min_ram: 128,
      hw_disk_bus: 'scsi',
      nodepool_build_id: 'build-0001',
      'owner_specified.openstack.md5': file.md5,
      'owner_specified.openstack.sha256': file.sha256,
      'owner_specified.openstack.object': `images/${job.imageName}`,
    });
    expect(job.progressed.at(-1)).toEqual([file.size, file.size]);
  });

  test('application credential auth', async () => {
    const upload = uploaders();
    const provider = testProvider({ cloud: 'ks-appcred' });
    const result = await upload(provider).upload(uploadJob(file, provider));
    await upload.close();
    expect(await byId(result.externalId)).toMatchObject({ status: 'active', checksum: file.md5 });
  });

  test('glance-direct import: stage, import, poll until active', async () => {
    const upload = uploaders();
    const provider = testProvider({ cloud: 'ks-password', uploadMethod: 'import' });
    const result = await upload(provider).upload(uploadJob(file, provider));
    await upload.close();
    expect(await byId(result.externalId)).toMatchObject({ status: 'active', checksum: file.md5, size: file.size });
  });

  test('a bad password is a WORK_FAIL that says Keystone refused whose password', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bad-password-'));
    const clouds = join(dir, 'clouds.yaml');
    await writeFile(
      clouds,
      `clouds:\n  wrong:\n    auth:\n      auth_url: ${peers.keystone!.url}/v3\n      username: admin\n      password: not-the-password\n` +
        `      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n`,
      { mode: 0o600 },
    );
    const before = (await peers.images('keystone')).length;
    const upload = createGlanceUploaders({ logger: logs, cloudsFile: clouds, env: {} });
    const provider = testProvider({ cloud: 'wrong' });
    const failure = await upload(provider).upload(uploadJob(file, provider)).catch((err: unknown) => err);
    await upload.close();
    expect(failure).toBeInstanceOf(JobFailure);
    expect((failure as JobFailure).code).toBe('AUTH_FAILED');
    expect((failure as Error).message).toContain('refused the password of user "admin" for cloud "wrong" (401');
    expect((failure as Error).message).not.toContain('not-the-password');
    expect((await peers.images('keystone')).length).toBe(before);
    await rm(dir, { recursive: true, force: true });
  });

  test('H4: a region\'s values scope the token to their project: the image belongs to p-two, as openstacksdk would have it', async () => {
    const keystone = peers.keystone!;
    const project = await keystone.admin<{ project: { id: string } }>('POST', '/projects', { project: { name: 'p-two', domain_id: 'default' } });
    const roles = await keystone.admin<{ roles: Array<{ id: string }> }>('GET', '/roles?name=admin');
    await keystone.admin('PUT', `/projects/${project.project.id}/users/${await keystone.adminUserId()}/roles/${roles.roles[0]!.id}`);
    const dir = await mkdtemp(join(tmpdir(), 'region-values-'));
    const clouds = join(dir, 'clouds.yaml');
    await writeFile(
      clouds,
      `clouds:\n  regional:\n    auth:\n      auth_url: ${keystone.url}\n      username: admin\n      password: ${keystone.adminPassword}\n` +
        '      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n' +
        '    regions:\n      - name: RegionOne\n        values:\n          auth:\n            project_name: p-two\n',
      { mode: 0o600 },
    );
    const upload = createGlanceUploaders({ logger: logs, cloudsFile: clouds, env: {} });
    const provider = testProvider({ cloud: 'regional' });
    const result = await upload(provider).upload(uploadJob(file, provider));
    await upload.close();
    expect(await byId(result.externalId)).toMatchObject({ status: 'active', owner: project.project.id });
    await rm(dir, { recursive: true, force: true });
  });

  test('H6: an auth_url of …/v2.0 is reported as a wrong auth_url, and the password is never posted (openstacksdk stops too)', async () => {
    const keystone = peers.keystone!;
    // In front of Keystone: records every request each client makes.
    const proxy = await startFaultProxy(keystone.url);
    const dir = await mkdtemp(join(tmpdir(), 'v2-auth-url-'));
    const clouds = join(dir, 'clouds.yaml');
    await writeFile(
      clouds,
      `clouds:\n  old:\n    auth:\n      auth_url: ${proxy.url}/v2.0\n      username: admin\n      password: ${keystone.adminPassword}\n` +
        '      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n',
      { mode: 0o600 },
    );
    try {
      if (openstacksdkInstalled) {
        const sdk = await openstacksdkAnswer({ cwd: dir, env: { HOME: dir, OS_CLIENT_CONFIG_FILE: clouds }, cloud: 'old', authorize: true });
        expect(sdk).toMatchObject({ ok: false, error: 'DiscoveryFailure' });
        expect(proxy.requests.filter((r) => r.method !== 'GET')).toEqual([]);
      }
      const seenBySdk = proxy.requests.length;
      const upload = createGlanceUploaders({ logger: logs, cloudsFile: clouds, env: {} });
      const provider = testProvider({ cloud: 'old' });
      const failure = await upload(provider).upload(uploadJob(file, provider)).catch((err: unknown) => err);
      await upload.close();
      expect(failure).toBeInstanceOf(JobFailure);
      expect([(failure as JobFailure).code, (failure as JobFailure).message]).toEqual([
        'CLOUD_CONFIG',
        expect.stringContaining(`auth_url ${proxy.url}/v2.0 of cloud "old" is not Keystone's root or v3 URL: its version discovery answered 404`),
      ]);
      expect(proxy.requests.slice(seenBySdk).map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v2.0']);
    } finally {
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  /** openstacksdk's OS_* cloud ("envvars"), with no region of its own. */
  const environmentCloud = (extra: Record<string, string> = {}) => ({
    OS_AUTH_URL: `${peers.keystone!.url}/v3`,
    OS_USERNAME: 'admin',
    OS_PASSWORD: peers.keystone!.adminPassword,
    OS_PROJECT_NAME: 'admin',
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    ...extra,
  });

  const failureOf = async (env: Record<string, string>, cloud: string, region?: string) => {
    const upload = createGlanceUploaders({ logger: logs, cloudsFile: peers.cloudsFile, env });
    const provider = testProvider({ cloud, region });
    const failure = await upload(provider).upload(uploadJob(file, provider)).catch((err: unknown) => err);
    await upload.close();
    expect(failure).toBeInstanceOf(JobFailure);
    return failure as JobFailure;
  };

  test('a region the clouds.yaml entry does not list is a clear error naming the ones it does', async () => {
    const failure = await failureOf({}, 'ks-appcred', 'RegionTwo');
    expect(failure.message).toContain('region "RegionTwo" is not one of its regions (RegionOne)');
  });

  test('a region the catalog does not have is a clear error naming the regions that exist', async () => {
    const failure = await failureOf(environmentCloud(), 'envvars', 'RegionTwo');
    expect(failure.code).toBe('CLOUD_CONFIG');
    expect(failure.message).toContain('no image endpoint for interface "public" in region "RegionTwo"');
    expect(failure.message).toContain('regions: RegionOne');
  });

  test('an interface the catalog does not have is a clear error naming the interfaces that exist', async () => {
    const failure = await failureOf(environmentCloud({ OS_INTERFACE: 'private' }), 'envvars');
    expect(failure.message).toContain('no image endpoint for interface "private"');
    expect(failure.message).toContain('interfaces: public, internal, admin');
  });

  test('no password, application-credential secret or token appears in the logs at any level', () => {
    expect(logs.lines.length).toBeGreaterThan(10);
    expect(logs.at('debug').length).toBeGreaterThan(0);
    for (const line of logs.lines) {
      for (const secret of peers.secrets) expect(line.message).not.toContain(secret);
      expect(line.message).not.toMatch(FERNET_TOKEN);
      expect(line.message.toLowerCase()).not.toContain('x-auth-token');
    }
  });
});
