import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../ports.ts';
import { migratedDatabase } from './database-template.ts';
import { type ServiceProcess, runTool, startService, waitForHttp } from './service-process.ts';

/** A real Keystone v3 (Debian's package) on 127.0.0.1: sqlite, fernet tokens, bootstrapped admin. */
export interface KeystoneServer {
  /** Root URL, without /v3. */
  readonly url: string;
  readonly adminPassword: string;
  /** Calls the v3 API as the bootstrapped admin (project-scoped). */
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** The admin's user id. */
  adminUserId(): Promise<string>;
  /** A project-scoped admin token (renewed before it expires). */
  adminToken(): Promise<string>;
  readonly running: boolean;
  /** Starts it again on the same port, with the same database and keys (tokens it gave stay valid). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface KeystoneSettings {
  /** [token] expiration: how long a token lives (default 3600 s). */
  readonly tokenExpirationSeconds?: number;
}

const REGION = 'RegionOne';

function keystoneConf(dir: string, { tokenExpirationSeconds }: KeystoneSettings): string {
  return `[DEFAULT]
log_file = ${join(dir, 'keystone.log')}

[database]
connection = sqlite:///${join(dir, 'keystone.sqlite')}

[token]
provider = fernet
${tokenExpirationSeconds === undefined ? '' : `expiration = ${tokenExpirationSeconds}\n`}
[fernet_tokens]
key_repository = ${join(dir, 'fernet-keys')}

[fernet_receipts]
key_repository = ${join(dir, 'fernet-keys')}

[credential]
key_repository = ${join(dir, 'credential-keys')}

[catalog]
driver = sql
`;
}

/**
 * What keystone-manage fernet_setup / credential_setup write, without their Python start:
 * Fernet keys (32 random bytes, base64url), "0" the staged key and "1" the primary.
 */
async function writeKeyRepository(dir: string): Promise<void> {
  for (const name of ['0', '1']) {
    await writeFile(join(dir, name), randomBytes(32).toString('base64url') + '=', { mode: 0o600 });
  }
}

export async function startKeystone(dir: string, adminPassword: string, port?: number, settings: KeystoneSettings = {}): Promise<KeystoneServer> {
  await Promise.all(['fernet-keys', 'credential-keys'].map((d) => mkdir(join(dir, d), { recursive: true })));
  port ??= await freePort();
  const url = `http://127.0.0.1:${port}`;
  const conf = join(dir, 'keystone.conf');
  await writeFile(conf, keystoneConf(dir, settings));
  const setup = { cwd: dir, log: join(dir, 'setup.log') };
  const manage = (...args: string[]) => runTool('keystone-manage', ['--config-file', conf, ...args], setup);
  await migratedDatabase('keystone', join(dir, 'keystone.sqlite'), async () => {
    await manage('db_sync');
    // Without WAL, keystone's sqlite answers "database is locked" on catalog writes (kept in the file).
    await runTool('sqlite3', [join(dir, 'keystone.sqlite'), 'PRAGMA journal_mode=WAL;'], setup);
  });
  await writeKeyRepository(join(dir, 'fernet-keys'));
  await writeKeyRepository(join(dir, 'credential-keys'));
  await manage(
    'bootstrap',
    '--bootstrap-password', adminPassword,
    '--bootstrap-username', 'admin',
    '--bootstrap-project-name', 'admin',
    '--bootstrap-role-name', 'admin',
    '--bootstrap-service-name', 'keystone',
    '--bootstrap-region-id', REGION,
    '--bootstrap-public-url', `${url}/v3`,
    '--bootstrap-internal-url', `${url}/v3`,
    '--bootstrap-admin-url', `${url}/v3`,
  );
  const log = join(dir, 'stdout.log');
  // The wsgiref server Keystone ships: one thread, HTTP/1.0, enough for tests.
  const launch = async (): Promise<ServiceProcess> => {
    const started = startService('keystone', 'keystone-wsgi-public', ['--host', '127.0.0.1', '--port', String(port), '--', '--config-file', conf], { cwd: dir, log });
    await waitForHttp(`${url}/v3`, started, log);
    return started;
  };
  let service = await launch();

  let token: { value: string; userId: string; expiresAt: number } | undefined;
  const adminToken = async () => {
    // Short-lived tokens (a test's [token] expiration) are renewed before they run out.
    if (token && token.expiresAt - Date.now() > 5_000) return token;
    const response = await fetch(`${url}/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: adminPassword } } },
          scope: { project: { name: 'admin', domain: { id: 'default' } } },
        },
      }),
    });
    const body = (await response.json()) as { token: { user: { id: string }; expires_at: string } };
    if (response.status !== 201) throw new Error(`admin token: ${response.status} ${JSON.stringify(body)}`);
    token = { value: response.headers.get('x-subject-token')!, userId: body.token.user.id, expiresAt: Date.parse(body.token.expires_at) };
    return token;
  };
  return {
    url,
    adminPassword,
    async admin<T>(method: string, path: string, body?: unknown): Promise<T> {
      const { value } = await adminToken();
      const response = await fetch(`${url}/v3${path}`, {
        method,
        headers: { 'x-auth-token': value, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (response.status >= 300) throw new Error(`keystone ${method} ${path}: ${response.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    },
    adminUserId: async () => (await adminToken()).userId,
    adminToken: async () => (await adminToken()).value,
    get running() {
      return service.running;
    },
    async restart() {
      await service.stop();
      service = await launch();
    },
    stop: () => service.stop(),
  };
}
