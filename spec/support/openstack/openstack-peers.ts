import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GlanceServer, launchGlance, prepareGlance } from './glance-server.ts';
import { type KeystoneServer, startKeystone } from './keystone-server.ts';
import { freePort } from '../ports.ts';

/**
 * Real OpenStack peers for one test file: a no-auth Glance, and optionally Keystone v3 with a
 * Glance behind keystonemiddleware, plus a clouds.yaml (and a secure.yaml with the secrets)
 * naming them: "noauth", "ks-password" and "ks-appcred". State lives under a temp dir.
 */
export interface OpenStackPeers {
  readonly dir: string;
  readonly glance: GlanceServer;
  readonly keystone: KeystoneServer | undefined;
  readonly keystoneGlance: GlanceServer | undefined;
  readonly cloudsFile: string;
  /** Every secret the clouds use: they must never show up in a log. */
  readonly secrets: readonly string[];
  /** GET /v2/images on one of the Glances (as the admin behind Keystone). */
  images(which: 'noauth' | 'keystone'): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

const GLANCE_SERVICE_PASSWORD = 'glance-service-pw';

export interface OpenStackOptions {
  readonly keystone: boolean;
  /** image_size_cap of the no-auth Glance. */
  readonly imageSizeCap?: number;
  /** Keystone's [token] expiration, for tests of tokens running out mid-upload. */
  readonly tokenExpirationSeconds?: number;
}

export async function startOpenStack(options: OpenStackOptions): Promise<OpenStackPeers> {
  const dir = await mkdtemp(join(tmpdir(), 'nodepool-openstack-'));
  const adminPassword = `admin-${randomBytes(8).toString('hex')}`;
  // Every Python service takes seconds to import itself: start them all at once.
  const launches: Array<Promise<{ stop(): Promise<void> }>> = [];
  const launch = <T extends { stop(): Promise<void> }>(starting: Promise<T>): Promise<T> => {
    launches.push(starting);
    return starting;
  };
  try {
    const capped = options.imageSizeCap === undefined ? {} : { imageSizeCap: options.imageSizeCap };
    const glance = launch(prepareGlance(join(dir, 'glance-noauth'), capped).then(launchGlance));
    let keystone: KeystoneServer | undefined;
    let keystoneGlance: GlanceServer | undefined;
    let appCredential: { id: string; secret: string } | undefined;
    if (options.keystone) {
      const keystonePort = await freePort();
      const prepared = await prepareGlance(join(dir, 'glance-keystone'), {
        auth: { keystoneUrl: `http://127.0.0.1:${keystonePort}`, username: 'glance', password: GLANCE_SERVICE_PASSWORD, project: 'service' },
      });
      // keystonemiddleware asks Keystone only when a request comes: Glance may start first.
      const protectedGlance = launch(launchGlance(prepared));
      keystone = await launch(startKeystone(
          join(dir, 'keystone'),
          adminPassword,
          keystonePort,
          options.tokenExpirationSeconds === undefined ? {} : { tokenExpirationSeconds: options.tokenExpirationSeconds },
        ));
      appCredential = await provision(keystone, prepared.port);
      keystoneGlance = await protectedGlance;
    }
    const noauthGlance = await glance;
    const files = await writeClouds(dir, noauthGlance.url, keystone, appCredential);
    return {
      dir,
      glance: noauthGlance,
      keystone,
      keystoneGlance,
      cloudsFile: files.clouds,
      secrets: [adminPassword, ...(appCredential ? [appCredential.secret] : [])],
      images: (which) => listImages(which === 'noauth' ? noauthGlance : keystoneGlance!, which === 'keystone' ? keystone : undefined),
      async stop() {
        await stopAll(launches);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopAll(launches);
    throw err;
  }
}

async function stopAll(launches: ReadonlyArray<Promise<{ stop(): Promise<void> }>>): Promise<void> {
  const settled = await Promise.allSettled(launches);
  await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
}

/** The Glance service user, the image service and its endpoints; an application credential for the admin. */
async function provision(keystone: KeystoneServer, glancePort: number): Promise<{ id: string; secret: string }> {
  const project = await keystone.admin<{ project: { id: string } }>('POST', '/projects', { project: { name: 'service', domain_id: 'default' } });
  const user = await keystone.admin<{ user: { id: string } }>('POST', '/users', {
    user: { name: 'glance', domain_id: 'default', password: GLANCE_SERVICE_PASSWORD, default_project_id: project.project.id },
  });
  const roles = await keystone.admin<{ roles: Array<{ id: string }> }>('GET', '/roles?name=admin');
  await keystone.admin('PUT', `/projects/${project.project.id}/users/${user.user.id}/roles/${roles.roles[0]!.id}`);
  const service = await keystone.admin<{ service: { id: string } }>('POST', '/services', { service: { type: 'image', name: 'glance' } });
  for (const iface of ['public', 'internal', 'admin']) {
    await keystone.admin('POST', '/endpoints', {
      // Unversioned, as most deployments register Glance: the client discovers /v2.
      endpoint: { service_id: service.service.id, interface: iface, region_id: 'RegionOne', url: `http://127.0.0.1:${glancePort}` },
    });
  }
  const created = await keystone.admin<{ application_credential: { id: string; secret: string } }>(
    'POST',
    `/users/${await keystone.adminUserId()}/application_credentials`,
    { application_credential: { name: `nodepool-test-${randomBytes(4).toString('hex')}` } },
  );
  return created.application_credential;
}

async function writeClouds(
  dir: string,
  glanceUrl: string,
  keystone: KeystoneServer | undefined,
  appCredential: { id: string; secret: string } | undefined,
): Promise<{ clouds: string; secure: string }> {
  const clouds = join(dir, 'clouds.yaml');
  const secure = join(dir, 'secure.yaml');
  let text = `clouds:\n  noauth:\n    auth_type: none\n    endpoint: ${glanceUrl}\n`;
  let secrets = 'clouds:\n';
  if (keystone && appCredential) {
    text += `  ks-password:
    auth:
      auth_url: ${keystone.url}
      username: admin
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
  ks-appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: ${keystone.url}/v3
      application_credential_id: ${appCredential.id}
    region_name: RegionOne
`;
    secrets += `  ks-password:\n    auth:\n      password: ${keystone.adminPassword}\n  ks-appcred:\n    auth:\n      application_credential_secret: ${appCredential.secret}\n`;
  }
  await writeFile(clouds, text, { mode: 0o600 });
  await writeFile(secure, secrets, { mode: 0o600 });
  return { clouds, secure };
}

async function listImages(glance: GlanceServer, keystone: KeystoneServer | undefined): Promise<Array<Record<string, unknown>>> {
  const headers: Record<string, string> = {};
  if (keystone) headers['x-auth-token'] = await keystone.adminToken();
  const response = await fetch(`${glance.url}/v2/images?limit=1000`, { headers });
  const body = (await response.json()) as { images: Array<Record<string, unknown>> };
  return body.images;
}
