/**
 * A whole scheduler fleet for end-to-end tests: real gearmand, N builders as separate
 * `nodepool-builder run` processes (each with its own images-dir), M providers each with its own
 * real no-auth Glance (cloud name = provider name in one clouds.yaml the builders share), and
 * `nodepool-builder scheduler` as a process with its HTTP API and a token file.
 *
 * Diskimages are built by the generic command builder (`qemu-img create` of a tiny qcow2), not
 * DIB: these tests are about scheduling, and a build takes about a second.
 *
 * Everything can be stopped, killed and started again: the scheduler, each builder, each Glance.
 *
 * With `access`, there is no gearmand: the scheduler embeds the job server with TLS and access
 * rules (geard-tls-*, geard-acl), and each builder connects with its own client certificate.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BuilderProcess, startBuilder } from './builder-process.ts';
import { type Gearmand, startGearmand } from './gearmand.ts';
import { type GlanceServer, launchGlance, prepareGlance } from './openstack/glance-server.ts';
import { freePort } from './ports.ts';
import { type RunResult, eventually, run, stopChild } from './run.ts';
import type { ClientCert, TestPki } from './tls.ts';
import type { ServerAddress } from '../../src/protocol/transport/connect-address.ts';

/** A command-built diskimage of the fleet. */
export interface FleetImage {
  readonly name: string;
  /** Default "24h". */
  readonly rebuildAge?: string;
  /** Extra TOML lines for its [[diskimages]] table in the scheduler's file (e.g. `pause = true`). */
  readonly extra?: string;
}

/** A provider of the fleet: its own Glance. */
export interface FleetProvider {
  readonly name: string;
  /** The scheduler file's `diskimages = [...]` for it, verbatim TOML; unset: the key is left out (every diskimage). */
  readonly diskimages?: string;
}

/** What the scheduler's file says; every field may change before a `reload()`. */
export interface FleetSchedulerSettings {
  readonly images: readonly FleetImage[];
  readonly providers: readonly FleetProvider[];
  /** Extra lines of the [scheduler] table, e.g. `keep-uploads = 1`. */
  readonly schedulerExtra?: string;
}

/** The fleet with access rules: the scheduler's embedded job server over TLS instead of gearmand. */
export interface FleetAccess {
  readonly pki: TestPki;
  /** The scheduler's certificate (makeHostCert): it serves the job server and is its own client's identity. */
  readonly schedulerCert: ClientCert;
  /** One client certificate per builder, in builder order. */
  readonly builderCerts: readonly ClientCert[];
  /** What the fleet's own admin checks (a builder's registration) connect with; the rules must grant it admin `workers`. */
  readonly adminCert: ClientCert;
  /** The rules file's text (geard-acl); the file is `rulesFile`, which a test may rewrite before a reload. */
  readonly rules: string;
}

export interface FleetOptions {
  /** Default 2. */
  readonly builders?: number;
  /** Names of the providers (one Glance each); default ["p1", "p2"]. */
  readonly providers?: readonly string[];
  /** The diskimages every builder can build; default one, "tiny". */
  readonly images?: readonly string[];
  /** The scheduler's file at its first start. Default: every image (rebuild-age 24h) at every provider. */
  readonly scheduler?: Partial<FleetSchedulerSettings>;
  /** Default "fleet-e2e". */
  readonly systemId?: string;
  /** Default "2s": how often the scheduler sweeps the clouds. */
  readonly cleanupInterval?: string;
  /** Default "1s" (backoff-cap 4s). */
  readonly backoffBase?: string;
  /** Extra TOML for builder i's file (0-based), after its diskimages and providers: e.g. a `[metrics]` table. */
  readonly builderExtra?: (index: number) => string;
  /** Start the scheduler at once (default true; always with `access`: the builders need its job server). */
  readonly startScheduler?: boolean;
  /** The endpoint the builders' clouds.yaml gives a provider, e.g. a fault proxy in front of its Glance; default the Glance itself. */
  readonly glanceEndpoint?: (provider: string, glanceUrl: string) => Promise<string>;
  /** Per image, the builders' own `command` (a TOML array; default: a tiny qcow2 from qemu-img) and extra lines (e.g. `env-vars = {...}`). */
  readonly builderImages?: Readonly<Record<string, { readonly command?: string; readonly extra?: string }>>;
  readonly access?: FleetAccess;
}

/** A Glance image tagged by this fleet's system id. */
export interface TaggedImage {
  readonly id: string;
  readonly name: string;
  readonly status: string;
  readonly buildId: string;
  readonly uploadId: string;
}

/** A complete build in a builder's images-dir. */
export interface RepositoryBuild {
  readonly id: string;
  readonly image: string;
}

/** A row of `image-list --json`. */
export interface ImageListRow {
  readonly 'build-id': string;
  readonly 'upload-id': string;
  readonly provider: string;
  readonly image: string;
  readonly 'external-id': string | null;
  readonly state: string;
  readonly 'state-time': string;
  readonly reason?: string | null;
}

/** `failures` of image-status: failures in a row, the last reason, when the next try may be. */
export interface StatusFailures {
  readonly count: number;
  readonly reason: string;
  readonly 'failed-at': string;
  readonly 'retry-at': string;
}

/** Why due work waits, as image-status shows it. */
export interface StatusWaiting {
  readonly why: string;
  readonly until: string | null;
}

/** One provider of a diskimage in `image-status --json`. */
export interface ProviderStatus {
  readonly provider: string;
  readonly configured: boolean;
  readonly paused: boolean;
  readonly 'paused-by': string | null;
  readonly 'newest-upload': { readonly id: string; readonly state: string } | null;
  readonly 'newest-ready-upload': { readonly id: string; readonly state: string } | null;
  readonly failures: StatusFailures | null;
  readonly waiting: StatusWaiting | null;
}

/** One diskimage in `image-status --json`. */
export interface ImageStatus {
  readonly image: string;
  readonly configured: boolean;
  readonly paused: boolean;
  readonly 'paused-by': string | null;
  /** When an operator asked for a build that has not started yet. */
  readonly 'build-requested': string | null;
  readonly 'newest-build': { readonly id: string; readonly state: string } | null;
  readonly 'newest-ready-build': { readonly id: string; readonly state: string } | null;
  readonly failures: StatusFailures | null;
  readonly waiting: StatusWaiting | null;
  readonly providers: readonly ProviderStatus[];
}

/** A row of `dib-image-list --json` through the API. */
export interface DibImageListRow {
  readonly id: string;
  readonly image: string;
  readonly builder: string | null;
  readonly state: string;
  readonly reason?: string | null;
}

export interface Fleet {
  readonly dir: string;
  /** The fleet's gearmand; with `access` there is none (the scheduler embeds the job server) and reading it throws. */
  readonly gearmand: Gearmand;
  /** Where the builders connect: gearmand, or the scheduler's embedded server (TLS, with the admin certificate). */
  readonly jobServer: ServerAddress;
  /** The geard-acl file, with `access`. */
  readonly rulesFile: string | undefined;
  readonly systemId: string;
  /** http://127.0.0.1:<port> of the scheduler's API. */
  readonly api: string;
  readonly tokenFile: string;
  readonly schedulerConfigFile: string;
  readonly stateFile: string;
  readonly builders: readonly BuilderProcess[];
  readonly glances: ReadonlyMap<string, GlanceServer>;
  /** The scheduler's settings as last written. */
  readonly settings: FleetSchedulerSettings;

  /** Rewrites the scheduler's file (the settings are merged over the current ones). */
  writeSchedulerConfig(settings: Partial<FleetSchedulerSettings>): void;
  /** writeSchedulerConfig, then SIGHUP to the running scheduler. */
  reload(settings: Partial<FleetSchedulerSettings>): void;
  startScheduler(): Promise<void>;
  /** SIGTERM (or the given signal) and wait for the exit. */
  stopScheduler(signal?: NodeJS.Signals): Promise<void>;
  schedulerRunning(): boolean;
  /** Everything the scheduler logged, over all its lives. */
  schedulerLog(): string;
  /** The scheduler's log and every builder's: for a failure message. */
  logs(): string;

  /** This system's images in a provider's Glance, not deleted. Throws when that Glance does not answer. */
  tagged(provider: string): Promise<TaggedImage[]>;
  /** `nodepool-builder <args> --api <api>` (writes get --token-file themselves with `write`). */
  cli(...args: string[]): Promise<RunResult>;
  /** `image-pause`/`image-unpause` etc.: the CLI with --token-file. */
  write(...args: string[]): Promise<RunResult>;
  /** `image-list --json` through the CLI; throws when it fails. */
  imageList(): Promise<ImageListRow[]>;
  /** `dib-image-list --api … --json` through the CLI; throws when it fails. */
  dibImageList(): Promise<DibImageListRow[]>;
  /** `image-status --json` through the CLI; throws when it fails. */
  imageStatus(): Promise<ImageStatus[]>;
  /** The complete builds in each builder's repository, in builder order. */
  repositories(): RepositoryBuild[][];

  /** Stops everything and removes the fleet's files. */
  close(): Promise<void>;
}

const QCOW2_COMMAND = `["sh", "-c", "exec qemu-img create -q -f qcow2 \\"$OUTPUT_DIR/$IMAGE_NAME.qcow2\\" 16M"]`;

function commandImage(name: string, extra = '', command = QCOW2_COMMAND): string {
  return ['[[diskimages]]', `name = "${name}"`, 'builder = "command"', `command = ${command}`, 'formats = ["qcow2"]', extra].join('\n');
}

export async function startFleet(options: FleetOptions = {}): Promise<Fleet> {
  const providerNames = options.providers ?? ['p1', 'p2'];
  const imageNames = options.images ?? ['tiny'];
  const systemId = options.systemId ?? 'fleet-e2e';
  const dir = mkdtempSync(join(tmpdir(), 'scheduler-fleet-'));
  const started: Array<{ close(): Promise<void> }> = [];
  const access = options.access;
  if (access !== undefined && options.startScheduler === false) throw new Error('startFleet: with access the scheduler starts first (its job server is the builders\')');
  try {
    const [gearmand, ...glanceList] = await Promise.all([
      access === undefined ? startGearmand() : Promise.resolve(undefined),
      ...providerNames.map((name) => prepareGlance(join(dir, `glance-${name}`)).then(launchGlance)),
    ]);
    if (gearmand !== undefined) started.push({ close: () => gearmand[Symbol.asyncDispose]() });
    const rulesFile = access === undefined ? undefined : join(dir, 'acl.toml');
    if (access !== undefined) writeFileSync(rulesFile!, access.rules);
    const jobServer: ServerAddress =
      gearmand !== undefined
        ? { host: '127.0.0.1', port: gearmand.port }
        : { host: '127.0.0.1', port: await freePort(), tls: { ca: access!.pki.ca, cert: access!.adminCert.cert, key: access!.adminCert.key } };
    const glances = new Map<string, GlanceServer>(providerNames.map((name, i) => [name, glanceList[i]!]));
    for (const glance of glances.values()) started.push({ close: () => glance.stop() });

    const cloudsFile = join(dir, 'clouds.yaml');
    const endpoints = await Promise.all(providerNames.map((name) => options.glanceEndpoint?.(name, glances.get(name)!.url) ?? glances.get(name)!.url));
    writeFileSync(
      cloudsFile,
      `clouds:\n${providerNames.map((name, i) => `  ${name}:\n    auth_type: none\n    endpoint: ${endpoints[i]}\n`).join('')}`,
      { mode: 0o600 },
    );
    const builderBody = [
      `clouds-file = "${cloudsFile}"`,
      ...imageNames.map((name) => commandImage(name, options.builderImages?.[name]?.extra, options.builderImages?.[name]?.command)),
      ...providerNames.flatMap((name) => ['[[providers]]', `name = "${name}"`, `cloud = "${name}"`]),
    ].join('\n');
    const functions = [...imageNames.map((name) => `image-build:${name}`), ...providerNames.flatMap((name) => [`provider-image-list:${name}`, `provider-image-delete:${name}`])];
    const startBuilders = async (): Promise<BuilderProcess[]> => {
      const list = await Promise.all(
        Array.from({ length: options.builders ?? 2 }, (_, i) =>
          startBuilder(jobServer, `${builderBody}\n${options.builderExtra?.(i) ?? ''}`, functions, {
            clientId: `fleet-builder-${i + 1}`,
            ...(access === undefined
              ? {}
              : { admin: jobServer, serverTls: { ca: access.pki.caFile, cert: access.builderCerts[i]!.certFile, key: access.builderCerts[i]!.keyFile } }),
          }),
        ),
      );
      for (const builder of list) started.push({ close: () => builder[Symbol.asyncDispose]() });
      return list;
    };
    const builders: BuilderProcess[] = access === undefined ? await startBuilders() : [];

    const listenPort = await freePort();
    const api = `http://127.0.0.1:${listenPort}`;
    const tokenFile = join(dir, 'api-token');
    writeFileSync(tokenFile, 'fleet-token\n', { mode: 0o600 });
    const schedulerConfigFile = join(dir, 'scheduler.toml');
    const stateFile = join(dir, 'state.sqlite');
    const schedulerLogFile = join(dir, 'scheduler.log');
    writeFileSync(schedulerLogFile, '');
    let settings: FleetSchedulerSettings = {
      images: imageNames.map((name) => ({ name })),
      providers: providerNames.map((name) => ({ name })),
      ...options.scheduler,
    };
    const writeSchedulerConfig = (changes: Partial<FleetSchedulerSettings>): void => {
      settings = { ...settings, ...changes };
      writeFileSync(
        schedulerConfigFile,
        [
          `images-dir = "${join(dir, 'scheduler-images')}"`,
          ...(access === undefined
            ? ['[[gearman-servers]]', 'host = "127.0.0.1"', `port = ${jobServer.port}`]
            : [
                `geard-acl = "${rulesFile}"`,
                `geard-tls-cert = "${access.schedulerCert.certFile}"`,
                `geard-tls-key = "${access.schedulerCert.keyFile}"`,
                `geard-tls-ca = "${access.pki.caFile}"`,
              ]),
          ...settings.images.map((image) => commandImage(image.name, [`rebuild-age = "${image.rebuildAge ?? '24h'}"`, image.extra ?? ''].join('\n'))),
          ...settings.providers.flatMap((provider) => [
            '[[providers]]',
            `name = "${provider.name}"`,
            `cloud = "${provider.name}"`,
            ...(provider.diskimages === undefined ? [] : [`diskimages = ${provider.diskimages}`]),
          ]),
          '[scheduler]',
          `state-file = "${stateFile}"`,
          `listen = "127.0.0.1:${listenPort}"`,
          `system-id = "${systemId}"`,
          `api-token-file = "${tokenFile}"`,
          `cleanup-interval = "${options.cleanupInterval ?? '2s'}"`,
          `backoff-base = "${options.backoffBase ?? '1s'}"`,
          'backoff-cap = "4s"',
          settings.schedulerExtra ?? '',
        ].join('\n'),
      );
    };
    writeSchedulerConfig({});

    let scheduler: ChildProcess | undefined;
    const schedulerRunning = (): boolean => scheduler !== undefined && scheduler.exitCode === null && scheduler.signalCode === null;
    const stopScheduler = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
      if (scheduler) await stopChild(scheduler, signal, 20_000);
      scheduler = undefined;
    };
    started.push({ close: () => stopScheduler() });
    const cli = (...args: string[]): Promise<RunResult> => run(process.execPath, ['src/cli/main.ts', ...args, '--api', api], '', 30_000);
    const readJson = async <T>(...args: string[]): Promise<T> => {
      const result = await cli(...args, '--json');
      if (result.code !== 0) throw new Error(`${args.join(' ')} exited ${result.code}: ${result.stderr}`);
      return JSON.parse(result.stdout) as T;
    };
    const schedulerLog = (): string => readFileSync(schedulerLogFile, 'utf8');

    const fleet: Fleet = {
      dir,
      get gearmand(): Gearmand {
        if (gearmand === undefined) throw new Error('this fleet has no gearmand: with access, the scheduler embeds the job server (see jobServer)');
        return gearmand;
      },
      jobServer,
      rulesFile,
      systemId,
      api,
      tokenFile,
      schedulerConfigFile,
      stateFile,
      builders,
      glances,
      get settings() {
        return settings;
      },
      writeSchedulerConfig,
      reload(changes) {
        writeSchedulerConfig(changes);
        if (!schedulerRunning()) throw new Error('reload: the scheduler is not running');
        scheduler!.kill('SIGHUP');
      },
      async startScheduler() {
        if (schedulerRunning()) throw new Error('startScheduler: the scheduler is running already');
        const geard = access === undefined ? [] : ['--geard-listen', `127.0.0.1:${jobServer.port}`];
        const child = spawn(process.execPath, ['src/cli/main.ts', 'scheduler', '-c', schedulerConfigFile, ...geard], { stdio: ['ignore', 'ignore', 'pipe'] });
        child.stderr!.on('data', (chunk: Buffer) => appendFileSync(schedulerLogFile, chunk));
        scheduler = child;
        await eventually(
          async () => {
            if (child.exitCode !== null) throw new Error(`the scheduler exited (${child.exitCode}):\n${schedulerLog()}`);
            return (await fetch(`${api}/ready`).catch(() => undefined))?.status === 200;
          },
          60_000,
          'the scheduler to answer /ready',
        );
      },
      stopScheduler,
      schedulerRunning,
      schedulerLog,
      logs: () =>
        [`--- scheduler ---\n${schedulerLog()}`, ...builders.map((b, i) => `--- builder ${i + 1} ---\n${safeLog(b)}`)].join('\n'),
      async tagged(provider) {
        const glance = glances.get(provider);
        if (!glance) throw new Error(`no provider ${provider}`);
        const response = await fetch(`${glance.url}/v2/images?limit=1000`);
        if (!response.ok) throw new Error(`${provider}'s Glance answered ${response.status}`);
        const body = (await response.json()) as { images: Array<Record<string, unknown>> };
        return body.images
          .filter((image) => image.nodepool_system_id === systemId && image.status !== 'deleted')
          .map((image) => ({
            id: String(image.id),
            name: String(image.name),
            status: String(image.status),
            buildId: String(image.nodepool_build_id),
            uploadId: String(image.nodepool_upload_id),
          }));
      },
      cli,
      write: (...args) => cli(...args, '--token-file', tokenFile),
      imageList: () => readJson<ImageListRow[]>('image-list'),
      dibImageList: () => readJson<DibImageListRow[]>('dib-image-list'),
      imageStatus: () => readJson<ImageStatus[]>('image-status'),
      repositories: () => builders.map((builder) => completeBuilds(builder.imagesDir)),
      async close() {
        await closeAll(started);
        rmSync(dir, { recursive: true, force: true });
      },
    };
    if (options.startScheduler !== false) await fleet.startScheduler();
    if (access !== undefined) builders.push(...(await startBuilders()));
    return fleet;
  } catch (err) {
    await closeAll(started);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The complete images in a builder's images-dir (those with their metadata.json). */
function completeBuilds(imagesDir: string): RepositoryBuild[] {
  const root = join(imagesDir, 'images');
  let ids: string[];
  try {
    ids = readdirSync(root);
  } catch {
    return [];
  }
  // A build being deleted is renamed away meanwhile: it is not complete any more.
  const complete = (id: string): RepositoryBuild[] => {
    try {
      const record = JSON.parse(readFileSync(join(root, id, 'metadata.json'), 'utf8')) as { name?: unknown };
      return [{ id, image: String(record.name) }];
    } catch {
      return [];
    }
  };
  return ids.sort().flatMap(complete);
}

function safeLog(builder: BuilderProcess): string {
  try {
    return builder.log();
  } catch {
    return '(no log)';
  }
}

/** Last started, first closed; every one is tried. */
async function closeAll(started: ReadonlyArray<{ close(): Promise<void> }>): Promise<void> {
  for (const part of [...started].reverse()) await part.close().catch(() => undefined);
}
