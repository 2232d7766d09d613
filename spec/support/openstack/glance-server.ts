import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../ports.ts';
import { migratedDatabase } from './database-template.ts';
import { type ServiceProcess, runTool, startService, waitForHttp } from './service-process.ts';

/** keystonemiddleware settings: Glance checks tokens with this service user. */
export interface GlanceAuthtoken {
  /** Keystone's root URL, without /v3. */
  readonly keystoneUrl: string;
  readonly username: string;
  readonly password: string;
  readonly project: string;
}

/** A real glance-api (Debian's package) on 127.0.0.1, file store and sqlite under `dir`. */
export interface GlanceServer {
  readonly url: string;
  readonly dir: string;
  readonly running: boolean;
  /** The glance-api process (one: workers = 0), e.g. for SIGSTOP, a Glance that hangs. */
  readonly pid: number;
  /** SIGKILL: the crash of a real deployment. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same database and store. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface GlanceSettings {
  readonly auth?: GlanceAuthtoken;
  /** [DEFAULT] image_size_cap: bigger uploads get 413. */
  readonly imageSizeCap?: number;
  /** [DEFAULT] hashing_algorithm: what os_hash_value is (Glance's default is sha512). */
  readonly hashingAlgorithm?: string;
}

function glanceConf(dir: string, port: number, { auth, imageSizeCap, hashingAlgorithm }: GlanceSettings): string {
  const pipeline = auth
    ? `[paste_deploy]
flavor = keystone

[keystone_authtoken]
www_authenticate_uri = ${auth.keystoneUrl}
auth_url = ${auth.keystoneUrl}
auth_type = password
user_domain_name = Default
project_domain_name = Default
project_name = ${auth.project}
username = ${auth.username}
password = ${auth.password}
`
    : `[paste_deploy]
# empty flavor: Debian's pipeline with unauthenticated-context (every request is an admin)
flavor =
`;
  return `[DEFAULT]
bind_host = 127.0.0.1
bind_port = ${port}
# one process, no forked workers: its pid is the server
workers = 0
${imageSizeCap === undefined ? '' : `image_size_cap = ${imageSizeCap}\n`}${hashingAlgorithm === undefined ? '' : `hashing_algorithm = ${hashingAlgorithm}\n`}log_file = ${join(dir, 'glance-api.log')}
node_staging_uri = file://${join(dir, 'staging')}

[database]
connection = sqlite:///${join(dir, 'glance.sqlite')}

${pipeline}
[glance_store]
stores = file
default_store = file
filesystem_store_datadir = ${join(dir, 'images')}

[oslo_concurrency]
lock_path = ${join(dir, 'lock')}
`;
}

/** Writes the configuration and creates the database: the slow part, which can run beside Keystone's setup. */
export async function prepareGlance(dir: string, settings: GlanceSettings = {}): Promise<{ dir: string; port: number }> {
  await Promise.all(['images', 'staging', 'lock'].map((d) => mkdir(join(dir, d), { recursive: true })));
  const port = await freePort();
  await writeFile(join(dir, 'glance-api.conf'), glanceConf(dir, port, settings));
  await migratedDatabase('glance-api', join(dir, 'glance.sqlite'), () =>
    runTool('glance-manage', ['--config-file', join(dir, 'glance-api.conf'), 'db_sync'], { cwd: dir, log: join(dir, 'setup.log') }),
  );
  return { dir, port };
}

export async function launchGlance(prepared: { dir: string; port: number }): Promise<GlanceServer> {
  const { dir, port } = prepared;
  const url = `http://127.0.0.1:${port}`;
  const log = join(dir, 'stdout.log');
  const launch = async (): Promise<ServiceProcess> => {
    const service = startService('glance-api', 'glance-api', ['--config-file', join(dir, 'glance-api.conf')], { cwd: dir, log });
    await waitForHttp(`${url}/healthcheck`, service, log);
    return service;
  };
  let service = await launch();
  return {
    url,
    dir,
    get running() {
      return service.running;
    },
    get pid() {
      return service.pid;
    },
    kill: () => service.kill(),
    async restart() {
      await service.stop();
      service = await launch();
    },
    stop: () => service.stop(),
  };
}
