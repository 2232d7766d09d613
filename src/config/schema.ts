import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_PORT, type ServerAddress } from '../protocol/transport/connect-address.ts';
import { ConfigError, TableReader } from './table-reader.ts';
import { parseImageNameFormat } from './image-name-format.ts';
import { type MetricsConfig, readMetrics } from './metrics-schema.ts';
import { type PathKeys, type SchedulerConfig, readScheduler } from './scheduler-schema.ts';

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const NAME_EXPECTED = 'a name of letters, digits, ".", "_" and "-" (at most 128, starting with a letter or digit)';

/** Formats disk-image-create can write with -t. */
export const DIB_FORMATS = ['qcow2', 'raw', 'vhd', 'vhdx', 'vmdk', 'tar', 'tgz', 'squashfs', 'docker'] as const;
/** Formats a provider can ask for; qemu-img converts to them when the build did not make one. */
export const UPLOAD_FORMATS = ['qcow2', 'raw', 'vhd', 'vhdx', 'vmdk'] as const;
export type UploadFormat = (typeof UPLOAD_FORMATS)[number];
export const UPLOAD_HASHING = ['auto', 'in-stream'] as const;
export type UploadHashing = (typeof UPLOAD_HASHING)[number];

export interface DiskImageConfig {
  readonly name: string;
  readonly builder: 'dib' | 'command';
  readonly elements: readonly string[];
  readonly release: string | undefined;
  readonly formats: readonly string[];
  readonly envVars: Readonly<Record<string, string>>;
  readonly buildTimeoutMs: number;
  /** dib: extra disk-image-create arguments, e.g. ["--image-size", "1"]. */
  readonly dibArgs: readonly string[];
  readonly dibCmd: string;
  /** disk-image-create -x (shell tracing in the build log). */
  readonly dibTrace: boolean;
  readonly noTmpfs: boolean;
  /** command: the operator's argv. */
  readonly command: readonly string[];
  /** Scheduler: a ready build older than this is replaced by a new one (nodepool: 24 h). */
  readonly rebuildAgeMs: number;
  /** Scheduler: no new builds while paused; what exists is kept. */
  readonly pause: boolean;
}

/** One entry of a provider's `diskimages`: the scheduler uploads this diskimage there. */
export interface ProviderDiskImage {
  readonly name: string;
  /** No new uploads to this provider while paused; what exists is kept. */
  readonly pause: boolean;
  /** Image properties for this diskimage, over the provider's own `meta`. */
  readonly meta: Readonly<Record<string, string>>;
}

export interface ProviderConfig {
  readonly name: string;
  /** The clouds.yaml entry; unset lets OS_CLOUD (or the only cloud) decide, as openstacksdk does. */
  readonly cloud: string | undefined;
  readonly region: string | undefined;
  readonly imageFormat: UploadFormat;
  readonly imageNameFormat: string;
  readonly uploadTimeoutMs: number;
  readonly uploadMethod: 'put' | 'import';
  /**
   * "auto": stream the file unhashed and check what Glance computed against the build's record;
   * "in-stream": also hash the file while it streams (for clouds that compute no checksum).
   */
  readonly uploadHashing: UploadHashing;
  readonly visibility: 'private' | 'shared' | 'community' | 'public';
  readonly minDisk: number | undefined;
  readonly minRam: number | undefined;
  readonly meta: Readonly<Record<string, string>>;
  /** The diskimages the scheduler uploads here; undefined (no key) means every diskimage of the file. */
  readonly diskimages: readonly ProviderDiskImage[] | undefined;
}

export interface StatsdConfig {
  readonly host: string;
  readonly port: number;
  readonly prefix: string;
}

export interface BuilderConfig {
  readonly file: string;
  readonly imagesDir: string;
  readonly logDir: string;
  readonly buildLogRetention: number;
  readonly buildWorkers: number;
  readonly uploadWorkers: number;
  readonly minFreeSpace: number;
  readonly elementsPath: readonly string[];
  readonly dibImageCache: string | undefined;
  readonly clientId: string;
  readonly shutdownGraceMs: number;
  readonly cloudsFile: string | undefined;
  /** Access rules (TOML) for the job server `run` and `scheduler` embed; undefined: none, everything allowed. */
  readonly geardAcl: string | undefined;
  /** TLS for the job server `run` and `scheduler` embed; undefined: plain TCP. */
  readonly geardTls: EmbeddedServerTls | undefined;
  readonly gearmanServers: readonly ServerAddress[];
  readonly statsd: StatsdConfig | undefined;
  /** `[metrics]`: the builder's Prometheus listener; undefined: none. */
  readonly metrics: MetricsConfig | undefined;
  readonly diskimages: readonly DiskImageConfig[];
  readonly providers: readonly ProviderConfig[];
  /** The `[scheduler]` table; undefined when the file has none. */
  readonly scheduler: SchedulerConfig | undefined;
}

/**
 * The embedded job server's TLS files (paths). The process's own worker or client connects to it
 * with the same certificate, so its CN is the name access rules see for that process.
 */
export interface EmbeddedServerTls {
  readonly cert: string;
  readonly key: string;
  /** The CA client certificates must come from; the process's own connections verify the server with it too. */
  readonly ca: string;
  /** Refuse clients without a certificate from `ca`. */
  readonly requireClientCert: boolean;
}

function oneOf<T extends string>(reader: TableReader, key: string, choices: readonly T[], fallback: T): T {
  const value = reader.string(key, fallback);
  if (!(choices as readonly string[]).includes(value)) throw reader.error(key, `one of ${choices.join(', ')}`, value);
  return value as T;
}

function imageNameFormat(reader: TableReader): string {
  const format = reader.string('image-name-format', '{image_name}-{timestamp}');
  const parsed = parseImageNameFormat(format);
  if ('problem' in parsed) throw reader.error('image-name-format', `a name format (${parsed.problem})`, format);
  return format;
}

/** Relative paths in the file are relative to the file's own directory. */
type PathResolver = (path: string) => string;

/**
 * A path: absolute, or relative to the config file's directory. "~" is not expanded (whose home
 * would it be, for a service?), so a path starting with it is refused rather than read as a
 * directory named "~".
 */
const PATH = /^(?!~)(?!$)/;
const PATH_EXPECTED = 'a path, absolute or relative to this file ("~" is not expanded)';

function optionalPath(reader: TableReader, key: string, path: PathResolver): string | undefined {
  const value = reader.optionalString(key, PATH, PATH_EXPECTED);
  return value === undefined ? undefined : path(value);
}

function requiredPath(reader: TableReader, key: string, path: PathResolver, fallback: string): string {
  return path(reader.string(key, fallback, PATH, PATH_EXPECTED));
}

const HOST = /^[^\s/]+$/;
const HOST_EXPECTED = 'a host name or address (not empty, no spaces)';

/** DIB element names are directory names; one starting with "-" would reach disk-image-create as an option. */
const ELEMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/**
 * The client id is also part of statsd keys (":" and "|" end a key's name) and of gearman's
 * workers listing (" " separates its fields).
 */
const CLIENT_ID = /^[A-Za-z0-9._\-/@+]+$/;

function readServer(reader: TableReader, path: PathResolver): ServerAddress {
  const host = reader.string('host', undefined, HOST, HOST_EXPECTED);
  const port = reader.integer('port', DEFAULT_PORT, 1, 65535);
  const ca = optionalPath(reader, 'tls-ca', path);
  const cert = optionalPath(reader, 'tls-cert', path);
  const key = optionalPath(reader, 'tls-key', path);
  const servername = reader.optionalString('tls-server-name');
  if ((cert === undefined) !== (key === undefined)) throw reader.error(cert ? 'tls-key' : 'tls-cert', 'tls-cert and tls-key together');
  const tls = ca !== undefined || cert !== undefined || servername !== undefined;
  // Paths are kept here; the worker reads the PEM files when it connects.
  return tls
    ? { host, port, tls: { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), ...(servername ? { servername } : {}) } }
    : { host, port };
}

/**
 * geard's --tls-* flags as top-level keys. TLS here needs the CA as well as the server's pair:
 * the process's own connections present the server's certificate and check the server with the
 * CA, so without one they would be anonymous and rules by name could not apply to them.
 */
function readEmbeddedServerTls(root: TableReader, path: PathResolver): EmbeddedServerTls | undefined {
  const cert = optionalPath(root, 'geard-tls-cert', path);
  const key = optionalPath(root, 'geard-tls-key', path);
  const ca = optionalPath(root, 'geard-tls-ca', path);
  const requireClientCert = root.boolean('geard-tls-require-client-cert', false);
  if (cert === undefined && key === undefined && ca === undefined && !requireClientCert) return undefined;
  if (cert === undefined || key === undefined) {
    const missing = cert === undefined ? 'geard-tls-cert' : 'geard-tls-key';
    throw root.error(missing, 'the embedded job server\'s certificate and key (geard-tls-cert and geard-tls-key), together, when any geard-tls-* key is set');
  }
  if (ca === undefined) {
    throw root.error('geard-tls-ca', 'the CA of the client certificates (required with geard-tls-cert: this process\'s own worker or client also connects with geard-tls-cert and checks the server with it)');
  }
  return { cert, key, ca, requireClientCert };
}

function readDiskImage(reader: TableReader, defaults: { dibCmd: string }): DiskImageConfig {
  const name = reader.string('name', undefined, NAME_PATTERN, NAME_EXPECTED);
  const builder = oneOf(reader, 'builder', ['dib', 'command'] as const, 'dib');
  const formats = reader.stringArray('formats', ['qcow2'], 1);
  formats.forEach((format, i) => {
    if (!(DIB_FORMATS as readonly string[]).includes(format)) throw reader.error(`formats[${i}]`, `one of ${DIB_FORMATS.join(', ')}`, format);
    if (formats.indexOf(format) !== i) throw reader.error(`formats[${i}]`, 'a format not listed before', format);
  });
  const elements = reader.stringArray('elements', builder === 'dib' ? undefined : [], builder === 'dib' ? 1 : 0);
  elements.forEach((element, i) => {
    if (!ELEMENT.test(element)) throw reader.error(`elements[${i}]`, 'an element name (letters, digits, ".", "_", "-"; not starting with "-" or ".")', element);
  });
  return {
    name,
    builder,
    elements,
    release: reader.optionalString('release'),
    formats,
    envVars: reader.stringMap('env-vars'),
    buildTimeoutMs: reader.duration('build-timeout', 8 * 3_600_000),
    dibArgs: reader.stringArray('dib-args', []),
    dibCmd: reader.string('dib-cmd', defaults.dibCmd),
    dibTrace: reader.boolean('dib-trace', true),
    noTmpfs: reader.boolean('no-tmpfs', false),
    command: reader.stringArray('command', builder === 'command' ? undefined : [], builder === 'command' ? 1 : 0),
    rebuildAgeMs: reader.duration('rebuild-age', 86_400_000),
    pause: reader.boolean('pause', false),
  };
}

function readProviderDiskImage(reader: TableReader): ProviderDiskImage {
  return {
    name: reader.string('name', undefined, NAME_PATTERN, NAME_EXPECTED),
    pause: reader.boolean('pause', false),
    meta: reader.stringMap('meta'),
  };
}

function readProvider(reader: TableReader): ProviderConfig {
  const minDisk = reader.has('min-disk') ? reader.integer('min-disk', undefined, 0) : undefined;
  const minRam = reader.has('min-ram') ? reader.integer('min-ram', undefined, 0) : undefined;
  return {
    name: reader.string('name', undefined, NAME_PATTERN, NAME_EXPECTED),
    cloud: reader.optionalString('cloud'),
    region: reader.optionalString('region'),
    imageFormat: oneOf(reader, 'image-format', UPLOAD_FORMATS, 'qcow2'),
    imageNameFormat: imageNameFormat(reader),
    uploadTimeoutMs: reader.duration('upload-timeout', 3_600_000),
    uploadMethod: oneOf(reader, 'upload-method', ['put', 'import'] as const, 'put'),
    uploadHashing: oneOf(reader, 'upload-hashing', UPLOAD_HASHING, 'auto'),
    visibility: oneOf(reader, 'visibility', ['private', 'shared', 'community', 'public'] as const, 'private'),
    minDisk,
    minRam,
    meta: reader.stringMap('meta'),
    diskimages: reader.has('diskimages') ? reader.tables('diskimages', readProviderDiskImage) : undefined,
  };
}

/**
 * A provider's diskimages must name diskimages of this file, once each: a misspelt name would
 * otherwise never be uploaded, and nothing would say why.
 */
function checkProviderDiskImages(config: BuilderConfig, root: TableReader): void {
  const known = new Set(config.diskimages.map((image) => image.name));
  config.providers.forEach((provider, p) => {
    const seen = new Set<string>();
    provider.diskimages?.forEach((entry, i) => {
      const key = `providers[${p}].diskimages[${i}].name`;
      if (!known.has(entry.name)) throw root.error(key, 'the name of a [[diskimages]] entry of this file', entry.name);
      if (seen.has(entry.name)) throw root.error(key, 'a diskimage not listed before for this provider', entry.name);
      seen.add(entry.name);
    });
  });
}

function readStatsd(reader: TableReader): StatsdConfig {
  return {
    host: reader.string('host', '127.0.0.1', HOST, HOST_EXPECTED),
    port: reader.integer('port', 8125, 1, 65535),
    prefix: reader.string('prefix', 'nodepool'),
  };
}

function unique<T extends { name: string }>(items: readonly T[], reader: TableReader, key: string): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.name)) throw reader.error(`${key}[${i}].name`, `a name not used by another entry`, item.name);
    seen.add(item.name);
  });
}

/** Builds the typed configuration from a parsed TOML document, or throws a ConfigError. */
export function readConfig(document: unknown, file: string): BuilderConfig {
  const root = TableReader.root(document, file);
  const path: PathResolver = (value) => resolve(dirname(file), value);
  const imagesDir = requiredPath(root, 'images-dir', path, '/var/lib/nodepool-builder/images');
  const dibCmd = root.string('dib-cmd', 'disk-image-create');
  const paths: PathKeys = {
    required: (reader, key, fallback) => requiredPath(reader, key, path, fallback),
    optional: (reader, key) => optionalPath(reader, key, path),
  };
  const config: BuilderConfig = {
    file,
    imagesDir,
    logDir: requiredPath(root, 'log-dir', path, join(imagesDir, 'logs')),
    buildLogRetention: root.integer('build-log-retention', 7, 1),
    buildWorkers: root.integer('build-workers', 1, 1, 64),
    uploadWorkers: root.integer('upload-workers', 4, 1, 256),
    minFreeSpace: root.size('min-free-space', 2 * 1024 ** 3),
    elementsPath: root.stringArray('elements-path', []).map((dir, i) => {
      if (!PATH.test(dir)) throw root.error(`elements-path[${i}]`, PATH_EXPECTED, dir);
      return path(dir);
    }),
    dibImageCache: optionalPath(root, 'dib-image-cache', path),
    clientId: root.string('client-id', hostname(), CLIENT_ID, 'a client id of letters, digits and . _ - / @ + (no spaces, ":" or "|": it is part of statsd keys)'),
    shutdownGraceMs: root.duration('shutdown-grace', 300_000),
    cloudsFile: optionalPath(root, 'clouds-file', path),
    geardAcl: optionalPath(root, 'geard-acl', path),
    geardTls: readEmbeddedServerTls(root, path),
    gearmanServers: root.tables('gearman-servers', (t) => readServer(t, path)),
    statsd: root.table('statsd', readStatsd),
    metrics: root.table('metrics', readMetrics),
    diskimages: root.tables('diskimages', (t) => readDiskImage(t, { dibCmd })),
    providers: root.tables('providers', readProvider),
    scheduler: root.table('scheduler', (t) => readScheduler(t, paths)),
  };
  root.done();
  unique(config.diskimages, root, 'diskimages');
  unique(config.providers, root, 'providers');
  checkProviderDiskImages(config, root);
  return config;
}

export { ConfigError };
export type { ListenAddress, SchedulerConfig } from './scheduler-schema.ts';
export type { MetricsConfig } from './metrics-schema.ts';
