import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { KeystoneOptions } from '../../src/uploaders/openstack/keystone.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import type { KeystoneServer } from '../support/openstack/keystone-server.ts';
import { type OpenStackPeers, startOpenStack } from '../support/openstack/openstack-peers.ts';
import { testProvider } from '../support/openstack/upload-job.ts';
import { capturedText, expectNoSecrets } from '../support/secrets.ts';
import { type UploadBed, type UploadOutcome, startUploadBed } from './upload-bed.ts';

const MiB = 1024 * 1024;
/** Keystone's token lifetime here; a throttled upload of the 24 MiB image takes longer. */
const TOKEN_SECONDS = 15;

function passwordCloud(name: string, authUrl: string, password: string, extra = ''): string {
  return `  ${name}:
    auth:
      auth_url: ${authUrl}
      username: admin
      password: ${password}
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
${extra}`;
}

describe('Keystone faults during image-upload jobs (real Keystone and a Glance behind keystonemiddleware)', () => {
  let peers: OpenStackPeers;
  let keystone: KeystoneServer;
  /** In front of Keystone: sees every token it hands out. */
  let keystoneProxy: FaultProxy;
  /** In front of the Keystone-protected Glance: slows uploads down, sees every token sent. */
  let glanceProxy: FaultProxy;
  const beds: UploadBed[] = [];

  const startBed = async (clientId: string, keystoneOptions?: KeystoneOptions): Promise<UploadBed> => {
    const { adminPassword } = keystone;
    const clouds = [
      'clouds:',
      passwordCloud('ks-direct', keystone.url, adminPassword),
      passwordCloud('ks-slow', keystoneProxy.url, adminPassword, `    image_endpoint_override: ${glanceProxy.url}\n`),
    ].join('\n');
    const bed = await startUploadBed({
      clientId,
      clouds,
      providers: [
        testProvider({ name: 'ks-direct', cloud: 'ks-direct', imageFormat: 'qcow2' }),
        testProvider({ name: 'ks-slow', cloud: 'ks-slow', imageFormat: 'qcow2', uploadTimeoutMs: 300_000 }),
      ],
      imageBytes: 24 * MiB,
      ...(keystoneOptions ? { uploaders: { session: { keystone: keystoneOptions } } } : {}),
    });
    beds.push(bed);
    return bed;
  };
  const named = async (name: string) => (await peers.images('keystone')).filter((image) => image.name === name);
  const expectOneActive = async (bed: UploadBed, name: string, outcome: UploadOutcome) => {
    expect(outcome).toMatchObject({ ok: true });
    const { md5 } = bed.image().formats.qcow2!;
    expect((await named(name)).map((i) => [i.id, i.status, i.checksum])).toEqual([[(outcome as { externalId: string }).externalId, 'active', md5]]);
  };
  const expectNoSecretsLogged = (bed: UploadBed) =>
    expectNoSecrets(capturedText(bed.logs.lines), [...peers.secrets, ...keystoneProxy.tokens, ...glanceProxy.tokens]);
  /** Keystone's word on a token: 200 while it is valid, 404 once it has expired. */
  const tokenStatus = async (token: string): Promise<number> => {
    const check = await fetch(`${keystone.url}/v3/auth/tokens`, {
      headers: { 'x-auth-token': await keystone.adminToken(), 'x-subject-token': token },
    });
    await check.arrayBuffer();
    return check.status;
  };

  beforeAll(async () => {
    peers = await startOpenStack({ keystone: true, tokenExpirationSeconds: TOKEN_SECONDS });
    keystone = peers.keystone!;
    keystoneProxy = await startFaultProxy(keystone.url);
    glanceProxy = await startFaultProxy(peers.keystoneGlance!.url);
  }, 300_000);

  afterAll(async () => {
    for (const bed of beds) await bed.stop();
    await keystoneProxy?.close();
    await glanceProxy?.close();
    await peers?.stop();
  });

  test('Keystone down at upload time: WORK_FAIL naming Keystone, no image in Glance, and once it is back an upload succeeds', async () => {
    const bed = await startBed('keystone-down');
    await keystone.stop();
    let outcome: UploadOutcome;
    try {
      outcome = await bed.upload('ks-direct', 'keystone-down');
    } finally {
      await keystone.restart();
    }
    expect(outcome).toMatchObject({ ok: false });
    const { reason } = outcome as { reason: string };
    expect(reason).toContain('Keystone');
    expect(reason).toContain(keystone.url);
    expect(reason).toContain('"ks-direct"');
    expect(await named('keystone-down')).toEqual([]);

    await expectOneActive(bed, 'keystone-back', await bed.upload('ks-direct', 'keystone-back'));
    expectNoSecretsLogged(bed);
  });

  test('a token expiring during a long upload: the upload succeeds', async () => {
    const bed = await startBed('token-expiry');
    const before = glanceProxy.requests.length;
    glanceProxy.throttle(1 * MiB);
    let outcome: UploadOutcome;
    try {
      outcome = await bed.upload('ks-slow', 'token-expiring');
    } finally {
      glanceProxy.throttle(undefined);
    }
    await expectOneActive(bed, 'token-expiring', outcome);
    const put = glanceProxy.requests.slice(before).find((r) => r.method === 'PUT');
    // The data went with a token that was dead by the end of the upload.
    expect(await tokenStatus(put!.token!)).toBe(404);
    expect(keystoneProxy.tokens.size).toBeGreaterThan(0);
    expectNoSecretsLogged(bed);
  });

  test(`H8: a token that lives ${TOKEN_SECONDS} s serves a whole upload: two logins, not one before every Glance call`, async () => {
    // A clock that stands still: the token keeps all the life it was issued with, however slow this host is.
    const frozen = Date.now();
    const bed = await startBed('token-margin', { now: () => frozen });
    const before = keystoneProxy.requests.length;
    await expectOneActive(bed, 'token-margin', await bed.upload('ks-slow', 'token-margin'));
    const logins = keystoneProxy.requests.slice(before).filter((r) => r.method === 'POST' && r.path.endsWith('/auth/tokens'));
    // One for the calls before the data, and the fresh token the PUT always asks for.
    expect(logins.length).toBe(2);
    expectNoSecretsLogged(bed);
  });

  test('a token that expired while the client still trusts it: Glance answers 401 and the uploader authenticates once more', async () => {
    // A clock an hour behind: the cached token never looks old enough to renew, only a 401 says it is dead.
    const bed = await startBed('token-401', { now: () => Date.now() - 3_600_000 });
    const before = glanceProxy.requests.length;
    glanceProxy.throttle(1 * MiB);
    let outcome: UploadOutcome;
    try {
      outcome = await bed.upload('ks-slow', 'token-401');
    } finally {
      glanceProxy.throttle(undefined);
    }
    await expectOneActive(bed, 'token-401', outcome);
    const seen = glanceProxy.requests.slice(before);
    expect(seen.filter((r) => r.status === 401).length).toBe(1);
    const refused = seen.find((r) => r.status === 401)!;
    const retried = seen[seen.indexOf(refused) + 1]!;
    expect(retried).toMatchObject({ method: refused.method, path: refused.path, status: 200 });
    expect(retried.token).not.toBe(refused.token);
    expect(bed.logs.at('info').some((line) => line.includes('answered 401: authenticating again'))).toBe(true);
    expectNoSecretsLogged(bed);
  });
});
