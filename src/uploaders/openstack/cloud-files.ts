import { errorCode, oneLine, toError } from '../../errors/thrown.ts';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { YAMLError, parse } from 'yaml';
import type { Logger } from '../../util/log.ts';
import { CloudConfigError } from './errors.ts';
import { jsonSyntaxErrorOffset, lineAndColumn } from './json-syntax.ts';

export type Env = Readonly<Record<string, string | undefined>>;
export type Mapping = Record<string, unknown>;

export interface CloudFileLocations {
  /** The builder config's clouds-file: searched first, like OS_CLIENT_CONFIG_FILE. */
  readonly cloudsFile?: string | undefined;
  readonly env: Env;
  readonly cwd: string;
  readonly home: string;
}

export interface CloudFiles {
  /** clouds.yaml deep-merged with secure.yaml: the "clouds" mapping. */
  readonly clouds: Mapping;
  /** The files read, for error messages. */
  readonly files: readonly string[];
}

const SECRET_KEYS = new Set(['password', 'application_credential_secret', 'token', 'auth_token']);

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** openstacksdk's merge_clouds: mappings merge key by key, anything else is replaced. */
export function deepMerge(base: Mapping, over: Mapping): Mapping {
  const merged: Mapping = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = merged[key];
    merged[key] = isMapping(current) && isMapping(value) ? deepMerge(current, value) : value;
  }
  return merged;
}

/**
 * Candidate files in openstacksdk's order: the override, then the current directory, the
 * user's config directory, then /etc/openstack; each as .yaml, .yml and .json. The builder's
 * own clouds-file comes first, and a secure.yaml beside it before the others.
 */
export function candidates(base: 'clouds' | 'secure', locations: CloudFileLocations): string[] {
  const { env, cwd, home } = locations;
  const dirs = [cwd];
  if (env.XDG_CONFIG_HOME) dirs.push(join(env.XDG_CONFIG_HOME, 'openstack'));
  dirs.push(join(home, '.config', 'openstack'), '/etc/openstack');
  const files = dirs.flatMap((dir) => ['.yaml', '.yml', '.json'].map((suffix) => join(dir, base + suffix)));
  const nextToCloudsFile = locations.cloudsFile
    ? ['.yaml', '.yml', '.json'].map((suffix) => join(dirname(locations.cloudsFile!), `secure${suffix}`))
    : [];
  const first = base === 'clouds' ? [locations.cloudsFile, env.OS_CLIENT_CONFIG_FILE] : [env.OS_CLIENT_SECURE_FILE, ...nextToCloudsFile];
  return [...new Set([...first.filter((f): f is string => !!f), ...files])];
}

function holdsSecrets(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(holdsSecrets);
  if (!isMapping(value)) return false;
  return Object.entries(value).some(([key, v]) => (SECRET_KEYS.has(key.replace(/-/g, '_')) && v !== '' && v != null) || holdsSecrets(v));
}

/**
 * A clouds or secure file's document. A syntax error names the file and the position only:
 * parsers quote the offending text, and in these files that text may be a password.
 */
export function parseCloudFile(path: string, text: string): unknown {
  if (path.endsWith('.json')) {
    try {
      return JSON.parse(text);
    } catch {
      const offset = jsonSyntaxErrorOffset(text) ?? 0;
      const { line, column } = lineAndColumn(text, offset);
      throw new CloudConfigError(`${path} is not valid JSON: syntax error at line ${line}, column ${column}`);
    }
  }
  try {
    // PyYAML's safe_load reads YAML 1.1 (yes/no are booleans) and lets a repeated key win: so do we.
    return parse(text, { version: '1.1', uniqueKeys: false, logLevel: 'error' });
  } catch (err) {
    const where = err instanceof YAMLError && err.linePos ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
    const code = err instanceof YAMLError ? ` (${err.code})` : '';
    throw new CloudConfigError(`${path} is not valid YAML${code}${where}`);
  }
}

/**
 * Reads the first of `files` that exists. As in openstacksdk, the first file that exists is
 * the one: one that does not parse is an error, never a reason to read the next (which may
 * hold another cloud of the same name). A file in a searched directory that cannot be read
 * is skipped with a warning, as openstacksdk does; one named on purpose (`named`) is an error.
 */
async function readFirst(files: readonly string[], named: ReadonlySet<string>, logger: Logger): Promise<{ path: string; document: Mapping } | undefined> {
  for (const path of files) {
    let text: string;
    let mode: number;
    try {
      mode = (await stat(path)).mode;
      text = await readFile(path, 'utf8');
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      if (named.has(path)) throw new CloudConfigError(`cannot read ${path}: ${oneLine(err)}`, { cause: err });
      logger.warn(`skipping ${path}: ${code === 'EACCES' ? 'permission denied' : oneLine(err)}`);
      continue;
    }
    const document = parseCloudFile(path, text);
    if (!isMapping(document)) throw new CloudConfigError(`${path} is empty or not a mapping`);
    if (!('clouds' in document)) logger.warn(`${path} has no "clouds" key`);
    if (mode & 0o004 && holdsSecrets(document.clouds)) {
      logger.warn(`${path} holds cloud credentials and is readable by other users (mode ${(mode & 0o777).toString(8)}): chmod o-r it`);
    }
    return { path, document };
  }
  return undefined;
}

/** clouds.yaml (the first found) with secure.yaml (the first found) deep-merged over it. */
export async function loadCloudFiles(locations: CloudFileLocations, logger: Logger): Promise<CloudFiles> {
  if (locations.cloudsFile !== undefined) {
    // Named in the builder's own config: a missing file is a mistake, not a reason to search.
    await stat(locations.cloudsFile).catch((err: unknown) => {
      throw new CloudConfigError(`clouds-file ${locations.cloudsFile}: ${toError(err).message}`, { cause: err });
    });
  }
  const { env } = locations;
  const named = new Set([locations.cloudsFile, env.OS_CLIENT_CONFIG_FILE, env.OS_CLIENT_SECURE_FILE].filter((f): f is string => !!f));
  const clouds = await readFirst(candidates('clouds', locations), named, logger);
  const secure = await readFirst(candidates('secure', locations), named, logger);
  const base = isMapping(clouds?.document.clouds) ? clouds.document.clouds : {};
  const over = isMapping(secure?.document.clouds) ? secure.document.clouds : {};
  return {
    clouds: deepMerge(base, over),
    files: [clouds?.path, secure?.path].filter((f): f is string => f !== undefined),
  };
}
