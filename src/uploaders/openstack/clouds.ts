import { homedir } from 'node:os';
import { join } from 'node:path';
import { type CloudFiles, type Env, type Mapping, isMapping } from './cloud-files.ts';
import { CloudConfigError } from './errors.ts';
import type { TlsSettings } from './http.ts';
import { Secret } from './secret.ts';

export interface DomainRef {
  readonly id?: string;
  readonly name?: string;
}

/** A Keystone user or project: by id, or by name within a domain. */
export interface NamedRef {
  readonly id?: string;
  readonly name?: string;
  readonly domain?: DomainRef;
}

export type Scope =
  | { readonly kind: 'project'; readonly project: NamedRef }
  | { readonly kind: 'domain'; readonly domain: DomainRef }
  | { readonly kind: 'system' };

export type CloudAuth =
  | { readonly type: 'password'; readonly authUrl: string; readonly user: NamedRef; readonly password: Secret; readonly scope: Scope }
  | {
      readonly type: 'v3applicationcredential';
      readonly authUrl: string;
      readonly credential: { readonly id: string } | { readonly name: string; readonly user: NamedRef };
      readonly secret: Secret;
    }
  | { readonly type: 'none'; readonly endpoint: string | undefined };

/** One cloud (and region) as openstacksdk would see it, reduced to what an image upload needs. */
export interface CloudConfig {
  readonly name: string;
  readonly auth: CloudAuth;
  readonly region: string | undefined;
  readonly interface: string;
  readonly imageEndpointOverride: string | undefined;
  readonly tls: TlsSettings;
  /** Where it came from, for error messages. */
  readonly source: string;
}

export interface CloudRequest {
  /** The cloud's name; OS_CLOUD (then the OS_* cloud, then the only cloud) when absent. */
  readonly cloud?: string | undefined;
  /** Overrides the cloud's region_name (a provider's region). */
  readonly region?: string | undefined;
}

const SELECTORS = new Set(['OS_CLOUD', 'OS_REGION_NAME', 'OS_CLIENT_CONFIG_FILE', 'OS_CLIENT_SECURE_FILE', 'OS_CLOUD_NAME']);
const ALIASES: Readonly<Record<string, string>> = { tenant_name: 'project_name', tenant_id: 'project_id', auth_plugin: 'auth_type' };

/** openstacksdk's OS_* cloud: OS_AUTH_URL becomes auth_url, and so on; none when only selectors are set. */
export function environmentCloud(env: Env): Mapping | undefined {
  const keys = Object.keys(env).filter(
    (k) => k.startsWith('OS_') && !k.startsWith('OS_TEST') && !k.startsWith('OS_STD') && !k.startsWith('OS_LOG') && env[k] !== undefined,
  );
  if (!keys.some((k) => !SELECTORS.has(k))) return undefined;
  return Object.fromEntries(keys.map((k) => [k.slice(3).toLowerCase(), env[k]]));
}

function normalized(entry: Mapping): Mapping {
  const out: Mapping = {};
  for (const [key, value] of Object.entries(entry)) {
    const name = key.replace(/-/g, '_');
    out[ALIASES[name] ?? name] = value;
  }
  return out;
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

function truthy(value: unknown): boolean {
  return value === true || (typeof value === 'string' && ['true', 'yes', '1', 'on'].includes(value.toLowerCase()));
}

/** Reads settings of one cloud entry: auth.<key> wins over <key>, as in openstacksdk's auth validation. */
class Settings {
  private readonly top: Mapping;
  private readonly auth: Mapping;

  constructor(
    entry: Mapping,
    private readonly where: string,
  ) {
    this.top = normalized(entry);
    this.auth = isMapping(this.top.auth) ? normalized(this.top.auth) : {};
  }

  error(message: string): CloudConfigError {
    return new CloudConfigError(`${this.where}: ${message}`);
  }

  get(key: string, from: 'auth' | 'top' | 'both' = 'both'): string | undefined {
    const value = (from === 'top' ? undefined : this.auth[key]) ?? (from === 'auth' ? undefined : this.top[key]);
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw this.error(`${key} must be a string, not ${JSON.stringify(value)}`);
  }

  raw(key: string): unknown {
    return this.top[key];
  }

  domain(prefix: 'user' | 'project'): DomainRef | undefined {
    const id = this.get(`${prefix}_domain_id`) ?? this.get('domain_id');
    const name = this.get(`${prefix}_domain_name`) ?? this.get('domain_name');
    return id ? { id } : name ? { name } : undefined;
  }

  ref(prefix: 'user' | 'project', nameKey: string): NamedRef | undefined {
    const id = this.get(`${prefix}_id`);
    if (id) return { id };
    const name = this.get(nameKey);
    if (!name) return undefined;
    const domain = this.domain(prefix);
    if (!domain) throw this.error(`${nameKey} "${name}" needs ${prefix}_domain_name or ${prefix}_domain_id (or domain_name / domain_id)`);
    return { name, domain };
  }

  secret(key: string, what: string): Secret {
    const value = this.get(key);
    if (!value) throw this.error(`no ${what} (auth.${key}; secure.yaml is a good place for it)`);
    return new Secret(value);
  }
}

function readScope(s: Settings): Scope {
  const project = s.ref('project', 'project_name');
  if (project) return { kind: 'project', project };
  const domainId = s.get('domain_id');
  const domainName = s.get('domain_name');
  if (domainId || domainName) return { kind: 'domain', domain: domainId ? { id: domainId } : { name: domainName! } };
  if (s.get('system_scope')) return { kind: 'system' };
  throw s.error('no project_name or project_id to scope the token to (an unscoped token has no service catalog)');
}

function readAuth(s: Settings): CloudAuth {
  const declared = s.get('auth_type', 'top');
  const type = declared ?? (s.get('application_credential_secret') ? 'v3applicationcredential' : 'password');
  if (['none', 'None', 'noauth'].includes(type)) {
    return { type: 'none', endpoint: s.get('endpoint') };
  }
  const authUrl = s.get('auth_url');
  if (type === 'password' || type === 'v3password') {
    if (!authUrl) throw s.error('no auth.auth_url');
    const user = s.ref('user', 'username');
    if (!user) throw s.error('no auth.username or auth.user_id');
    return { type: 'password', authUrl, user, password: s.secret('password', 'password'), scope: readScope(s) };
  }
  if (type === 'v3applicationcredential' || type === 'applicationcredential') {
    if (!authUrl) throw s.error('no auth.auth_url');
    const secret = s.secret('application_credential_secret', 'application credential secret');
    const id = s.get('application_credential_id');
    if (id) return { type: 'v3applicationcredential', authUrl, credential: { id }, secret };
    const name = s.get('application_credential_name');
    const user = s.ref('user', 'username');
    if (!name || !user) throw s.error('an application credential needs application_credential_id, or its name with the user');
    return { type: 'v3applicationcredential', authUrl, credential: { name, user }, secret };
  }
  throw s.error(`auth_type "${type}" is not supported here (password, v3applicationcredential or none)`);
}

interface RegionEntry {
  readonly name: string;
  /** Settings of this region over the cloud's own: openstacksdk's `regions: [{name, values}]`. */
  readonly values: Mapping;
}

/** openstacksdk's _expand_regions: a name, or a mapping of name and values (and nothing else). */
function regionEntries(s: Settings): RegionEntry[] {
  // regions: a list of names or {name, values}; region_name: one name, a list, or (deprecated) "a,b".
  const listed = s.raw('regions') ?? s.raw('region_name');
  if (!Array.isArray(listed)) return (s.get('region_name', 'top')?.split(',') ?? []).map((name) => ({ name, values: {} }));
  return listed.map((region) => {
    if (!isMapping(region)) return { name: String(region), values: {} };
    const extra = Object.keys(region).filter((key) => key !== 'name' && key !== 'values');
    if (typeof region.name !== 'string' || extra.length > 0 || (region.values !== undefined && !isMapping(region.values))) {
      throw s.error(`a region entry must be a name, or a mapping of "name" and "values" (got keys: ${Object.keys(region).join(', ')})`);
    }
    return { name: region.name, values: isMapping(region.values) ? region.values : {} };
  });
}

function pickRegion(s: Settings, requested: string | undefined): { name: string | undefined; values: Mapping } {
  const entries = regionEntries(s);
  const names = entries.map((r) => r.name);
  if (requested && entries.length > 0 && !names.includes(requested)) {
    throw s.error(`region "${requested}" is not one of its regions (${names.join(', ')})`);
  }
  const name = requested ?? s.get('image_region_name', 'top') ?? names[0];
  return { name, values: entries.find((r) => r.name === name)?.values ?? {} };
}

/** openstacksdk's get_one: a region's values replace the cloud's keys, except auth, which they update key by key. */
function withRegionValues(entry: Mapping, values: Mapping): Mapping {
  const merged: Mapping = { ...entry };
  for (const [key, value] of Object.entries(values)) {
    merged[key] = key === 'auth' && isMapping(merged.auth) && isMapping(value) ? { ...merged.auth, ...value } : value;
  }
  return merged;
}

function readTls(s: Settings): TlsSettings {
  const verifyValue = s.raw('verify');
  const insecure = truthy(s.raw('insecure'));
  // verify may also be a CA bundle path, as requests allows.
  const verifyPath = typeof verifyValue === 'string' && !['true', 'false', 'yes', 'no'].includes(verifyValue.toLowerCase()) ? verifyValue : undefined;
  const verify = !insecure && (verifyValue === undefined || verifyPath !== undefined || truthy(verifyValue));
  const cacert = s.get('cacert', 'top') ?? verifyPath;
  const cert = s.get('cert', 'top');
  const key = s.get('key', 'top');
  return {
    verify,
    ...(verify && cacert ? { caFile: expandHome(cacert) } : {}),
    ...(cert ? { certFile: expandHome(cert) } : {}),
    ...(cert && key ? { keyFile: expandHome(key) } : {}),
  };
}

/** Picks a cloud out of the loaded files and OS_* and turns it into a typed CloudConfig. */
export function resolveCloud(files: CloudFiles, env: Env, request: CloudRequest = {}): CloudConfig {
  const clouds: Mapping = { ...files.clouds };
  const fromEnv = environmentCloud(env);
  const envName = env.OS_CLOUD_NAME ?? 'envvars';
  if (fromEnv) {
    if (envName in clouds) throw new CloudConfigError(`${files.files[0]} defines a cloud named ${envName}, and so do the OS_* variables`);
    clouds[envName] = fromEnv;
  }
  const names = Object.keys(clouds);
  const name = request.cloud ?? env.OS_CLOUD ?? (fromEnv ? envName : names.length === 1 ? names[0] : undefined);
  const source = files.files.length ? files.files.join(' + ') : 'no clouds.yaml found';
  if (name === undefined) throw new CloudConfigError(`no cloud named and no OS_CLOUD set (${source}; clouds: ${names.join(', ') || 'none'})`);
  const entry = clouds[name];
  if (!isMapping(entry)) {
    throw new CloudConfigError(`no cloud "${name}" in ${source}${names.length ? ` (clouds: ${names.join(', ')})` : ''}`);
  }
  const isEnvironmentCloud = name === envName && fromEnv !== undefined;
  const where = `cloud "${name}" (${isEnvironmentCloud ? 'OS_* variables' : source})`;
  // In the OS_* cloud, "cloud" is OS_CLOUD, a selector, not the old name of profile.
  const profile = entry.profile ?? (isEnvironmentCloud ? undefined : entry.cloud);
  if (profile !== undefined && profile !== null && profile !== '' && profile !== envName) {
    // Vendor profiles fill in auth_url, regions and interfaces from openstacksdk's own data.
    throw new CloudConfigError(`${where}: ${'profile' in entry ? 'profile' : 'cloud (the old name of profile)'} "${String(profile)}": profile is not supported here; write the cloud's auth_url, region_name and interface into the entry`);
  }
  const region = pickRegion(new Settings(entry, where), request.region);
  const s = new Settings(withRegionValues(entry, region.values), where);
  const apiVersion = s.get('identity_api_version', 'top');
  if (apiVersion && !apiVersion.startsWith('3')) throw s.error(`identity_api_version ${apiVersion}: only Keystone v3 is supported`);
  const iface = s.get('image_interface', 'top') ?? s.get('interface', 'top') ?? s.get('endpoint_type', 'top') ?? 'public';
  return {
    name,
    auth: readAuth(s),
    region: region.name,
    interface: iface.replace(/URL$/, ''),
    imageEndpointOverride: s.get('image_endpoint_override', 'top'),
    tls: readTls(s),
    source: where,
  };
}
