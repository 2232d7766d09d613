import { AbortReason } from '../../src/errors/abort-reason.ts';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobFailure } from '../../src/errors/job-failure.ts';
import { CloudSession } from '../../src/uploaders/openstack/cloud-session.ts';
import type { CloudAuth, CloudConfig } from '../../src/uploaders/openstack/clouds.ts';
import { GlanceUploader } from '../../src/uploaders/glance/glance-uploader.ts';
import { Secret } from '../../src/uploaders/openstack/secret.ts';
import { captureLogs } from '../support/log-capture.ts';
import { type TestImageFile, randomImageFile, testProvider, uploadJob } from '../support/openstack/upload-job.ts';
import { FakeGlance } from './fake-glance.ts';
import { type FakeKeystone, startFakeKeystone } from './fake-keystone.ts';

const FAST = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 };

function cloud(auth: CloudAuth, extra: Partial<CloudConfig> = {}): CloudConfig {
  return { name: 'fake', auth, region: undefined, interface: 'public', imageEndpointOverride: undefined, tls: { verify: true }, source: 'test', ...extra };
}

describe('GlanceUploader against a scripted Glance', () => {
  let dir: string;
  let file: TestImageFile;
  let glance: FakeGlance;
  let sessions: CloudSession[] = [];
  const logs = captureLogs();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'glance-uploader-'));
    file = await randomImageFile(dir, 300_000);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    sessions = [];
    await glance?.server.close();
  });

  const uploader = async (config?: CloudConfig, options = {}) => {
    glance ??= await FakeGlance.start();
    const session = await CloudSession.open(config ?? cloud({ type: 'none', endpoint: glance.url }), logs, { retry: FAST });
    sessions.push(session);
    return new GlanceUploader(async () => session, logs, { retry: FAST, cleanupTimeoutMs: 2_000, importPollMs: 5, ...options });
  };
  const failureOf = async (promise: Promise<unknown>) => {
    const err = await promise.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailure);
    return err as JobFailure;
  };
  const fresh = async () => {
    glance = await FakeGlance.start();
    return glance;
  };

  test('create → PUT → verify; the result carries the id, checksum and size; every request asks for JSON', async () => {
    await fresh();
    const provider = testProvider({ meta: { a: 'b' }, minDisk: 2 });
    const result = await (await uploader()).upload(uploadJob(file, provider, { imageId: 'b-1' }));
    expect(result.extras).toMatchObject({ checksum: file.md5, size: file.size, sha256: file.sha256, format: 'raw' });
    const image = glance.images.get(result.externalId)!;
    expect(image).toMatchObject({ status: 'active', a: 'b', min_disk: 2, container_format: 'bare', visibility: 'private', nodepool_build_id: 'b-1' });
    expect(glance.requests.every((r) => r.headers.accept === 'application/json')).toBe(true);
    expect(glance.calls('PUT', /\/file$/)[0]!.headers['content-length']).toBe(String(file.size));
  });

  test('5xx and lost connections on small calls are retried with backoff', async () => {
    await fresh();
    glance.fail('POST', /^\/v2\/images$/, 503, 'busy');
    glance.fail('GET', /^\/v2\/images\//, 500, 'oops');
    const result = await (await uploader()).upload(uploadJob(file, testProvider()));
    expect(glance.images.get(result.externalId)?.status).toBe('active');
    expect(glance.calls('POST', /^\/v2\/images$/)).toHaveLength(2);
  });

  test('a create whose answer was lost is found by its id on the retry (409), not created twice', async () => {
    await fresh();
    glance.overrides.push({
      method: 'POST',
      path: /^\/v2\/images$/,
      respond: (seen, res) => {
        const fields = JSON.parse(seen.body.toString());
        glance.images.set(fields.id, { ...fields, status: 'queued' });
        res.socket?.destroy();
      },
    });
    const result = await (await uploader()).upload(uploadJob(file, testProvider()));
    expect(glance.images.size).toBe(1);
    expect(glance.images.get(result.externalId)?.status).toBe('active');
  });

  test('an interrupted PUT is sent again while the image is still queued', async () => {
    await fresh();
    glance.fail('PUT', /\/file$/, 502, 'bad gateway');
    const result = await (await uploader()).upload(uploadJob(file, testProvider()));
    expect(glance.calls('PUT', /\/file$/)).toHaveLength(2);
    expect(glance.images.get(result.externalId)?.status).toBe('active');
  });

  for (const [status, code] of [
    [409, 'CONFLICT'],
    [413, 'TOO_LARGE'],
    [415, 'UNSUPPORTED_MEDIA_TYPE'],
    [403, 'FORBIDDEN'],
  ] as const) {
    test(`${status} on the PUT is a WORK_FAIL (${code}) with Glance's message, and the image is deleted`, async () => {
      await fresh();
      glance.fail('PUT', /\/file$/, status, `Glance says no<br /><br />\n(${status})`);
      const failure = await failureOf((await uploader()).upload(uploadJob(file, testProvider())));
      expect(failure.code).toBe(code);
      expect(failure.message).toContain(`answered ${status}: Glance says no (${status})`);
      expect(glance.calls('DELETE', /\/v2\/images\//)).toHaveLength(1);
      expect(glance.images.size).toBe(0);
    });
  }

  test('Glance reporting another checksum fails verification, and the image is deleted', async () => {
    await fresh();
    glance.corruptChecksum = true;
    const failure = await failureOf((await uploader()).upload(uploadJob(file, testProvider())));
    expect(failure.code).toBe('VERIFY_FAILED');
    expect(failure.message).toContain(`Glance checksum is ${'0'.repeat(32)}, not ${file.md5}`);
    expect(glance.images.size).toBe(0);
  });

  test("with sha512 in-stream, a wrong os_hash_value fails verification; by default (the record holds no sha512) it is not compared", async () => {
    await fresh();
    glance.corruptOsHash = true;
    expect((await (await uploader()).upload(uploadJob(file, testProvider()))).externalId).toBeString();
    const inStream = testProvider({ uploadHashing: 'in-stream' });
    const failure = await failureOf((await uploader(undefined, { hashes: ['md5', 'sha256', 'sha512'] })).upload(uploadJob(file, inStream)));
    expect(failure.code).toBe('VERIFY_FAILED');
    expect(failure.message).toContain(`Glance os_hash_value (sha512) is ${'f'.repeat(128)}`);
  });

  test('upload-hashing = "in-stream": a file whose bytes are not the recorded ones fails on the md5 and sha256 of the file sent', async () => {
    await fresh();
    const job = uploadJob({ ...file, md5: 'f'.repeat(32), sha256: 'e'.repeat(64) }, testProvider({ uploadHashing: 'in-stream' }));
    const failure = await failureOf((await uploader()).upload(job));
    expect(failure.message).toContain(`md5 of the file sent is ${file.md5}, not ${'f'.repeat(32)}`);
    expect(failure.message).toContain(`sha256 of the file sent is ${file.sha256}`);
    expect(glance.images.size).toBe(0);
  });

  test('by default nothing is hashed in-stream: a record that disagrees with the file fails on Glance\'s checksum alone', async () => {
    await fresh();
    const job = uploadJob({ ...file, md5: 'f'.repeat(32), sha256: 'e'.repeat(64) }, testProvider());
    const failure = await failureOf((await uploader()).upload(job));
    expect(failure.code).toBe('VERIFY_FAILED');
    expect(failure.message).toContain(`Glance checksum is ${file.md5}, not ${'f'.repeat(32)}`);
    expect(failure.message).not.toContain('of the file');
    expect(glance.images.size).toBe(0);
  });

  describe('a fake Glance that computes no checksums (a real Glance always does)', () => {
    const wrongRecord = () => ({ ...file, md5: 'f'.repeat(32) });

    test('"auto": the first upload reads the file again against the record; then this provider hashes in-stream, until the cloud computes checksums again', async () => {
      await fresh();
      glance.computesNoChecksums = true;
      const up = await uploader();
      const provider = testProvider();

      const first = await failureOf(up.upload(uploadJob(wrongRecord(), provider)));
      expect(first.code).toBe('VERIFY_FAILED');
      expect(first.message).toContain(`md5 of the file read again after the upload is ${file.md5}, not ${'f'.repeat(32)}`);
      expect(glance.images.size).toBe(0);
      expect(logs.at('warn').some((line) => line.includes('without a checksum to compare'))).toBe(true);

      const second = await failureOf(up.upload(uploadJob(wrongRecord(), provider)));
      expect(second.message).toContain(`md5 of the file sent is ${file.md5}, not ${'f'.repeat(32)}`);
      expect(second.message).not.toContain('read again');
      expect(glance.images.size).toBe(0);

      const good = await up.upload(uploadJob(file, provider));
      expect(glance.images.get(good.externalId)).toMatchObject({ status: 'active', checksum: null });
      expect(good.extras).toMatchObject({ checksum: file.md5, size: file.size });

      glance.computesNoChecksums = false;
      const third = await failureOf(up.upload(uploadJob(wrongRecord(), provider)));
      expect(third.message).toContain(`md5 of the file sent is ${file.md5}`); // still in-stream: the last image had no checksum
      expect(third.message).toContain(`Glance checksum is ${file.md5}`);
      const fourth = await failureOf(up.upload(uploadJob(wrongRecord(), provider)));
      expect(fourth.message).toContain(`Glance checksum is ${file.md5}, not ${'f'.repeat(32)}`);
      expect(fourth.message).not.toContain('of the file');
    });

    test('"in-stream": the first upload is hashed on its way out, and nothing is read again', async () => {
      await fresh();
      glance.computesNoChecksums = true;
      logs.lines.length = 0;
      const up = await uploader();
      const provider = testProvider({ uploadHashing: 'in-stream' });
      const failure = await failureOf(up.upload(uploadJob(wrongRecord(), provider)));
      expect(failure.message).toContain(`md5 of the file sent is ${file.md5}, not ${'f'.repeat(32)}`);
      expect(failure.message).not.toContain('read again');
      const good = await up.upload(uploadJob(file, provider));
      expect(glance.images.get(good.externalId)?.status).toBe('active');
      expect(logs.at('warn').filter((line) => line.includes('without a checksum to compare'))).toEqual([]);
    });
  });

  test('a file shorter than recorded is LOCAL_FILE_CHANGED, and the image is deleted', async () => {
    await fresh();
    const short = await randomImageFile(dir, 100_000, 'short.raw');
    await truncate(short.path, 50_000);
    const failure = await failureOf((await uploader()).upload(uploadJob(short, testProvider())));
    expect(failure.code).toBe('LOCAL_FILE_CHANGED');
    expect(glance.images.size).toBe(0);
  });

  test('an abort (upload-timeout, shutdown) mid-upload is a WORK_FAIL and the image is deleted', async () => {
    await fresh();
    const big = await randomImageFile(dir, 8 * 1024 * 1024, 'big.raw');
    const stop = new AbortController();
    const job = uploadJob(big, testProvider(), { signal: stop.signal, onProgress: () => stop.abort(new AbortReason('BUILDER_STOPPING', 'the builder is stopping')) });
    const failure = await failureOf((await uploader(undefined, { chunkSize: 256 * 1024 })).upload(job));
    expect(failure.code).toBe('UPLOAD_ABORTED');
    expect(failure.message).toContain('stopped: the builder is stopping');
    expect(glance.images.size).toBe(0);
  });

  test('an abort whose reason has the code UPLOAD_TIMEOUT is reported as the provider\'s upload-timeout', async () => {
    await fresh();
    const big = await randomImageFile(dir, 8 * 1024 * 1024, 'big.raw');
    const stop = new AbortController();
    const reason = new AbortReason('UPLOAD_TIMEOUT', 'timed out');
    const job = uploadJob(big, testProvider({ uploadTimeoutMs: 42_000 }), { signal: stop.signal, onProgress: () => stop.abort(reason) });
    const failure = await failureOf((await uploader(undefined, { chunkSize: 256 * 1024 })).upload(job));
    expect(failure.code).toBe('UPLOAD_ABORTED');
    expect(failure.message).toContain('stopped: upload-timeout (42 s) expired');
    expect(glance.images.size).toBe(0);
  });

  test('U1: a create refused at connect on every try (Glance down) is CLOUD_UNREACHABLE at once: no delete is tried for an image that cannot exist', async () => {
    await fresh();
    // No kept connection: a request on one that Glance closed fails without ECONNREFUSED (it may have reached Glance).
    glance.closesConnections = true;
    const up = await uploader();
    // The session found its endpoint while Glance ran; then Glance goes down.
    await up.upload(uploadJob(file, testProvider()));
    await glance.server.close();
    const failure = await failureOf(up.upload(uploadJob(file, testProvider())));
    expect(failure.code).toBe('CLOUD_UNREACHABLE');
    expect(failure.message).toContain('ECONNREFUSED');
    const lines = logs.lines.map((l) => l.message);
    expect(lines.filter((l) => l.includes('deleting image') || l.includes('of a failed upload'))).toEqual([]);
  });

  test('U1: a create Glance answered with errors on every try still gets its cleanup delete (the image may exist)', async () => {
    await fresh();
    for (let i = 0; i < FAST.attempts; i++) glance.fail('POST', /^\/v2\/images$/, 503, 'busy');
    const failure = await failureOf((await uploader()).upload(uploadJob(file, testProvider())));
    expect(failure.code).toBe('CLOUD_ERROR');
    expect(glance.calls('DELETE', /^\/v2\/images\//)).toHaveLength(1);
  });

  test('import: stage, import, poll until active', async () => {
    await fresh();
    const result = await (await uploader()).upload(uploadJob(file, testProvider({ uploadMethod: 'import' })));
    expect(glance.images.get(result.externalId)).toMatchObject({ status: 'active', staged: true });
    expect(glance.calls('POST', /\/import$/)).toHaveLength(1);
  });

  test('import on a cloud without glance-direct is a WORK_FAIL naming what it offers', async () => {
    await fresh();
    glance.importMethods = 'web-download';
    const failure = await failureOf((await uploader()).upload(uploadJob(file, testProvider({ uploadMethod: 'import' }))));
    expect(failure.code).toBe('IMPORT_UNSUPPORTED');
    expect(failure.message).toContain('it offers: web-download');
    expect(glance.images.size).toBe(0);
  });

  test('an import Glance gives up on is a WORK_FAIL, and the image is deleted', async () => {
    await fresh();
    glance.overrides.push({
      method: 'POST',
      path: /\/import$/,
      respond: (seen, res) => {
        const image = glance.images.get(seen.path.split('/')[3]!)!;
        Object.assign(image, { status: 'queued', os_glance_failed_import: 'local' });
        res.writeHead(202).end('{}');
      },
    });
    const failure = await failureOf((await uploader()).upload(uploadJob(file, testProvider({ uploadMethod: 'import' }))));
    expect(failure.code).toBe('IMPORT_FAILED');
    expect(glance.images.size).toBe(0);
  });

  describe('behind Keystone', () => {
    let keystone: FakeKeystone;

    const keystoneCloud = (extra: Partial<CloudConfig> = {}) =>
      cloud({ type: 'password', authUrl: `${keystone.server.url}/v3`, user: { name: 'u', domain: { name: 'Default' } }, password: new Secret('pw-secret'), scope: { kind: 'project', project: { id: 'p' } } }, extra);

    const withKeystone = async (prefix = '') => {
      glance = await FakeGlance.start(prefix);
      glance.tokens = new Set();
      keystone = await startFakeKeystone([{ interface: 'public', region: 'RegionOne', url: `${glance.url}${prefix}` }], (token) => glance.tokens!.add(token));
    };
    afterEach(() => keystone?.server.close());

    test('a 401 gets one new token and the request again; the token is renewed before the upload', async () => {
      await withKeystone();
      const up = await uploader(keystoneCloud());
      // Glance forgets the first token, as after a revocation.
      glance.overrides.push({ method: 'POST', path: /^\/v2\/images$/, respond: (_s, res) => void res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"nope"}') });
      const result = await up.upload(uploadJob(file, testProvider()));
      expect(glance.images.get(result.externalId)?.status).toBe('active');
      const put = glance.calls('PUT', /\/file$/)[0]!;
      // token 1: endpoint; token 2: after the 401; token 3: fresh before the long PUT.
      expect(keystone.issued).toHaveLength(3);
      expect(put.headers['x-auth-token']).toBe(keystone.issued[2]);
    });

    test('a second 401 is a WORK_FAIL (UNAUTHORIZED), and the image is deleted', async () => {
      await withKeystone();
      const up = await uploader(keystoneCloud());
      glance.fail('PUT', /\/file$/, 401, 'token rejected');
      glance.fail('PUT', /\/file$/, 401, 'token rejected');
      const failure = await failureOf(up.upload(uploadJob(file, testProvider())));
      expect(failure.code).toBe('UNAUTHORIZED');
      expect(glance.images.size).toBe(0);
    });

    test('a catalog endpoint behind a path prefix keeps its scheme, host and prefix after version discovery', async () => {
      await withKeystone('/image');
      const result = await (await uploader(keystoneCloud())).upload(uploadJob(file, testProvider()));
      expect(glance.images.get(result.externalId)?.status).toBe('active');
      expect(glance.calls('POST', /^\/image\/v2\/images$/)).toHaveLength(1);
    });

    test('refused credentials are AUTH_FAILED, with no image created and no secret in the message', async () => {
      await withKeystone();
      keystone.accept = false;
      const failure = await failureOf((await uploader(keystoneCloud())).upload(uploadJob(file, testProvider())));
      expect(failure.code).toBe('AUTH_FAILED');
      expect(failure.message).toContain('refused the password of user "u" for cloud "fake" (401: The request you have made requires authentication.)');
      expect(glance.requests.filter((r) => r.method !== 'GET')).toHaveLength(0);
      for (const line of logs.lines) expect(line.message).not.toContain('pw-secret');
    });
  });
});
